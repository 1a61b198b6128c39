// Whole-file SHA-256 for files without a tree (small files: BLS entries, configs).
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { ContentOutcome } from "./verify-merkle.js";
import { hashMismatch } from "./verify-merkle.js";
import { BLOCK } from "./verity-layout.js";

export async function sha256Compare(
  file: string,
  abs: string,
  expected: string,
  size: number,
  o: { readonly signal?: AbortSignal; readonly onBytes: (bytes: number) => void },
): Promise<ContentOutcome> {
  const h = createHash("sha256");
  const fh = await open(abs, "r");
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let pos = 0;
    for (;;) {
      if (o.signal?.aborted) return "aborted";
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
      o.onBytes(bytesRead);
    }
  } finally {
    await fh.close();
  }
  const actual = h.digest("hex");
  if (actual === expected) return "ok";
  const last = Math.max(0, Math.ceil(size / BLOCK) - 1);
  return hashMismatch(file, "whole-file", 0, last, expected, actual, "The SHA-256");
}
