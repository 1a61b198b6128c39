// makeIndex progress carries the total (issue #19): a file's size from the
// first event on, the caller's bytesTotal for a stream, and the last event is
// bytesRead = bytesTotal. Real files, real workers, ~1 s.
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type MakeProgress, makeIndex } from "../src/index.js";

let dir: string;
let image: string;
const size = 9 * 1024 * 1024 + 12345; // three 4 MiB segments, the last one short

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lifeboat-casync-progress-"));
  image = path.join(dir, "image.bin");
  await writeFile(image, randomBytes(size));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function check(events: MakeProgress[], total: number | undefined) {
  expect(events.length).toBeGreaterThanOrEqual(3);
  for (const e of events) expect(e.bytesTotal).toBe(total);
  const read = events.map((e) => e.bytesRead);
  expect(read).toEqual([...read].sort((a, b) => a - b));
  expect(read.at(-1)).toBe(size);
}

test("a file: every event has bytesTotal = the file's size; the last one reaches it", async () => {
  const events: MakeProgress[] = [];
  const r = await makeIndex(image, {
    store: path.join(dir, "store-file"),
    onProgress: (e) => events.push(e),
  });
  expect(r.isOk()).toBe(true);
  check(events, size);
});

test("a stream: bytesTotal is the caller's figure (undefined without one)", async () => {
  const given: MakeProgress[] = [];
  expect(
    (
      await makeIndex(createReadStream(image), {
        bytesTotal: size,
        onProgress: (e) => given.push(e),
      })
    ).isOk(),
  ).toBe(true);
  check(given, size);
  const unknown: MakeProgress[] = [];
  expect(
    (await makeIndex(createReadStream(image), { onProgress: (e) => unknown.push(e) })).isOk(),
  ).toBe(true);
  check(unknown, undefined);
});
