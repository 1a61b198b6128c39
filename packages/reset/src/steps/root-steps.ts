import { lstat, open, rm } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory, writeFileAtomic } from "@lifeboat/core";
import { okAsync } from "neverthrow";
import { z } from "zod";
import { isReadOnlySubvolume, subvolumeExists } from "../_internal/btrfs.js";
import { io, mkdirsDurable } from "../_internal/fs.js";
import { ROOT_SUBVOLUME } from "../layout.js";
import { ensure } from "./context.js";
import { adds, defineStep, relativePath, stampSchema } from "./define.js";

/** Empty /etc/machine-id: systemd then treats the next boot as the first boot. */
async function clearMachineId(rootDir: string): Promise<void> {
  const file = path.join(rootDir, "etc/machine-id");
  await mkdirsDurable(path.dirname(file));
  const st = await lstat(file).catch(() => undefined);
  if (st?.isFile() && st.size === 0) return;
  if (st !== undefined && !st.isFile()) await rm(file, { force: true });
  const handle = await open(file, "w", 0o444);
  try {
    await handle.truncate(0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // Only a new name needs its directory fsynced; emptying a file is the file's own metadata.
  if (st === undefined || !st.isFile()) await fsyncDirectory(path.dirname(file));
}

/**
 * `reset.prepare-root`: in the NEW root only, empty /etc/machine-id (first
 * boot setup runs again) and write the reset marker. Everything it writes
 * (file, new directories, their parents) is fsynced before it returns, so
 * the new root is complete on disk before it is swapped in; no filesystem
 * commit is needed (see docs/architecture.md, "Durability without
 * `btrfs filesystem sync`"). Writing the same content again is harmless, so
 * a re-run just repeats it.
 */
export const prepareRootStep = defineStep({
  kind: "reset.prepare-root",
  schema: z.strictObject({
    subvolume: relativePath.refine((p) => p !== ROOT_SUBVOLUME, {
      message: "the live root is never prepared",
    }),
    stamp: stampSchema,
    /** The request kind, recorded in the marker. */
    kind: z.string().min(1),
    marker: relativePath,
    /** `false` keeps /etc/machine-id (a rollback to a checkpoint); default true. */
    firstBoot: z.literal(false).optional(),
  }),
  describe: (p) =>
    adds(
      p.firstBoot === false
        ? `Prepare ${p.subvolume} (reset marker; /etc/machine-id kept)`
        : `Prepare ${p.subvolume} for first boot (empty /etc/machine-id, reset marker)`,
      [`subvolume ${p.subvolume} exists`],
    ),
  run: (p, step, ctx, env) => {
    const sub = p.subvolume;
    const rootDir = path.join(env.top, sub);
    const marker = path.join(rootDir, p.marker);
    return ensure(sub !== ROOT_SUBVOLUME, step, "refusing to modify the live root")
      .andThen(() => subvolumeExists(env.top, sub))
      .andThen((found) =>
        (found ? io(isReadOnlySubvolume(rootDir), rootDir, "check") : okAsync(true)).andThen(
          (readOnly) => ensure(found && !readOnly, step, `${sub} is missing or read-only`),
        ),
      )
      .andThen(() =>
        // A rollback to a checkpoint keeps the machine's identity; only a factory reset clears it.
        p.firstBoot === false
          ? okAsync(undefined)
          : io(clearMachineId(rootDir), rootDir, "clear machine-id"),
      )
      .andThen(() => io(mkdirsDurable(path.dirname(marker)), marker, "mkdir"))
      .andThen(() =>
        writeFileAtomic(
          marker,
          `${JSON.stringify({ stamp: p.stamp, kind: p.kind, plan: ctx.plan.digest }, null, 2)}\n`,
        ),
      );
  },
});
