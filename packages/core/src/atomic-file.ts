import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { ResultAsync } from "neverthrow";
import { type IoFailedError, ioError } from "./errors.js";

/** Flush a directory so a rename inside it survives power loss. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replace a file atomically and durably: write a temporary file beside it,
 * fsync it, rename it over the target, fsync the directory. After a crash the
 * file holds either the old or the new content, never a mix.
 *
 * @example
 * ```ts
 * await writeFileAtomic("/var/lib/lifeboat/journal.json", JSON.stringify(journal));
 * ```
 */
export function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: { readonly mode?: number } = {},
): ResultAsync<void, IoFailedError> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  return ResultAsync.fromPromise(
    (async () => {
      const handle = await open(temp, "w", options.mode ?? 0o644);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(temp, target);
      } catch (e) {
        await rm(temp, { force: true });
        throw e;
      }
      await fsyncDirectory(dir);
    })(),
    (e) => ioError(e, target, "write"),
  );
}
