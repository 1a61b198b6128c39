/**
 * The write-log parser and the crash-state generator against a real log:
 * QEMU's blklogwrites driver (through qemu-storage-daemon's FUSE export, a
 * loop device on it) records a small Btrfs taking writes, fsyncs and a
 * snapshot; every flush point and sampled reordering is then made and
 * checked (mounts, `btrfs check --readonly` clean, fsynced files there).
 */
import { copyFile, open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  CrashStateBuilder,
  createBtrfs,
  createImageFile,
  exportWithWriteLog,
  isDataWrite,
  isFlush,
  mountTemp,
  planCrashStates,
  readWriteLog,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  unmount,
  WRITE_LOG_MAGIC,
} from "../src/index.js";

let scratch: Scratch | undefined;
afterEach(async () => {
  await scratch?.cleanup();
  scratch = undefined;
});

/** A 160 MiB Btrfs image, made before recording; then a logged session of writes and fsyncs. */
async function recordBtrfsSession(s: Scratch) {
  const image = await createImageFile(s, "disk.img", 160 * 1024 * 1024);
  await sh("mkfs.btrfs", ["-q", "-f", image]);
  const base = s.path("base.img");
  await copyFile(image, base);
  const logFile = s.path("log.bin");
  const exported = await exportWithWriteLog(s, image, logFile);
  // Detached here, before the daemon stops, so the loop device's last writes reach the log.
  const dev = (await sh("losetup", ["--find", "--show", exported])).trim();
  let attached = true;
  s.defer(async () => {
    if (attached) await sh("losetup", ["-d", dev]);
  });
  const mnt = await mountTemp(s, dev, { type: "btrfs" });
  for (let i = 0; i < 3; i++) {
    const f = path.join(mnt, `file-${i}`);
    await writeFile(f, `content ${i}\n`.repeat(2000 * (i + 1)));
    const fh = await open(f, "r+");
    await fh.sync();
    await fh.close();
  }
  await sh("btrfs", ["subvolume", "snapshot", mnt, path.join(mnt, "snap")]);
  await sh("sync", ["-f", mnt]);
  await unmount(mnt);
  await sh("losetup", ["-d", dev]);
  attached = false;
  return { image, base, logFile };
}

