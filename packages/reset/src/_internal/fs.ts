import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory, type IoFailedError, ioError } from "@lifeboat/core";
import { ResultAsync } from "neverthrow";

/** Wrap a promise as a ResultAsync with an IO_FAILED error. */
export function io<T>(
  p: Promise<T>,
  file: string,
  operation: string,
): ResultAsync<T, IoFailedError> {
  return ResultAsync.fromPromise(p, (e) => ioError(e, file, operation));
}

/** lstat, or undefined when the path does not exist. */
export async function statMaybe(p: string) {
  try {
    return await lstat(p);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
}

/** True when the path exists (without following a final symlink). */
export async function exists(p: string): Promise<boolean> {
  return (await statMaybe(p)) !== undefined;
}

/** SHA-256 of a file, hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Read and parse JSON, or undefined when the file does not exist. */
export async function readJsonMaybe(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Copy a file to `dest` through a temporary name, checking its SHA-256 on the
 * way; fsync the data and the directory. Returns the digest.
 */
export async function copyFileVerified(
  src: string,
  dest: string,
  expectedSha256: string | undefined,
): Promise<string> {
  await mkdir(path.dirname(dest), { recursive: true });
  const temp = `${dest}.lifeboat-tmp`;
  const hash = createHash("sha256");
  const out = await open(temp, "w", 0o644);
  try {
    for await (const chunk of createReadStream(src)) {
      hash.update(chunk as Buffer);
      await out.write(chunk as Buffer);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  const digest = hash.digest("hex");
  if (expectedSha256 !== undefined && digest !== expectedSha256) {
    await rm(temp, { force: true });
    throw Object.assign(new Error(`${src}: SHA-256 ${digest}, expected ${expectedSha256}`), {
      code: "ESHA256",
    });
  }
  await rename(temp, dest);
  await fsyncDirectory(path.dirname(dest));
  return digest;
}

/** Make a directory (and parents) and fsync its parent. */
export async function mkdirDurable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await fsyncDirectory(path.dirname(dir));
}

/**
 * Make a directory and its missing parents, fsyncing the parent of every
 * directory it created (deepest first), so the whole path survives a crash.
 */
export async function mkdirsDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await fsyncDirectory(path.dirname(d));
    if (d === first || path.dirname(d) === d) break;
  }
}
