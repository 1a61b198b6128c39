/**
 * readWriteLog on a log QEMU is still writing (`live`): before the guest's
 * first flush the superblock is all zeros, and the last entry's data may not
 * have arrived yet. Synthetic logs in the dm-log-writes layout; no root needed.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readWriteLog, WRITE_LOG_MAGIC, WriteLogFlag } from "../src/index.js";

const SECTOR = 512;

function entry(sector: number, sectors: number, flags: number, fill: number): Buffer {
  const h = Buffer.alloc(SECTOR);
  h.writeBigUInt64LE(BigInt(sector), 0);
  h.writeBigUInt64LE(BigInt(sectors), 8);
  h.writeBigUInt64LE(BigInt(flags), 16);
  return Buffer.concat([h, Buffer.alloc(sectors * SECTOR, fill)]);
}

function superblock(count: number): Buffer {
  const sb = Buffer.alloc(SECTOR);
  sb.writeBigUInt64LE(WRITE_LOG_MAGIC, 0);
  sb.writeBigUInt64LE(1n, 8);
  sb.writeBigUInt64LE(BigInt(count), 16);
  sb.writeUInt32LE(SECTOR, 24);
  return sb;
}

describe("readWriteLog on a log still being written", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const file = async (bytes: Buffer) => {
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-wlog-"));
    dirs.push(dir);
    const f = path.join(dir, "log.bin");
    await writeFile(f, bytes);
    return f;
  };

  it("an empty file or an unwritten superblock is an empty live log, and bad magic otherwise", async () => {
    const empty = await file(Buffer.alloc(0));
    expect((await readWriteLog(empty, { live: {} })).entries).toEqual([]);
    await expect(readWriteLog(empty)).rejects.toThrow(/bad magic/);
    // Writes logged before the first flush: entries after a zero superblock.
    const noSb = await file(Buffer.concat([Buffer.alloc(SECTOR), entry(8, 2, 0, 0xaa)]));
    const live = await readWriteLog(noSb, { live: {} });
    expect(live.entries.map((e) => [e.diskOffset, e.bytes])).toEqual([[8 * SECTOR, 2 * SECTOR]]);
    expect(live.superblockEntries).toBe(0);
    await expect(readWriteLog(noSb)).rejects.toThrow(/bad magic/);
  });

  it("an entry whose data has not arrived ends a live log, and is an error otherwise", async () => {
    const whole = Buffer.concat([
      superblock(2),
      entry(0, 1, 0, 1),
      entry(0, 0, WriteLogFlag.FLUSH, 0),
      entry(16, 4, 0, 2),
    ]);
    const cut = await file(whole.subarray(0, whole.length - SECTOR));
    const live = await readWriteLog(cut, { live: {} });
    expect(live.entries.map((e) => e.flags)).toEqual([0, WriteLogFlag.FLUSH]);
    await expect(readWriteLog(cut)).rejects.toThrow(/past the end of the log/);
    expect((await readWriteLog(await file(whole))).entries).toHaveLength(3);
  });
});
