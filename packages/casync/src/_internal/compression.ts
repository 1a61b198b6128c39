import { gunzipSync } from "node:zlib";

// Loaded on first use: the CLI's single-file bundle (recovery environment) has no
// native addon beside it, and only chunk (de)compression needs it.
let zstd: Promise<typeof import("@mongodb-js/zstd")> | undefined;
const loadZstd = () => {
  zstd ??= import("@mongodb-js/zstd");
  return zstd;
};

export type Compression = "zstd" | "gzip" | "xz" | "unknown";

/** Recognise a chunk file's compression by its magic bytes, as casync does. */
export function compressionOf(bytes: Uint8Array): Compression {
  if (bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd)
    return "zstd";
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return "gzip";
  if (bytes[0] === 0xfd && bytes[1] === 0x37 && bytes[2] === 0x7a && bytes[3] === 0x58) return "xz";
  return "unknown";
}

/** Compress one chunk into a single zstd frame (runs on libuv's thread pool). */
export async function compressChunk(data: Uint8Array, level: number): Promise<Buffer> {
  const { compress } = await loadZstd();
  return compress(Buffer.from(data.buffer, data.byteOffset, data.byteLength), level);
}

/** Decompress a chunk file; throws on unsupported or damaged data (callers map it). */
export async function decompressChunk(bytes: Uint8Array, kind: Compression): Promise<Buffer> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === "zstd") return (await loadZstd()).decompress(buffer);
  if (kind === "gzip") return gunzipSync(buffer);
  throw new Error(`unsupported chunk compression: ${kind}`);
}