describe("write logs recorded by QEMU's blklogwrites", () => {
  it("parses the log, and replaying every entry onto the base gives the recorded disk", async () => {
    requireRoot();
    requireTools("qemu-storage-daemon", "mkfs.btrfs", "btrfs", "cmp");
    scratch = await Scratch.create("lifeboat-wlog-");
    const s = scratch;
    const { image, base, logFile } = await recordBtrfsSession(s);
    const log = await readWriteLog(logFile);
    expect((await readFile(logFile)).readBigUInt64LE(0)).toBe(WRITE_LOG_MAGIC);
    expect(log.sectorSize).toBe(512);
    expect(log.version).toBe(1);
    const flushes = log.entries.filter(isFlush).length;
    const writes = log.entries.filter(isDataWrite).length;
    console.log(`log: ${log.entries.length} entries, ${writes} writes, ${flushes} flushes`);
    expect(flushes).toBeGreaterThanOrEqual(4); // three fsyncs, a snapshot commit, sync, unmount
    expect(writes).toBeGreaterThan(flushes);
    expect(log.superblockEntries).toBeLessThanOrEqual(log.entries.length);

    // The superblock's count lags after a power cut: entries past it are still read.
    const stale = s.path("stale.bin");
    await copyFile(logFile, stale);
    const fh = await open(stale, "r+");
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(3n);
    await fh.write(count, 0, 8, 16);
    await fh.close();
    const again = await readWriteLog(stale);
    expect(again.superblockEntries).toBe(3);
    expect(again.entries.length).toBe(log.entries.length);

    // The last state of the plan (every write) is the recorded disk, byte for byte.
    const work = await createBtrfs(s, { bytes: 1024 ** 3, name: "work.img" });
    const states = planCrashStates(log, { samplesPerEpoch: 0 });
    const builder = await CrashStateBuilder.create(base, log, work.mountpoint);
    s.defer(() => builder.close());
    const last = states.at(-1);
    expect(last).toBeDefined();
    if (last !== undefined) {
      const all = { ...last, prefix: log.entries.length };
      await sh("cmp", [await builder.make(all), image]);
    }
  });

  it("every flush point and sampled reordering of a Btrfs session mounts and checks clean", async () => {
    requireRoot();
    requireTools("qemu-storage-daemon", "mkfs.btrfs", "btrfs");
    scratch = await Scratch.create("lifeboat-wlog-");
    const s = scratch;
    const { base, logFile } = await recordBtrfsSession(s);
    const log = await readWriteLog(logFile);
    const samples = Number(process.env.LIFEBOAT_CRASH_SAMPLES ?? 3);
    const states = planCrashStates(log, { samplesPerEpoch: samples, seed: 22 });
    // Seeded: the same plan again; another seed samples other subsets.
    expect(planCrashStates(log, { samplesPerEpoch: samples, seed: 22 })).toEqual(states);
    const sampled = states.filter((x) => x.kind === "sampled");
    expect(sampled.length).toBeGreaterThan(0);
    expect(
      planCrashStates(log, { samplesPerEpoch: samples, seed: 23 })
        .filter((x) => x.kind === "sampled")
        .map((x) => x.extra.join(",")),
    ).not.toEqual(sampled.map((x) => x.extra.join(",")));
    for (const st of sampled) {
      expect(st.extra.length).toBeGreaterThan(0);
      expect(st.extra.every((i) => i >= st.prefix)).toBe(true);
    }

    const work = await createBtrfs(s, { bytes: 1024 ** 3, name: "work.img" });
    const builder = await CrashStateBuilder.create(base, log, work.mountpoint);
    s.defer(() => builder.close());
    const failures: string[] = [];
    let lastFsynced = -1;
    for (const st of states) {
      const img = await builder.make(st);
      const check = await sh("btrfs", ["check", "--readonly", img]).then(
        () => "",
        (e: Error) => e.message.slice(0, 400),
      );
      if (check !== "") {
        failures.push(`${st.id}: btrfs check: ${check}`);
        continue;
      }
      const dev = (await sh("losetup", ["--find", "--show", img])).trim();
      const mnt = s.path(`mnt-${st.index}`);
      try {
        await sh("mkdir", ["-p", mnt]);
        await sh("mount", ["-t", "btrfs", dev, mnt]);
        try {
          // Files fsynced before this flush point are whole (a later state never loses one).
          const found = await sh("ls", [mnt]);
          const whole = [0, 1, 2].filter((i) => found.includes(`file-${i}`));
          for (const i of whole) {
            const text = await readFile(path.join(mnt, `file-${i}`), "utf8");
            if (text !== `content ${i}\n`.repeat(2000 * (i + 1)))
              failures.push(`${st.id}: file-${i} is torn`);
          }
          if (st.kind !== "sampled") {
            const top = whole.length - 1;
            if (top < lastFsynced) failures.push(`${st.id}: file-${lastFsynced} vanished`);
            lastFsynced = Math.max(lastFsynced, top);
          }
        } finally {
          await unmount(mnt);
        }
      } catch (e) {
        failures.push(`${st.id}: mount: ${(e as Error).message.slice(0, 300)}`);
      } finally {
        await sh("losetup", ["-d", dev]);
      }
    }
    const flushPoints = states.filter((x) => x.kind !== "sampled").length;
    console.log(
      `btrfs session: ${states.length} crash states (${flushPoints} flush points + ${sampled.length} sampled), ${states.length - failures.length} passed`,
    );
    expect(failures).toEqual([]);
    expect(lastFsynced).toBe(2);
  });
});
