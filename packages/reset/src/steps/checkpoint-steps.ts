import { rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { z } from "zod";
import { deleteSubvolume, subvolumeAt } from "../_internal/btrfs.js";
import { exists, io } from "../_internal/fs.js";
import { checkpointDir } from "../checkpoint/layout.js";
import type { ResetError } from "../errors.js";
import { ROOT_SUBVOLUME } from "../layout.js";
import { ensure, unexpected } from "./context.js";
import { bytesSchema, defineStep, relativePath, subvolumeUuidSchema } from "./define.js";

/**
 * `reset.drop-checkpoint`: delete a checkpoint. The manifest goes first (a
 * checkpoint cut in half is never listed), then its subvolumes and its
 * directory. Done when the directory is gone. Refused when its root is not
 * the planned one, or the running root came from it after all.
 */
export const dropCheckpointStep = defineStep({
  kind: "reset.drop-checkpoint",
  schema: z
    .strictObject({
      id: z.string().min(1),
      dir: relativePath,
      root: relativePath,
      rootUuid: subvolumeUuidSchema,
      boot: relativePath,
      createdAt: z.string(),
      reason: z.string(),
      bytes: bytesSchema.optional(),
    })
    .refine(
      (p) =>
        p.dir === checkpointDir(p.id) &&
        p.root.startsWith(`${p.dir}/`) &&
        p.boot.startsWith(`${p.dir}/`),
      { message: "dir, root and boot must be the checkpoint's own" },
    ),
  describe: (p) => ({
    title: `Delete checkpoint ${p.id} (${p.createdAt})`,
    destroys: [
      {
        kind: "snapshot",
        what: `checkpoint ${p.id} (${p.reason || "no reason given"}, ${p.createdAt})`,
        ...(p.bytes === undefined ? {} : { bytes: p.bytes }),
        detail: "its root snapshot and /boot payload are deleted for good",
      },
    ],
    reversible: false,
    preconditions: [],
  }),
  run: (p, step, _ctx, env) => {
    const { runner, top } = env;
    const { dir, root, rootUuid } = p;
    const abs = path.join(top, dir);
    if (!dir.startsWith(".lifeboat/checkpoints/") || !root.startsWith(`${dir}/`))
      return errAsync(unexpected(step, `refusing to delete ${dir}: not a checkpoint directory`));
    return io(exists(abs), abs, "stat").andThen((present): ResultAsync<void, ResetError> => {
      if (!present) return okAsync(undefined);
      return subvolumeAt(runner, top, root)
        .andThen((snap) =>
          ensure(
            snap === undefined || snap.uuid === rootUuid,
            step,
            `${root} is not the planned checkpoint`,
          ),
        )
        .andThen(() => subvolumeAt(runner, top, ROOT_SUBVOLUME))
        .andThen((live) =>
          ensure(
            live?.parentUuid !== rootUuid,
            step,
            "the running root was rolled back to this checkpoint",
          ),
        )
        .andThen(() =>
          io(
            (async () => {
              await rm(path.join(abs, "manifest.json"), { force: true });
              await fsyncDirectory(abs);
            })(),
            abs,
            "remove the checkpoint manifest",
          ),
        )
        .andThen(() => deleteSubvolume(runner, top, root))
        .andThen(() => deleteSubvolume(runner, top, p.boot))
        .andThen(() => deleteSubvolume(runner, top, `${p.boot}.partial`))
        .andThen(() =>
          io(
            (async () => {
              await rmdir(abs);
              await fsyncDirectory(path.dirname(abs));
            })(),
            abs,
            "remove the checkpoint directory",
          ),
        );
    });
  },
});
