import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_INDEX_FLAGS, encodeIndex, type IndexChunk, parseIndex } from "../src/index.js";

const chunks: IndexChunk[] = [
  { offset: 0, size: 16384, id: randomBytes(32).toString("hex") },
  { offset: 16384, size: 70000, id: randomBytes(32).toString("hex") },
];
const index = {
  featureFlags: DEFAULT_INDEX_FLAGS,
  chunkSizes: { min: 16384, avg: 65536, max: 262144 },
  chunks,
};

describe("caibx codec", () => {
  it("round-trips and has casync's sizes and magic numbers", () => {
    const bytes = encodeIndex(index);
    expect(bytes.length).toBe(48 + 16 + 40 * 2 + 40);
    const view = new DataView(bytes.buffer);
    expect(view.getBigUint64(8, true)).toBe(0x96824d9c7b129ff9n);
    expect(view.getBigUint64(bytes.length - 8, true)).toBe(0x4b4f050e5549ecd1n);
    expect(parseIndex(bytes)._unsafeUnwrap()).toEqual({ ...index, size: 86384 });
  });

  it("rejects damaged indexes with CASYNC_BAD_INDEX and where", () => {
    const bytes = encodeIndex(index);
    expect(parseIndex(bytes.subarray(0, bytes.length - 1), "x.caibx")._unsafeUnwrapErr()).toEqual({
      code: "CASYNC_BAD_INDEX",
      message: "x.caibx is not a casync index: truncated table.",
      source: "x.caibx",
      offset: bytes.length - 1,
    });
    const flipped = Uint8Array.from(bytes);
    flipped[9] = 0;
    expect(parseIndex(flipped)._unsafeUnwrapErr()).toMatchObject({
      code: "CASYNC_BAD_INDEX",
      offset: 0,
    });
    const sha256 = Uint8Array.from(bytes);
    sha256[23] = 0; // clear the SHA-512/256 flag
    expect(parseIndex(sha256)._unsafeUnwrapErr()).toMatchObject({
      code: "CASYNC_BAD_INDEX",
      offset: 16,
    });
  });
});
