/**
 * What the rescue copy reads from the read-only snapshot of home, by bytes:
 * file names are byte strings on Linux (not always UTF-8), a chosen path
 * must not leave home through a symbolic link, and the space a copy needs is
 * the files' apparent size (a sparse file is written in full).
 *
 * Keys are the names' bytes as a `latin1` string: lossless and comparable.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import type { UnsafePathError } from "@lifeboat/core";
import type { BadRequestError } from "../errors.js";

/** One entry of a tree listing, keyed by the bytes of its relative path. */
export interface ByteTreeEntry {
  /** The relative path's bytes as a latin1 string. */
  readonly key: string;
  readonly type: "dir" | "file" | "symlink" | "other";
  readonly mode: number;
  readonly size: number;
  /** sha256 of a file, the target bytes (latin1) of a symlink, else "". */
  readonly content: string;
}

/** The bytes of a UTF-8 path from a request, as a key. */
export const keyOf = (utf8: string): string => Buffer.from(utf8, "utf8").toString("latin1");

/** A key as text for a person: valid UTF-8 as is, other bytes as `\xNN`. */
export function showKey(key: string): string {
  const bytes = Buffer.from(key, "latin1");
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  if (!text.includes("\ufffd")) return text;
  return [...bytes]
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16)}`))
    .join("");
}

const abs = (root: string, key: string): Buffer =>
  key === ""
    ? Buffer.from(root)
    : Buffer.concat([Buffer.from(`${root}/`), Buffer.from(key, "latin1")]);

async function sha256(file: Buffer): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * List a tree by bytes, sorted by name bytes, never following a symlink.
 * `keep(key)` chooses which entries to list (a directory not kept is not entered).
 */
export async function listByteTree(
  root: string,
  keep: (key: string) => boolean = () => true,
): Promise<ByteTreeEntry[]> {
  const out: ByteTreeEntry[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(abs(root, rel), { encoding: "buffer" }))
      .map((n) => n.toString("latin1"))
      .sort();
    for (const name of names) {
      const key = rel ? `${rel}/${name}` : name;
      if (!keep(key)) continue;
      const file = abs(root, key);
      const st = await lstat(file);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out.push({ key, type: "dir", mode, size: 0, content: "" });
        await walk(key);
      } else if (st.isFile()) {
        out.push({ key, type: "file", mode, size: st.size, content: await sha256(file) });
      } else if (st.isSymbolicLink()) {
        const target = await readlink(file, { encoding: "buffer" });
        out.push({ key, type: "symlink", mode: 0, size: 0, content: target.toString("latin1") });
      } else out.push({ key, type: "other", mode, size: 0, content: "" });
    }
  }
  await walk("");
  return out;
}

/** True when `key` is one of `chosen`, inside one, or a directory on the way to one. */
export function onChosenPath(key: string, chosen: readonly string[]): boolean {
  return (
    chosen.length === 0 ||
    chosen.some((q) => key === q || key.startsWith(`${q}/`) || q.startsWith(`${key}/`))
  );
}

/**
 * Check every chosen path inside the snapshot before anything is copied: it
 * must exist, and no directory on its way may be a symbolic link (rsync
 * would follow it, out of home: `alice/link/passwd` with `link -> /etc`).
 * The path itself may be a symlink: it is copied as a link. The snapshot is
 * read-only, so what is checked is what rsync reads.
 */
export async function checkChosenPaths(
  snapshot: string,
  chosen: readonly string[],
): Promise<UnsafePathError | BadRequestError | undefined> {
  for (const p of chosen) {
    const parts = keyOf(p).split("/");
    for (let i = 0; i < parts.length; i++) {
      const key = parts.slice(0, i + 1).join("/");
      let st: Awaited<ReturnType<typeof lstat>> | undefined;
      try {
        st = await lstat(abs(snapshot, key));
      } catch (e) {
        if (
          (e as { code?: string }).code !== "ENOENT" &&
          (e as { code?: string }).code !== "ENOTDIR"
        )
          throw e;
        st = undefined;
      }
      if (st === undefined)
        return {
          code: "RESET_BAD_REQUEST",
          message: `The rescue path ${JSON.stringify(p)} does not exist in home (${JSON.stringify(showKey(key))} is missing); nothing was copied.`,
          field: "paths",
        };
      if (st.isSymbolicLink() && i < parts.length - 1)
        return {
          code: "UNSAFE_PATH",
          message: `The rescue path ${JSON.stringify(p)} goes through the symbolic link ${JSON.stringify(showKey(key))}, which could lead out of home; nothing was copied. Give the path the link points to, inside home.`,
          path: p,
          reason: "symlink-escape",
        };
    }
  }
  return undefined;
}

/**
 * The bytes a copy of the chosen paths takes on the target: every file's
 * apparent size (sparse files are written in full), rounded up to 4 KiB
 * blocks, plus a block per directory and symlink.
 */
export async function apparentCopyBytes(
  snapshot: string,
  chosen: readonly string[],
): Promise<number> {
  const block = 4096;
  let total = 0;
  async function walk(rel: string): Promise<void> {
    const names = await readdir(abs(snapshot, rel), { encoding: "buffer" });
    for (const n of names) {
      const key = rel ? `${rel}/${n.toString("latin1")}` : n.toString("latin1");
      if (!onChosenPath(key, keyed)) continue;
      const st = await lstat(abs(snapshot, key));
      if (st.isFile()) total += Math.ceil(st.size / block) * block;
      else total += block;
      if (st.isDirectory()) await walk(key);
    }
  }
  const keyed = chosen.map(keyOf);
  await walk("");
  return total;
}
