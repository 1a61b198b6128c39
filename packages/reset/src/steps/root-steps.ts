import { lstat, open, rm } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory, writeFileAtomic } from "@lifeboat/core";
import { okAsync } from "neverthrow";
import { isReadOnlySubvolume, subvolumeExists } from "../_internal/btrfs.js";
import { io, mkdirsDurable } from "../_internal/fs.js";
import { ROOT_SUBVOLUME } from "../layout.js";
import { ensure, type ResetStepBody, str } from "./context.js";

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
export const prepareRootStep: ResetStepBody = (step, ctx, env) => {
  const sub = str(step, "subvolume");
  const rootDir = path.join(env.top, sub);
  const marker = path.join(rootDir, str(step, "marker"));
  return ensure(sub !== ROOT_SUBVOLUME && sub !== "", step, "refusing to modify the live root")
    .andThen(() => subvolumeExists(env.top, sub))
    .andThen((found) =>
      (found ? io(isReadOnlySubvolume(rootDir), rootDir, "check") : okAsync(true)).andThen(
        (readOnly) => ensure(found && !readOnly, step, `${sub} is missing or read-only`),
      ),
    )
    .andThen(() =>
      // A rollback to a checkpoint keeps the machine's identity; only a factory reset clears it.
      step.params.firstBoot === false
        ? okAsync(undefined)
        : io(clearMachineId(rootDir), rootDir, "clear machine-id"),
    )
    .andThen(() => io(mkdirsDurable(path.dirname(marker)), marker, "mkdir"))
    .andThen(() =>
      writeFileAtomic(
        marker,
        `${JSON.stringify({ stamp: str(step, "stamp"), kind: str(step, "kind"), plan: ctx.plan.digest }, null, 2)}\n`,
      ),
    );
};
