import { createHash } from "node:crypto";

/** SHA-512/256 of the uncompressed chunk, as lowercase hex: casync's chunk id. */
export function chunkId(data: Uint8Array): string {
  return createHash("sha512-256").update(data).digest("hex");
}

/** The same id as 32 bytes. */
export function chunkIdBytes(data: Uint8Array): Buffer {
  return createHash("sha512-256").update(data).digest();
}
