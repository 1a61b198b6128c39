import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkerParams, extractImage, makeIndex, parseIndex } from "../src/index.js";
import { cuttingWindow, mixedImage } from "./_helpers/data.js";

// Interop with the real casync (Debian package `casync`), both directions.
describe("interop with casync", () => {
  let scratch: Scratch;
  let image: string;
  const min = chunkerParams()._unsafeUnwrap().min;

  beforeAll(async () => {
    requireTools("casync");
    scratch = await Scratch.create("lifeboat-casync-");
    image = scratch.path("image.bin");
    const data = mixedImage(24 * 1024 * 1024);
    cuttingWindow(64 * 1024).copy(data, min - 48); // first chunk exactly `min` bytes
    await writeFile(image, data);
  });
  afterAll(() => scratch?.cleanup());

  it("writes the same index as casync make, byte for byte, with the same chunk files", async () => {
    await sh("casync", [
      "make",
      `--store=${scratch.path("theirs.castr")}`,
      scratch.path("theirs.caibx"),
      image,
    ]);
    const made = await makeIndex(image, {
      indexPath: scratch.path("ours.caibx"),
      store: scratch.path("ours.castr"),
    });
    expect(made.isOk()).toBe(true);
    const theirs = parseIndex(await readFile(scratch.path("theirs.caibx")))._unsafeUnwrap();
    const ours = parseIndex(await readFile(scratch.path("ours.caibx")))._unsafeUnwrap();
    expect(theirs.chunks[0]?.size).toBe(min);
    expect(ours.chunks).toEqual(theirs.chunks);
    expect(await readFile(scratch.path("ours.caibx"))).toEqual(
      await readFile(scratch.path("theirs.caibx")),
    );
    const list = async (store: string) =>
      (await readdir(scratch.path(store), { recursive: true }))
        .filter((f) => f.endsWith(".cacnk"))
        .sort();
    expect(await list("ours.castr")).toEqual(await list("theirs.castr"));
  });

  it("casync extract rebuilds an image from Lifeboat's index and store, byte for byte", async () => {
    await sh("casync", [
      "extract",
      `--store=${scratch.path("ours.castr")}`,
      scratch.path("ours.caibx"),
      scratch.path("by-casync.bin"),
    ]);
    expect((await readFile(scratch.path("by-casync.bin"))).equals(await readFile(image))).toBe(
      true,
    );
  });

  it("Lifeboat extracts an image from casync make's index and store, byte for byte", async () => {
    const r = await extractImage(scratch.path("theirs.caibx"), scratch.path("by-lifeboat.bin"), {
      stores: [scratch.path("theirs.castr")],
    });
    expect(r._unsafeUnwrap().bytesFromStores).toBe(24 * 1024 * 1024);
    expect((await readFile(scratch.path("by-lifeboat.bin"))).equals(await readFile(image))).toBe(
      true,
    );
  });

  it("reads gzip chunk stores written by casync --compression=gzip", async () => {
    const small = scratch.path("small.bin");
    await writeFile(small, randomBytes(3 * 1024 * 1024));
    await sh("casync", [
      "make",
      "--compression=gzip",
      `--store=${scratch.path("gz.castr")}`,
      scratch.path("gz.caibx"),
      small,
    ]);
    const r = await extractImage(scratch.path("gz.caibx"), scratch.path("gz.out"), {
      stores: [scratch.path("gz.castr")],
    });
    expect(r.isOk()).toBe(true);
    expect((await readFile(scratch.path("gz.out"))).equals(await readFile(small))).toBe(true);
  });

  it("same boundaries as casync for other chunk sizes (8/32/128 KiB)", async () => {
    await sh("casync", [
      "make",
      "--chunk-size=32768",
      `--store=${scratch.path("s32.castr")}`,
      scratch.path("s32.caibx"),
      image,
    ]);
    const theirs = parseIndex(await readFile(scratch.path("s32.caibx")))._unsafeUnwrap();
    expect(theirs.chunkSizes).toEqual({ min: 8192, avg: 32768, max: 131072 });
    const ours = (await makeIndex(image, { chunkSizes: theirs.chunkSizes }))._unsafeUnwrap();
    expect(ours.index.chunks).toEqual(theirs.chunks);
  });
});
