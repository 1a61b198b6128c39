import path from "node:path";
import type { PlanStep } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { z } from "zod";
import {
  createSubvolume,
  deleteSubvolume,
  renameDurable,
  subvolumeAt,
  syncFilesystem,
} from "../_internal/btrfs.js";
import type { ResetError } from "../errors.js";
import { SNAPSHOT_HEADROOM_BYTES } from "../layout.js";
import { formatBytes } from "../planner/words.js";
import { type RecoveryImageAccess, type ResetEnvironment, unexpected } from "./context.js";
import { adds, bytesSchema, defineStep, relativePath } from "./define.js";

/** A recovery image set by identity: `sha256:` and the hex SHA-256 of its signed manifest. */
export const imageSetDigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** Free space an unpack of `rootBytes` needs on the Btrfs (10% slack plus metadata headroom). */
export function unpackNeededBytes(rootBytes: number): number {
  return Math.ceil(rootBytes * 1.1) + SNAPSHOT_HEADROOM_BYTES;
}

function access(
  step: PlanStep,
  env: ResetEnvironment,
): ResultAsync<RecoveryImageAccess, ResetError> {
  return env.recovery
    ? okAsync(env.recovery)
    : errAsync(unexpected(step, "no access to the recovery image set was given (pass `recovery`)"));
}

/** `reset.verify-image`: verify the image set again just before it is used. */
export const verifyImageStep = defineStep({
  kind: "reset.verify-image",
  schema: z.strictObject({ imageSet: imageSetDigestSchema }),
  describe: () =>
    adds("Verify the recovery image set again (signature and digests) just before using it"),
  run: (p, step, ctx, env) =>
    access(step, env).andThen((r) =>
      r.verify(p.imageSet, ctx.signal, (done, total) => ctx.reportBytes(done, total)),
    ),
});

/**
 * `reset.unpack`: unpack the root into `partial` and the /boot payload into
 * `bootDir`, commit, then rename `partial` to `target` (the commit point). A
 * re-run finding `target` is done; finding `partial` deletes it and starts over.
 */
export const unpackStep = defineStep({
  kind: "reset.unpack",
  schema: z.strictObject({
    imageSet: imageSetDigestSchema,
    partial: relativePath,
    target: relativePath,
    bootDir: relativePath,
    /** Bytes the unpacked root needs (from the signed factory manifest). */
    rootBytes: bytesSchema,
  }),
  makes: (p) => ({ subvolumes: [p.partial, p.target, p.bootDir], bootDirs: [] }),
  describe: (p) =>
    adds(
      `Unpack the factory system (${formatBytes(p.rootBytes)}) from the recovery image into ${p.target}`,
      [`${formatBytes(unpackNeededBytes(p.rootBytes))} free on the Btrfs filesystem`],
    ),
  run: (p, step, ctx, env) => {
    const { partial, target, bootDir } = p;
    const { runner, top } = env;
    return access(step, env).andThen((r) =>
      subvolumeAt(runner, top, target).andThen((done) => {
        if (done !== undefined) return okAsync(undefined);
        return deleteSubvolume(runner, top, partial)
          .andThen(() => deleteSubvolume(runner, top, bootDir))
          .andThen(() => createSubvolume(runner, top, partial))
          .andThen(() => createSubvolume(runner, top, bootDir))
          .andThen(() =>
            r.unpack(
              p.imageSet,
              { rootDir: path.join(top, partial), bootDir: path.join(top, bootDir) },
              (done, total) => ctx.reportBytes(done, total),
              ctx.signal,
            ),
          )
          .andThen(() => syncFilesystem(runner, top))
          .andThen(() => renameDurable(runner, top, partial, target));
      }),
    );
  },
});
