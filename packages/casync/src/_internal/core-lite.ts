// The four helpers of @lifeboat/core this package uses, without importing core
// at run time: loading core's index (zod schemas, execa) costs a process about
// 24 MiB of RSS, a sixth of makeIndex's whole budget (issue #19). Only types
// come from core; test/core-lite.test.ts pins these against core's own.
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { AbortedError, IoFailedError } from "@lifeboat/core";

/** As core's `ioError`. */
export function ioError(cause: unknown, path: string, operation: string): IoFailedError {
  const errno =
    typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return {
    code: "IO_FAILED",
    message: `Could not ${operation} ${path}: ${detail}`,
    cause,
    path,
    operation,
    errno,
  };
}

/** As core's `abortedError`. */
export function abortedError(during: string, cause?: unknown): AbortedError {
  return {
    code: "ABORTED",
    message: `Cancelled while ${during}.`,
    during,
    ...(cause === undefined ? {} : { cause }),
  };
}

/** As core's `fsyncDirectory`: flush a directory so a rename inside it survives power loss. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * As core's `writeFileAtomic` (temporary file, fsync, rename, fsync of the
 * directory), throwing the node error for the caller's own mapping.
 */
export async function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, "w", 0o644);
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
}
