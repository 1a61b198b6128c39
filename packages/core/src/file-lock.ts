import { errAsync, okAsync, ResultAsync } from "neverthrow";
import type { CommandError, LockHeldError } from "./errors.js";
import type { CommandRunner } from "./runner.js";

/** A `flock(2)` held on a file or block device, by a helper process tied to this one. */
export interface HeldFileLock {
  /** The locked file or device. */
  readonly path: string;
  /** Release the lock. Safe to call twice. */
  release(): Promise<void>;
}

/** Exit code the `flock` program is told to use when the lock is taken already. */
const HELD_EXIT = 75;
const READY = "lifeboat-lock-held\n";

/**
 * Take an exclusive `flock(2)` on a file or block device (a disk image, or
 * `/dev/nvme0n1`), without waiting: a lock someone holds gives `LOCK_HELD`.
 *
 * The lock is held by a small helper process (`flock -x -n FILE cat`) whose
 * standard input is a pipe from this process: when this process ends for any
 * reason (SIGKILL and power loss included) the pipe closes, the helper exits
 * and the kernel drops the lock. So a lock is never left behind, and no
 * stale-lock guessing is needed. Locks on a device node are seen by every
 * process that opens the same device, whatever its mount namespace.
 *
 * @example
 * ```ts
 * const lock = await lockFile(runner, "/var/tmp/laptop.img");
 * if (lock.isErr()) console.error(lock.error.message); // LOCK_HELD: another process has this disk
 * else try { ... } finally { await lock.value.release(); }
 * ```
 */
export function lockFile(
  runner: CommandRunner,
  file: string,
): ResultAsync<HeldFileLock, LockHeldError | CommandError> {
  const child = runner.spawn("flock", ["-x", "-n", "-E", String(HELD_EXIT), file, "cat"], {
    stdin: "pipe",
    okExitCodes: [HELD_EXIT],
  });
  const stdin = child.stdin;
  let seen = "";
  const ready = new Promise<boolean>((resolve) => {
    child.stdout.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.includes(READY)) resolve(true);
    });
    child.stdout.on("end", () => resolve(false));
  });
  stdin?.write(READY);
  // Settled here only when the helper exits before saying it holds the lock.
  const exited = child.done.map((r) => r.exitCode);
  return ResultAsync.fromSafePromise(ready).andThen((held) => {
    if (held) {
      let released = false;
      return okAsync<HeldFileLock, LockHeldError | CommandError>({
        path: file,
        release: async () => {
          if (released) return;
          released = true;
          stdin?.end();
          await exited;
        },
      });
    }
    // Exit 75 is "held"; any other failure (no such file, no `flock`) is the command's own error.
    return exited.andThen(() =>
      errAsync<HeldFileLock, LockHeldError | CommandError>(heldError(file)),
    );
  });
}

function heldError(file: string): LockHeldError {
  return {
    code: "LOCK_HELD",
    message: `Another Lifeboat process is working on ${file}; wait for it to finish (only one may act on a disk at a time).`,
    lockPath: file,
    holderPid: undefined,
  };
}
