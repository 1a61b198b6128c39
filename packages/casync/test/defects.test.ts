/**
 * Regressions from outside testing (issue #19): a chunk whose length is not
 * its index entry's, makeIndex's store counts, directory indexes. The real
 * casync is the second opinion.
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeIndex, extractImage, makeIndex, parseIndex } from "../src/index.js";
import { mixedImage } from "./_helpers/data.js";

let scratch: Scratch;
beforeAll(async () => {
  requireTools("casync");
  scratch = await Scratch.create("lifeboat-casync-defects-");
});
afterAll(() => scratch?.cleanup());

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Every chunk file in a store folder and the sum of their sizes. */
async function storeContents(store: string): Promise<{ files: number; bytes: number }> {
  const names = (await readdir(store, { recursive: true })).filter((f) => f.endsWith(".cacnk"));
  let bytes = 0;
  for (const f of names) bytes += (await stat(path.join(store, f))).size;
  return { files: names.length, bytes };
}

describe("extract checks every chunk's length against its index entry (issue #19: a wrong index gave a wrong image, exit 0)", () => {
  it("an index whose cut moved by one byte (ids unchanged) is CASYNC_CHUNK_MISMATCH, as casync refuses it", async () => {
    const image = scratch.path("small.bin");
    await writeFile(image, mixedImage(2 * 1024 * 1024));
    const made = (
      await makeIndex(image, { store: scratch.path("small.castr"), workers: 1 })
    )._unsafeUnwrap();
    // The first cut that can move one byte later and stay a valid index: a chunk shorter
    // than the maximum (random data may cut the first one at the maximum) before one
    // longer than the minimum.
    const { chunks, chunkSizes } = made.index;
    const i = chunks.findIndex(
      (c, k) => c.size < chunkSizes.max && (chunks[k + 1]?.size ?? 0) > chunkSizes.min,
    );
    const a = chunks[i];
    const b = chunks[i + 1];
    if (a === undefined || b === undefined) throw new Error("want a cut that can move");
    const wrong = encodeIndex({
      ...made.index,
      chunks: [
        ...chunks.slice(0, i),
        { ...a, size: a.size + 1 },
        { ...b, offset: b.offset + 1, size: b.size - 1 },
        ...chunks.slice(i + 2),
      ],
    });
    const wrongPath = scratch.path("wrong.caibx");
    await writeFile(wrongPath, wrong);

    const theirs = await sh("sh", [
      "-c",
      `casync extract --store=${scratch.path("small.castr")} ${wrongPath} ${scratch.path("by-casync.bin")} 2>&1; echo "exit $?"`,
    ]);
    expect(theirs).toContain("Bad message");
    expect(theirs).not.toContain("exit 0");

    const out = scratch.path("by-lifeboat.bin");
    const r = await extractImage(wrongPath, out, { stores: [scratch.path("small.castr")] });
    expect(r._unsafeUnwrapErr()).toEqual({
      code: "CASYNC_CHUNK_MISMATCH",
      message: expect.stringContaining("Bad message"),
      chunkId: a.id,
      offset: a.offset,
      expectedSize: a.size + 1,
      actualSize: a.size,
    });
    expect(await exists(out)).toBe(false);
  });

  it("an index giving one chunk id two lengths is refused before anything is fetched", async () => {
    const image = scratch.path("twice.bin");
    const block = mixedImage(256 * 1024);
    await writeFile(image, Buffer.concat([block, block]));
    const made = (await makeIndex(image, { workers: 1 }))._unsafeUnwrap();
    const first = made.index.chunks[0];
    if (first === undefined) throw new Error("no chunks");
    const chunks = [first, { offset: first.size, size: first.size + 7, id: first.id }];
    const r = await extractImage(
      { ...made.index, chunks, size: 2 * first.size + 7 },
      scratch.path("twice.out"),
      { stores: [scratch.path("nowhere.castr")] },
    );
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "CASYNC_CHUNK_MISMATCH",
      chunkId: first.id,
      offset: first.size,
      expectedSize: first.size + 7,
      actualSize: first.size,
    });
  });
});

describe("makeIndex's chunksStored and bytesStored (issue #19: wrong and different run to run)", () => {
  it("two runs into fresh stores agree and equal the chunk files written and their bytes; a third run into a full store stores 0", async () => {
    const image = scratch.path("mixed.bin");
    // Repeated blocks across 8 MiB segments: the same chunk cut by several workers at once.
    await writeFile(image, mixedImage(40 * 1024 * 1024));
    const run = async (store: string) =>
      (await makeIndex(image, { store: scratch.path(store), workers: 4 }))._unsafeUnwrap();
    const one = await run("one.castr");
    const two = await run("two.castr");
    const inOne = await storeContents(scratch.path("one.castr"));
    expect(one.uniqueChunks).toBeLessThan(one.index.chunks.length); // duplicates were there
    expect({ chunks: one.chunksStored, bytes: one.bytesStored }).toEqual({
      chunks: inOne.files,
      bytes: inOne.bytes,
    });
    expect(one.chunksStored).toBe(one.uniqueChunks);
    expect({ chunks: two.chunksStored, bytes: two.bytesStored }).toEqual({
      chunks: one.chunksStored,
      bytes: one.bytesStored,
    });
    expect(await storeContents(scratch.path("two.castr"))).toEqual(inOne);

    const again = await run("one.castr");
    expect({ chunks: again.chunksStored, bytes: again.bytesStored }).toEqual({
      chunks: 0,
      bytes: 0,
    });
    expect(await storeContents(scratch.path("one.castr"))).toEqual(inOne);
  }, 120_000);
});

describe("directory indexes (issue #19: a .caidx was accepted although the docs say it is refused)", () => {
  it("casync make's .caidx, default flags or --without=all, is CASYNC_BAD_INDEX for parseIndex and extractImage", async () => {
    const tree = scratch.path("tree");
    await sh("mkdir", ["-p", `${tree}/sub`]);
    await writeFile(path.join(tree, "a.txt"), "hello\n");
    await writeFile(path.join(tree, "sub", "b.bin"), mixedImage(300 * 1024));
    const store = scratch.path("tree.castr");
    const full = scratch.path("tree.caidx");
    const bare = scratch.path("bare.caidx");
    await sh("casync", ["make", `--store=${store}`, full, tree]);
    await sh("casync", ["make", `--store=${store}`, "--without=all", bare, tree]);

    for (const index of [full, bare]) {
      const parsed = parseIndex(await readFile(index), index);
      expect(parsed._unsafeUnwrapErr()).toMatchObject({ code: "CASYNC_BAD_INDEX", source: index });
      expect(parsed._unsafeUnwrapErr().message).toContain("directory index (.caidx)");
      const out = scratch.path(`${path.basename(index)}.out`);
      const r = await extractImage(index, out, { stores: [store] });
      expect(r._unsafeUnwrapErr().code).toBe("CASYNC_BAD_INDEX");
      expect(await exists(out)).toBe(false);
    }
    // The default .caidx is told apart by its flags alone, whatever it is called.
    expect(parseIndex(await readFile(full), "renamed.caibx")._unsafeUnwrapErr().code).toBe(
      "CASYNC_BAD_INDEX",
    );
  });
});
