import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory, type IoFailedError, ioError } from "@lifeboat/core";
import { ResultAsync } from "neverthrow";

/** A new file written and synced beside its target (a dotfile, so grub-mkconfig's `*` skips it), not yet renamed over it. */
export interface StagedFile {
  readonly temp: string;
  /** Rename over the target and sync the directory. */
  commit(): ResultAsync<void, IoFailedError>;
  /** Remove the temporary file (the target is untouched). */
  discard(): Promise<void>;
}

export function stageFile(
  target: string,
  data: string,
  mode: number,
): ResultAsync<StagedFile, IoFailedError> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.new`);
  return ResultAsync.fromPromise(
    (async () => {
      const handle = await open(temp, "w", mode);
      try {
        await handle.writeFile(data);
        await handle.chmod(mode);
        await handle.sync();
      } finally {
        await handle.close();
      }
    })(),
    (e) => ioError(e, temp, "write"),
  ).map(() => ({
    temp,
    commit: () =>
      ResultAsync.fromPromise(
        (async () => {
          await rename(temp, target);
          await fsyncDirectory(dir);
        })(),
        (e) => ioError(e, target, "rename into place"),
      ),
    discard: () => rm(temp, { force: true }),
  }));
}
