import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  chunkBoundaries,
  chunkerParams,
  DEFAULT_CHUNK_SIZES,
  discriminatorFor,
  findChunkEnd,
  makeIndex,
} from "../src/index.js";
import { cuttingWindow } from "./_helpers/data.js";

const params = chunkerParams()._unsafeUnwrap();

describe("chunker parameters", () => {
  it("derives casync's discriminator for 64 KiB", () => {
    expect(discriminatorFor(65536)).toBe(49535);
    expect(params).toEqual({ ...DEFAULT_CHUNK_SIZES, discriminator: 49535 });
  });

  it("rejects sizes out of order with a typed error", () => {
    expect(chunkerParams({ min: 100, avg: 50, max: 200 })._unsafeUnwrapErr()).toEqual({
      code: "CASYNC_BAD_PARAMETERS",
      message: "Chunk sizes must satisfy 1 <= min <= avg <= max <= 134217728; got 100/50/200.",
      min: 100,
      avg: 50,
      max: 200,
    });
  });
});

describe("chunk boundaries", () => {
  it("cuts a chunk of exactly min bytes when the window ending at min matches", () => {
    const data = randomBytes(1024 * 1024);
    cuttingWindow(params.avg).copy(data, params.min - 48);
    expect(findChunkEnd(data, 0, data.length, params, true)).toBe(params.min);
  });

  it("never cuts below min or above max, and covers the input", () => {
    const data = randomBytes(4 * 1024 * 1024);
    const ends = chunkBoundaries(data, params);
    let prev = 0;
    for (const [i, end] of ends.entries()) {
      const size = end - prev;
      expect(size).toBeLessThanOrEqual(params.max);
      if (i < ends.length - 1) expect(size).toBeGreaterThanOrEqual(params.min);
      prev = end;
    }
    expect(prev).toBe(data.length);
    expect(chunkBoundaries(Buffer.alloc(600 * 1024), params)).toEqual([262144, 524288, 614400]);
  });

  it("asks for more bytes until max bytes or the end are available", () => {
    const data = randomBytes(params.max - 1);
    expect(findChunkEnd(data, 0, data.length, params, false)).toBe(-1);
  });

  it("streams give the same boundaries as the whole buffer, whatever the piece sizes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * 1024 * 1024 }),
        fc.array(fc.integer({ min: 1, max: 700 * 1024 }), { minLength: 1, maxLength: 8 }),
        async (size, pieces) => {
          const data = randomBytes(size);
          const parts: Buffer[] = [];
          for (let at = 0, i = 0; at < size; i++) {
            const n = pieces[i % pieces.length] as number;
            parts.push(data.subarray(at, at + n));
            at += n;
          }
          const made = (await makeIndex(Readable.from(parts)))._unsafeUnwrap();
          const ends = made.index.chunks.map((c) => c.offset + c.size);
          expect(ends).toEqual(chunkBoundaries(data, params));
          expect(made.index.size).toBe(size);
        },
      ),
      { numRuns: 12 },
    );
  });
});

describe("parallel chunking across 8 MiB segments", () => {
  it("finds the same chunks as one sequential pass and leaves no stray chunk files", async () => {
    const { Scratch } = await import("@lifeboat/testkit");
    const { readdir, writeFile } = await import("node:fs/promises");
    const { mixedImage } = await import("./_helpers/data.js");
    const scratch = await Scratch.create("lifeboat-casync-seg-");
    try {
      const data = mixedImage(40 * 1024 * 1024);
      await writeFile(scratch.path("in.bin"), data);
      const made = (
        await makeIndex(scratch.path("in.bin"), { store: scratch.path("store"), workers: 2 })
      )._unsafeUnwrap();
      expect(made.index.chunks.map((c) => c.offset + c.size)).toEqual(
        chunkBoundaries(data, params),
      );
      const files = (await readdir(scratch.path("store"), { recursive: true }))
        .filter((f) => f.endsWith(".cacnk"))
        .map((f) => f.slice(5, 69))
        .sort();
      expect(files).toEqual([...new Set(made.index.chunks.map((c) => c.id))].sort());
      expect(made.uniqueChunks).toBe(files.length);
    } finally {
      await scratch.cleanup();
    }
  });
});
