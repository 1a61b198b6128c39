import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExtractProgress, estimateUpdate, extractImage, makeIndex } from "../src/index.js";
import { mixedImage } from "./_helpers/data.js";

// An update: v2 differs from v1 by an edit, an insertion and a deletion; v1 is the seed.
describe("extracting with seeds", () => {
  let scratch: Scratch;
  let v1: Buffer;
  let v2: Buffer;

  beforeAll(async () => {
    scratch = await Scratch.create("lifeboat-casync-seed-");
    v1 = mixedImage(12 * 1024 * 1024);
    v2 = Buffer.concat([
      v1.subarray(0, 3_000_000),
      randomBytes(100_000), // inserted
      v1.subarray(3_000_000, 7_000_000),
      v1.subarray(7_500_000), // 500 kB deleted
    ]);
    randomBytes(5000).copy(v2, 10_000_000); // edited in place
    await writeFile(scratch.path("v1.img"), v1);
    await writeFile(scratch.path("v2.img"), v2);
  });
  afterAll(() => scratch?.cleanup());

  it("takes unchanged chunks from the seed and fetches only the rest", async () => {
    const i1 = (await makeIndex(scratch.path("v1.img")))._unsafeUnwrap().index;
    const made = (
      await makeIndex(scratch.path("v2.img"), { store: scratch.path("store") })
    )._unsafeUnwrap();
    const estimate = estimateUpdate(made.index, [i1]);
    const events: ExtractProgress[] = [];
    const r = await extractImage(made.index, scratch.path("out.img"), {
      stores: [scratch.path("store")],
      seeds: [scratch.path("v1.img")],
      onProgress: (e) => events.push(e),
    });
    const result = r._unsafeUnwrap();
    expect((await readFile(scratch.path("out.img"))).equals(v2)).toBe(true);
    expect(result.bytesFromSeeds).toBe(estimate.reusedBytes);
    expect(result.bytesFromStores).toBe(v2.length - estimate.reusedBytes);
    expect(result.bytesFromSeeds).toBeGreaterThan(v2.length * 0.85);
    expect(result.bytesWritten).toBe(v2.length);
    expect(events.at(-1)).toMatchObject({
      phase: "fetch",
      bytesWritten: v2.length,
      totalBytes: v2.length,
    });
    expect(events.some((e) => e.phase === "seed")).toBe(true);
  });

  it("uses the image being replaced as its own seed (extract over the old file)", async () => {
    await writeFile(scratch.path("live.img"), v1);
    const index = (await makeIndex(scratch.path("v2.img")))._unsafeUnwrap().index;
    const r = await extractImage(index, scratch.path("live.img"), {
      stores: [scratch.path("store")],
      seeds: [scratch.path("live.img")],
    });
    expect(r._unsafeUnwrap().bytesFromSeeds).toBeGreaterThan(v2.length * 0.85);
    expect((await readFile(scratch.path("live.img"))).equals(v2)).toBe(true);
  });
});
