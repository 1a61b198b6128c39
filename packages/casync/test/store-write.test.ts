// Chunk files are created by link(), so of concurrent writers of one chunk exactly
// one reports it as new: makeIndex's chunksStored/bytesStored rest on this (issue #19).
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { putChunkFile } from "../src/_internal/local-store.js";

let scratch: Scratch;
beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-casync-store-write-");
});
afterAll(() => scratch?.cleanup());

const id = "ab".repeat(32);

it("of 8 concurrent writers of one chunk exactly one reports it new; a later write reports 0 and keeps the file", async () => {
  const store = scratch.path("store");
  const sizes = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      putChunkFile(store, id, async () => new Uint8Array(100 + i).fill(i)),
    ),
  );
  expect(sizes.filter((s) => s > 0)).toHaveLength(1);
  const winner = sizes.findIndex((s) => s > 0);
  const file = path.join(store, id.slice(0, 4), `${id}.cacnk`);
  expect(await readFile(file)).toEqual(Buffer.alloc(100 + winner, winner));
  expect(await putChunkFile(store, id, async () => new Uint8Array(7))).toBe(0);
  expect((await readFile(file)).length).toBe(100 + winner);
  expect(await readdir(path.join(store, id.slice(0, 4)))).toEqual([`${id}.cacnk`]); // no temp left
});

it("a chunk file that was there before is never reported new, nor compressed again", async () => {
  const store = scratch.path("before");
  await mkdir(path.join(store, id.slice(0, 4)), { recursive: true });
  await writeFile(path.join(store, id.slice(0, 4), `${id}.cacnk`), "old");
  let compressed = 0;
  const size = await putChunkFile(store, id, async () => {
    compressed++;
    return new Uint8Array(3);
  });
  expect({ size, compressed }).toEqual({ size: 0, compressed: 0 });
});
