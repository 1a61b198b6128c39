import { link, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { bootId, isProcessAlive, processStat } from "./_internal/proc.js";
import { type IoFailedError, ioError, type LockHeldError } from "./errors.js";

/** What a lock file holds: who holds it, since when, in which boot. */
export interface LockInfo {
  readonly pid: number;
  /** `/proc/sys/kernel/random/boot_id` when the lock was taken. */
  readonly bootId: string;
  /** The holder's start time in clock ticks since boot (guards against pid reuse). */
  readonly processStartTicks: number | undefined;
  /** ISO time the lock was taken. */
  readonly createdAt: string;
}

/** A held lock; release it when done (the executor does this for you). */
export interface ExecutorLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Remove the lock file. Safe to call twice. */
  release(): ResultAsync<void, IoFailedError>;
}

function lockHeld(lockPath: string, holder: LockInfo | undefined): LockHeldError {
  return {
    code: "LOCK_HELD",
    message:
      holder === undefined
        ? `Another Lifeboat executor holds ${lockPath}.`
        : `Another Lifeboat executor (pid ${holder.pid}, since ${holder.createdAt}) is working on this target; wait for it to finish.`,
    lockPath,
    holderPid: holder?.pid,
  };
}

async function readInfo(file: string): Promise<LockInfo | undefined> {
  try {
    const value = JSON.parse(await readFile(file, "utf8")) as Partial<LockInfo>;
    if (typeof value.pid !== "number" || typeof value.bootId !== "string") return undefined;
    return {
      pid: value.pid,
      bootId: value.bootId,
      processStartTicks:
        typeof value.processStartTicks === "number" ? value.processStartTicks : undefined,
      createdAt: typeof value.createdAt === "string" ? value.createdAt : "unknown",
    };
  } catch {
    return undefined;
  }
}

/**
 * True when the lock's holder is gone: another boot, or a dead (or reused) pid.
 * An unreadable lock file counts as stale: ours are created with their content
 * already in them, so a partial one can only come from a foreign tool.
 *
 * @example
 * ```ts
 * await isLockStale({ pid: 999999, bootId: "x", processStartTicks: undefined, createdAt: "" }); // true
 * ```
 */
export async function isLockStale(info: LockInfo | undefined): Promise<boolean> {
  if (info === undefined) return true;
  if (info.bootId !== (await bootId())) return true;
  return !(await isProcessAlive(info.pid, info.processStartTicks));
}

type Attempt = { kind: "taken" } | { kind: "held"; holder: LockInfo | undefined };

async function tryTake(lockPath: string, content: string): Promise<Attempt> {
  // Write the content under a private name, then link(2) it into place: like
  // O_EXCL it fails with EEXIST when the lock exists, and the lock never
  // appears empty to a reader.
  const temp = path.join(
    path.dirname(lockPath),
    `.${path.basename(lockPath)}.${process.pid}.${Date.now()}.new`,
  );
  await writeFile(temp, content, { flag: "wx", mode: 0o644 });
  try {
    await link(temp, lockPath);
    return { kind: "taken" };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return { kind: "held", holder: await readInfo(lockPath) };
  } finally {
    await rm(temp, { force: true });
  }
}

/** Move a stale lock aside, but only if it is still the one judged stale. */
async function breakStale(lockPath: string, judged: LockInfo | undefined): Promise<void> {
  const aside = `${lockPath}.stale.${process.pid}.${Date.now()}`;
  try {
    await rename(lockPath, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  const moved = await readInfo(aside);
  if (JSON.stringify(moved) !== JSON.stringify(judged)) {
    // A racing executor replaced it in between: put its fresh lock back.
    await link(aside, lockPath).catch(() => undefined);
  }
  await rm(aside, { force: true });
}

/**
 * Take the advisory lock at `lockPath` so that two executors never work on
 * one target. The file holds the pid, boot id and start time of the holder;
 * a lock whose holder died (or that was taken in an earlier boot) is taken
 * over. A live holder gives `LOCK_HELD`.
 *
 * @example
 * ```ts
 * const lock = await acquireLock("/var/lib/lifeboat/reset.journal.lock");
 * if (lock.isOk()) { try { ... } finally { await lock.value.release(); } }
 * ```
 */
export function acquireLock(
  lockPath: string,
): ResultAsync<ExecutorLock, LockHeldError | IoFailedError> {
  return ResultAsync.fromPromise(
    (async () => {
      const info: LockInfo = {
        pid: process.pid,
        bootId: await bootId(),
        processStartTicks: (await processStat(process.pid))?.startTicks,
        createdAt: new Date().toISOString(),
      };
      const content = `${JSON.stringify(info)}\n`;
      await mkdir(path.dirname(lockPath), { recursive: true });
      for (let attempt = 0; attempt < 3; attempt++) {
        const result = await tryTake(lockPath, content);
        if (result.kind === "taken") return { ok: true as const, info };
        if (!(await isLockStale(result.holder)))
          return { ok: false as const, holder: result.holder };
        await breakStale(lockPath, result.holder);
      }
      return { ok: false as const, holder: await readInfo(lockPath) };
    })(),
    (e) => ioError(e, lockPath, "take the lock"),
  ).andThen((r) => {
    if (!r.ok) return errAsync(lockHeld(lockPath, r.holder));
    let released = false;
    const lock: ExecutorLock = {
      path: lockPath,
      info: r.info,
      release: () => {
        if (released) return okAsync(undefined);
        released = true;
        return ResultAsync.fromPromise(
          (async () => {
            // Remove it only while it is still ours.
            const now = await readInfo(lockPath);
            if (now?.pid === r.info.pid && now.createdAt === r.info.createdAt)
              await rm(lockPath, { force: true });
          })(),
          (e) => ioError(e, lockPath, "release the lock"),
        );
      },
    };
    return okAsync(lock);
  });
}
