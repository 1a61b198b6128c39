import { stat } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { z } from "zod";
import { createSubvolume, subvolumeAt } from "../_internal/btrfs.js";
import { copyFileVerified, exists, io, mkdirsDurable, sha256File } from "../_internal/fs.js";
import { listBootPayload } from "../boot-payload.js";
import type { ResetError } from "../errors.js";
import { KEPT_BOOT_MANIFEST, keptBootName } from "../layout.js";
import type { BootFile } from "../state.js";
import { unexpected } from "./context.js";
import { adds, defineStep, stampSchema } from "./define.js";

/** What `manifest.json` in a kept /boot payload holds. */
export const keptBootManifestSchema = z.object({
  stamp: stampSchema,
  files: z.array(
    z.object({
      path: z.string().min(1),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

/** Copy the /boot payload into `dir` (verified while copying); the files with their digests. */
async function copyPayload(boot: string, dir: string): Promise<BootFile[]> {
  const files: BootFile[] = [];
  for (const rel of await listBootPayload(boot)) {
    const src = path.join(boot, rel);
    const sha256 = await sha256File(src);
    await copyFileVerified(src, path.join(dir, rel), sha256);
    const { size } = await stat(path.join(dir, rel));
    files.push({ path: rel, bytes: size, sha256 });
  }
  return files;
}

/**
 * `reset.keep-boot`: copy the /boot payload the current root boots with
 * (kernels, initramfs, BLS entries) into the subvolume
 * `.lifeboat/boot.old-<stamp>` beside the root that is kept as
 * `root.old-<stamp>`, and write its `manifest.json` last. Runs before /boot
 * is changed; done when the manifest is there, so a re-run after a crash
 * copies again into the same subvolume and only then writes the manifest.
 * Only adds.
 */
export const keepBootStep = defineStep({
  kind: "reset.keep-boot",
  schema: z.strictObject({ stamp: stampSchema }),
  makes: (p) => ({ subvolumes: [keptBootName(p.stamp)], bootDirs: [] }),
  describe: (p) =>
    adds(`Keep a copy of the current /boot payload as ${keptBootName(p.stamp)}`, [
      "/boot is mounted",
    ]),
  run: (p, step, _ctx, env): ResultAsync<void, ResetError> => {
    const boot = env.boot;
    if (boot === undefined) return errAsync(unexpected(step, "/boot is not mounted (pass `boot`)"));
    const rel = keptBootName(p.stamp);
    const dir = path.join(env.top, rel);
    const manifest = path.join(dir, KEPT_BOOT_MANIFEST);
    return io(exists(manifest), manifest, "check").andThen((done) => {
      if (done) return okAsync(undefined);
      return subvolumeAt(env.runner, env.top, rel)
        .andThen((found) =>
          found !== undefined
            ? okAsync(undefined)
            : io(mkdirsDurable(path.dirname(dir)), dir, "mkdir").andThen(() =>
                createSubvolume(env.runner, env.top, rel),
              ),
        )
        .andThen(() => io(copyPayload(boot, dir), dir, "keep the /boot payload"))
        .andThen((files) =>
          writeFileAtomic(manifest, `${JSON.stringify({ stamp: p.stamp, files }, null, 2)}\n`),
        );
    });
  },
});
