/**
 * Done-when 1: 200 random layouts made by sgdisk parse to what sfdisk -J
 * reports, and serialise back to identical bytes.
 */
import { open } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { requireTools, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openGptSource, parseGpt, partitionTypes, serializeGpt } from "../src/index.js";
import { ourView, pool, prng, type Rng, randomName, sfdiskView, shmDir } from "./_helpers.js";

const LAYOUTS = 200;
const runner = createExecaRunner();
let scratch: Awaited<ReturnType<typeof shmDir>>;

beforeAll(async () => {
  requireTools("sgdisk", "sfdisk");
  scratch = await shmDir("sgdisk");
});
afterAll(async () => scratch?.remove());

/** sgdisk arguments for one random layout (sizes, gaps, slots, types, names, attributes). */
function randomSgdiskArgs(rng: Rng, diskSectors: number): string[] {
  const entryCount = rng.pick([128, 128, 128, 64, 256, 300]);
  const align = rng.pick([1, 8, 2048]);
  const firstUsable = 2 + Math.ceil((entryCount * 128) / 512);
  const lastUsable = diskSectors - 1 - Math.ceil((entryCount * 128) / 512) - 1;
  const args = ["-o", "-S", String(entryCount), "-a", String(align)];
  const count = rng.int(0, 20);
  const slots = new Set<number>();
  let cursor = Math.ceil(firstUsable / align) * align;
  const types = partitionTypes().map((t) => t.guid);
  for (let i = 0; i < count; i++) {
    cursor += rng.int(0, 3) * align;
    const size = rng.int(1, Math.max(1, Math.floor((lastUsable - cursor) / 4)));
    const end = cursor + size - 1;
    if (end > lastUsable) break;
    let slot = rng.int(1, Math.min(entryCount, 40));
    while (slots.has(slot)) slot = (slot % entryCount) + 1;
    slots.add(slot);
    args.push("-n", `${slot}:${cursor}:${end}`);
    args.push("-t", `${slot}:${rng.next() < 0.8 ? rng.pick(types) : rng.guid()}`);
    const name = randomName(rng);
    if (name !== "") args.push("-c", `${slot}:${name}`);
    for (let a = rng.int(0, 3); a > 0; a--) {
      args.push("-A", `${slot}:set:${rng.pick([0, 1, 2, 48, 55, 59, 60, 62, 63, rng.int(3, 63)])}`);
    }
    cursor = Math.ceil((end + 1) / align) * align;
  }
  return args;
}

async function readAt(file: string, offset: number, length: number): Promise<Uint8Array> {
  const fh = await open(file, "r");
  try {
    const buf = new Uint8Array(length);
    await fh.read(buf, 0, length, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

describe("sgdisk-made layouts", () => {
  it(`parse == sfdisk -J and re-serialise byte-identically (${LAYOUTS} random layouts)`, async () => {
    const rng = prng(0x5eed_0001);
    const jobs = Array.from({ length: LAYOUTS }, (_, i) => {
      const diskSectors = rng.int(4, 64) * 2048 + rng.int(0, 7) * 8;
      const args = randomSgdiskArgs(rng, diskSectors);
      return async () => {
        const image = path.join(scratch.dir, `d-${i}.img`);
        await sh("truncate", ["-s", String(diskSectors * 512), image]);
        await sh("sgdisk", [...args, image]);
        const source = (await openGptSource(runner, image))._unsafeUnwrap();
        const parsed = parseGpt(source);
        if (parsed.isErr())
          throw new Error(`layout ${i} (${args.join(" ")}): ${parsed.error.message}`);
        const table = parsed.value;
        expect(ourView(table), `layout ${i}: sgdisk ${args.join(" ")}`).toEqual(
          await sfdiskView(image),
        );
        const writes = serializeGpt(table)._unsafeUnwrap();
        for (const w of writes) {
          const onDisk = await readAt(image, Number(w.lba) * 512, w.bytes.length);
          expect(Buffer.from(w.bytes).equals(Buffer.from(onDisk)), `layout ${i} ${w.region}`).toBe(
            true,
          );
        }
        return table.partitions.length;
      };
    });
    // sgdisk sync()s and sleeps a second after writing: run many at once (they wait, not compute).
    const counts = await pool(25, jobs);
    // The generator really made varied layouts.
    expect(counts.filter((c) => c === 0).length).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(10);
  });
});
