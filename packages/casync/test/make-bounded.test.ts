// makeIndex in memory that does not grow with the input (issue #19): the index is
// written to a file as it is built and the distinct chunks are counted by an
// external sort. Small sort runs force several runs and merge passes; the
// temporary files must be gone after success, failure and abort. Real files,
// real workers.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeIndex, parseIndex } from "../src/index.js";
import { makeIndex, makeIndexWith } from "../src/make.js";
import { mixedImage } from "./_helpers/data.js";

let dir: string;
let image: string;
let data: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lifeboat-casync-bounded-"));
  image = path.join(dir, "image.bin");
  // Random runs, a repeated block and zeros: a few hundred chunks, many of them twice or more.
  data = mixedImage(24 * 1024 * 1024);
  await writeFile(image, data);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh, empty folder under the test's own. */
async function folder(name: string): Promise<string> {
  const p = path.join(dir, name);
  await mkdir(p);
  return p;
}

describe("the index written as it is built, distinct chunks counted by an external sort", () => {
  it("small sort runs (several runs, two merge passes) give the same index bytes and exact counts", async () => {
    const work = await folder("work-small-runs");
    const out = await folder("out-small-runs");
    const indexPath = path.join(out, "image.caibx");
    const small = (
      await makeIndexWith(
        image,
        { indexPath, store: path.join(dir, "small.castr"), workers: 2 },
        { sortLimits: { runIds: 7, fanIn: 3 }, tmpDir: work },
      )
    )._unsafeUnwrap();
    const plain = (
      await makeIndex(image, { store: path.join(dir, "plain.castr"), workers: 2 })
    )._unsafeUnwrap();

    const ids = small.index.chunks.map((c) => c.id);
    expect(ids.length).toBeGreaterThan(3 * 3 * 7); // more than fanIn² runs: two merge passes
    const distinct = new Set(ids).size;
    expect(distinct).toBeLessThan(ids.length); // duplicates were there
    expect(small.uniqueChunks).toBe(distinct);
    expect(plain.uniqueChunks).toBe(distinct);
    // Each distinct chunk stored once into a fresh store.
    expect(small.chunksStored).toBe(distinct);
    expect(plain.chunksStored).toBe(distinct);
    expect(small.bytesStored).toBe(plain.bytesStored);

    // The file, the lazily read bytes, the in-memory bytes and the encoder agree byte for byte.
    const file = await readFile(indexPath);
    expect(Buffer.from(small.indexBytes).equals(file)).toBe(true);
    expect(Buffer.from(plain.indexBytes).equals(file)).toBe(true);
    expect(Buffer.from(encodeIndex(small.index)).equals(file)).toBe(true);
    const parsed = parseIndex(file)._unsafeUnwrap();
    expect(parsed.chunks).toEqual(plain.index.chunks);
    expect(parsed.size).toBe(data.length);
    expect(small.index.size).toBe(data.length);

    expect(await readdir(work)).toEqual([]);
    expect(await readdir(out)).toEqual(["image.caibx"]);
  }, 120_000);

  it("a run that fills exactly at the last id, and a single id, count right", async () => {
    const work = await folder("work-edges");
    const plain = (await makeIndex(image, { workers: 1 }))._unsafeUnwrap();
    const n = plain.index.chunks.length;
    const exact = (
      await makeIndexWith(image, { workers: 1 }, { sortLimits: { runIds: n, fanIn: 2 } })
    )._unsafeUnwrap();
    const halves = (
      await makeIndexWith(
        image,
        { workers: 1 },
        { sortLimits: { runIds: Math.ceil(n / 2), fanIn: 2 }, tmpDir: work },
      )
    )._unsafeUnwrap();
    expect(exact.uniqueChunks).toBe(plain.uniqueChunks);
    expect(halves.uniqueChunks).toBe(plain.uniqueChunks);

    const tiny = path.join(dir, "tiny.bin");
    await writeFile(tiny, Buffer.alloc(1000, 7));
    const one = (
      await makeIndexWith(tiny, {}, { sortLimits: { runIds: 1, fanIn: 2 }, tmpDir: work })
    )._unsafeUnwrap();
    expect(one.uniqueChunks).toBe(1);
    expect(one.index.chunks).toHaveLength(1);
    expect(await readdir(work)).toEqual([]);
  }, 120_000);
});

describe("temporary files are gone whatever the end", () => {
  it("a stream that fails half way: an error, no index, no temporary file beside it or in tmpDir", async () => {
    const work = await folder("work-failed");
    const out = await folder("out-failed");
    const half = data.subarray(0, 10 * 1024 * 1024);
    const failing = Readable.from(
      (async function* () {
        for (let at = 0; at < half.length; at += 1024 * 1024)
          yield half.subarray(at, at + 1024 * 1024);
        throw new Error("the disk went away");
      })(),
    );
    const r = await makeIndexWith(
      failing,
      { indexPath: path.join(out, "image.caibx"), store: path.join(dir, "failed.castr") },
      { sortLimits: { runIds: 7, fanIn: 3 }, tmpDir: work },
    );
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "IO_FAILED",
      message: expect.stringContaining("the disk went away"),
    });
    expect(await readdir(out)).toEqual([]);
    expect(await readdir(work)).toEqual([]);
  }, 60_000);

  it("aborted while chunking: ABORTED, the old index kept, no temporary file", async () => {
    const work = await folder("work-aborted");
    const out = await folder("out-aborted");
    const indexPath = path.join(out, "image.caibx");
    await writeFile(indexPath, "the previous index");
    const controller = new AbortController();
    const r = await makeIndexWith(
      image,
      {
        indexPath,
        store: path.join(dir, "aborted.castr"),
        signal: controller.signal,
        onProgress: () => controller.abort(),
      },
      { tmpDir: work },
    );
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "ABORTED" });
    expect(await readdir(out)).toEqual(["image.caibx"]);
    expect(await readFile(indexPath, "utf8")).toBe("the previous index");
    expect(await readdir(work)).toEqual([]);
  }, 60_000);

  it("without indexPath: the bytes are held by the result and the work folder is gone", async () => {
    const work = await folder("work-no-path");
    const r = (await makeIndexWith(image, { workers: 1 }, { tmpDir: work }))._unsafeUnwrap();
    expect(parseIndex(r.indexBytes)._unsafeUnwrap().chunks).toEqual(r.index.chunks);
    expect(await readdir(work)).toEqual([]);
  }, 60_000);
});
