import { createHash } from "node:crypto";
import { open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import {
  attachLoop,
  createImageFile,
  mountTemp,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  unmount,
} from "@lifeboat/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildReuuidHelper, reissueUuids } from "../src/index.js";
import { parseReuuidOutput } from "../src/reuuid.js";

const runner = createExecaRunner();
const MiB = 1024 * 1024;
let scratch: Scratch;

beforeAll(async () => {
  requireRoot();
  requireTools("btrfs", "mkfs.btrfs", "blkid", "cc", "losetup", "fallocate");
  (await buildReuuidHelper(runner))._unsafeUnwrap();
}, 120_000);
afterEach(async () => {
  await scratch?.cleanup();
});
afterAll(async () => {
  await scratch?.cleanup();
});

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  const fh = await open(file, "r");
  try {
    for await (const chunk of fh.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return hash.digest("hex");
}

async function uuidSub(device: string): Promise<string> {
  const out = await sh("blkid", ["-p", "-o", "value", "-s", "UUID_SUB", device]);
  return out.trim();
}

interface Listed {
  id: number;
  parent: string | undefined;
  received: string | undefined;
  uuid: string;
  path: string;
}

async function list(top: string): Promise<Listed[]> {
  const out = await sh("btrfs", ["subvolume", "list", "-u", "-q", "-R", top]);
  return out
    .trim()
    .split("\n")
    .map((l) => {
      const m = /^ID (\d+) .*parent_uuid (\S+)\s+received_uuid (\S+)\s+uuid (\S+) path (.+)$/.exec(
        l,
      );
      if (!m) throw new Error(`unparsed: ${l}`);
      const dash = (s: string | undefined) => (s === "-" ? undefined : s);
      return {
        id: Number(m[1]),
        parent: dash(m[2]),
        received: dash(m[3]),
        uuid: m[4]!,
        path: m[5]!,
      };
    });
}

async function treeDigest(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
  const hash = createHash("sha256");
  for (const rel of files) {
    hash.update(`${rel}\0${(await stat(path.join(dir, rel))).mode}\0`);
    hash.update(await readFile(path.join(dir, rel)));
  }
  return hash.digest("hex");
}

/** The UUIDs the UUID tree is keyed by (`dump-tree -t uuid`), as text. */
async function uuidTreeKeys(device: string): Promise<string[]> {
  const out = await sh("btrfs", ["inspect-internal", "dump-tree", "-t", "uuid", device]);
  const hex = (v: string) => Buffer.from(BigInt(v).toString(16).padStart(16, "0"), "hex").reverse();
  return [...out.matchAll(/key \((0x[0-9a-f]+) UUID_KEY_\w+ (0x[0-9a-f]+)\)/g)].map((m) => {
    const b = Buffer.concat([hex(m[1]!), hex(m[2]!)]).toString("hex");
    return `${b.slice(0, 8)}-${b.slice(8, 12)}-${b.slice(12, 16)}-${b.slice(16, 20)}-${b.slice(20)}`;
  });
}

async function btrfsCheck(device: string): Promise<string> {
  // btrfs check prints its verdict on stderr and exits non-zero on any error.
  const r = await runner.run("btrfs", ["check", "--readonly", device]);
  if (r.isErr()) throw new Error(`btrfs check failed: ${JSON.stringify(r.error)}`);
  return r.value.stdout + r.value.stderr;
}

describe("reissueUuids", () => {
  it("gives a Btrfs a new device UUID and new subvolume UUIDs; the filesystem stays sound", async () => {
    scratch = await Scratch.create("lifeboat-reuuid-");
    const image = await createImageFile(scratch, "fs.img", 512 * MiB);
    const device = await attachLoop(scratch, image);
    await sh("mkfs.btrfs", ["-q", "-f", "-m", "dup", device]);
    let top = await mountTemp(scratch, device);
    for (const s of ["root", "home", "recv"])
      await sh("btrfs", ["subvolume", "create", path.join(top, s)]);
    await sh("cp", ["-a", "/usr/share/doc/btrfs-progs", path.join(top, "root/doc")]);
    await writeFile(path.join(top, "home/photo"), createHash("sha512").update("x").digest());
    await sh("btrfs", [
      "subvolume",
      "snapshot",
      "-r",
      path.join(top, "root"),
      path.join(top, "root-snap"),
    ]);
    const stream = await runner.runBytes("btrfs", ["send", "-q", path.join(top, "root-snap")]);
    await sh("btrfs", ["receive", "-q", path.join(top, "recv")], {
      stdin: stream._unsafeUnwrap().stdout,
    });
    const before = await list(top);
    const digests = {
      root: await treeDigest(path.join(top, "root")),
      home: await treeDigest(path.join(top, "home")),
    };
    await unmount(top);
    const oldSub = await uuidSub(device);
    const oldUuids = new Set([...before.map((s) => s.uuid), oldSub]);

    // A dry run reports and writes nothing.
    const sum = await sha256(device);
    const dry = (await reissueUuids(runner, device, { dryRun: true }))._unsafeUnwrap();
    expect(dry.dryRun).toBe(true);
    expect(dry.device.from).toBe(oldSub);
    expect(await sha256(device)).toBe(sum);

    const r = (await reissueUuids(runner, device))._unsafeUnwrap();
    expect(r.device).toMatchObject({ id: 1, from: oldSub });
    expect(await uuidSub(device)).toBe(r.device.to);
    const map = new Map(r.subvolumes.map((s) => [s.from, s.to]));
    for (const s of before) expect(map.get(s.uuid)).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.parents).toHaveLength(1);
    expect(r.received).toHaveLength(1);
    expect(await btrfsCheck(device)).toContain("no error found");

    top = await mountTemp(scratch, device);
    const after = await list(top);
    expect(after.map((s) => [s.id, s.path])).toEqual(before.map((s) => [s.id, s.path]));
    for (const s of after) {
      const old = before.find((b) => b.id === s.id)!;
      expect(s.uuid).toBe(map.get(old.uuid));
      expect(oldUuids.has(s.uuid)).toBe(false);
    }
    const byPath = (p: string) => after.find((s) => s.path === p)!;
    expect(byPath("root-snap").parent).toBe(byPath("root").uuid);
    expect(byPath("recv/root-snap").received).toBe(byPath("root-snap").uuid);
    expect(await sh("btrfs", ["subvolume", "show", path.join(top, "root-snap")])).toContain(
      byPath("root-snap").uuid,
    );
    expect(await treeDigest(path.join(top, "root"))).toBe(digests.root);
    expect(await treeDigest(path.join(top, "home"))).toBe(digests.home);
    expect(await treeDigest(path.join(top, "recv/root-snap"))).toBe(digests.root);
    // The filesystem keeps working: a new snapshot, a deletion, a clean scrub.
    await sh("btrfs", ["subvolume", "snapshot", path.join(top, "root"), path.join(top, "root-2")]);
    await sh("btrfs", ["subvolume", "delete", "-c", path.join(top, "home")]);
    expect((await list(top)).find((s) => s.path === "root-2")?.parent).toBe(byPath("root").uuid);
    const scrub = await sh("btrfs", ["scrub", "start", "-B", top]);
    expect(scrub).toMatch(/no errors found/);
    await unmount(top);
    // The kernel checked the UUID tree on that read-write mount: only new UUIDs are keyed.
    const keys = await uuidTreeKeys(device);
    expect(keys.length).toBeGreaterThanOrEqual(after.length);
    for (const k of keys) expect(oldUuids.has(k)).toBe(false);
    expect(keys).toContain(byPath("root-snap").uuid);
    expect(await btrfsCheck(device)).toContain("no error found");
  }, 120_000);

  it("refuses a mounted device, a damaged superblock and a torn earlier run, changing nothing", async () => {
    scratch = await Scratch.create("lifeboat-reuuid-refuse-");
    const image = await createImageFile(scratch, "fs.img", 256 * MiB);
    const device = await attachLoop(scratch, image);
    await sh("mkfs.btrfs", ["-q", "-f", device]);
    const top = await mountTemp(scratch, device, { options: "ro" });
    let sum = await sha256(device);
    const mounted = await reissueUuids(runner, device);
    expect(mounted._unsafeUnwrapErr()).toMatchObject({
      code: "BTRFS_REUUID_REFUSED",
      reason: "busy",
      device,
    });
    expect(await sha256(device)).toBe(sum);
    await unmount(top);
    // The image file behind an attached loop device is refused as well.
    expect((await reissueUuids(runner, image))._unsafeUnwrapErr()).toMatchObject({
      code: "BTRFS_REUUID_REFUSED",
      reason: "busy",
    });

    // A torn earlier run: tree blocks carry the new device UUID, the superblock the old.
    const primary = Buffer.alloc(4096);
    const fh = await open(image, "r+");
    try {
      await fh.read(primary, 0, 4096, 65536);
      (await reissueUuids(runner, device))._unsafeUnwrap();
      await fh.write(primary, 0, 4096, 65536);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await sh("blockdev", ["--flushbufs", device]);
    sum = await sha256(device);
    expect((await reissueUuids(runner, device))._unsafeUnwrapErr()).toMatchObject({
      code: "BTRFS_REUUID_REFUSED",
      reason: "inconsistent",
    });
    expect(await sha256(device)).toBe(sum);

    // One flipped byte in the primary superblock's label: its checksum no longer matches.
    const label = Buffer.from([primary[0x12b]! ^ 0xff]);
    const fh2 = await open(image, "r+");
    await fh2.write(label, 0, 1, 65536 + 0x12b);
    await fh2.close();
    await sh("blockdev", ["--flushbufs", device]);
    sum = await sha256(device);
    const bad = (await reissueUuids(runner, device))._unsafeUnwrapErr();
    expect(bad).toMatchObject({ code: "BTRFS_REUUID_REFUSED", reason: "not-btrfs" });
    expect(bad.message).toContain("superblock checksum mismatch");
    expect(await sha256(device)).toBe(sum);

    // Another checksum type is refused as unsupported; a device without a Btrfs as not-btrfs.
    const other = await attachLoop(scratch, await createImageFile(scratch, "xx.img", 128 * MiB));
    await sh("mkfs.btrfs", ["-q", "-f", "--csum", "xxhash", other]);
    sum = await sha256(other);
    expect((await reissueUuids(runner, other))._unsafeUnwrapErr()).toMatchObject({
      code: "BTRFS_REUUID_REFUSED",
      reason: "unsupported",
      detail: expect.stringContaining("only crc32c"),
    });
    expect(await sha256(other)).toBe(sum);
    const blank = await attachLoop(scratch, await createImageFile(scratch, "blank.img", 8 * MiB));
    expect((await reissueUuids(runner, blank))._unsafeUnwrapErr()).toMatchObject({
      code: "BTRFS_REUUID_REFUSED",
      reason: "not-btrfs",
    });
  }, 120_000);

  it("works on a filesystem with a metadata_uuid (btrfstune -m) and again on its own result", async () => {
    scratch = await Scratch.create("lifeboat-reuuid-meta-");
    const device = await attachLoop(scratch, await createImageFile(scratch, "m.img", 256 * MiB));
    await sh("mkfs.btrfs", ["-q", "-f", device]);
    await sh("btrfstune", ["-m", device]);
    expect(await sh("btrfs", ["inspect-internal", "dump-super", device])).toMatch(
      /incompat_flags\s+0x[0-9a-f]+[\s\S]*METADATA_UUID/,
    );
    const first = (await reissueUuids(runner, device))._unsafeUnwrap();
    const second = (await reissueUuids(runner, device))._unsafeUnwrap();
    expect(second.device.from).toBe(first.device.to);
    expect(second.subvolumes.map((s) => s.from)).toEqual(first.subvolumes.map((s) => s.to));
    expect(await uuidSub(device)).toBe(second.device.to);
    expect(await btrfsCheck(device)).toContain("no error found");
    const top = await mountTemp(scratch, device);
    await sh("btrfs", ["subvolume", "create", path.join(top, "after")]);
    await unmount(top);
    expect(await btrfsCheck(device)).toContain("no error found");
  }, 60_000);

  it("reads a root tree block from its good DUP copy and heals the bad one; refuses when both are bad", async () => {
    scratch = await Scratch.create("lifeboat-reuuid-dup-");
    const image = await createImageFile(scratch, "d.img", 256 * MiB);
    const device = await attachLoop(scratch, image);
    await sh("mkfs.btrfs", ["-q", "-f", "-m", "dup", device]);
    const root = /^root\s+(\d+)$/m.exec(
      await sh("btrfs", ["inspect-internal", "dump-super", device]),
    )![1]!;
    const copies = [
      ...(await sh("btrfs-map-logical", ["-l", root, device])).matchAll(/physical (\d+)/g),
    ].map((m) => Number(m[1]));
    expect(copies).toHaveLength(2);
    const smash = async (at: number) => {
      const fh = await open(image, "r+");
      await fh.write(Buffer.from("not a tree block"), 0, 16, at + 0x100);
      await fh.close();
      await sh("blockdev", ["--flushbufs", device]);
    };
    await smash(copies[0]!);
    (await reissueUuids(runner, device))._unsafeUnwrap();
    expect(await btrfsCheck(device)).toContain("no error found");
    const fh = await open(image, "r");
    const a = Buffer.alloc(4096);
    const b = Buffer.alloc(4096);
    await fh.read(a, 0, 4096, copies[0]!);
    await fh.read(b, 0, 4096, copies[1]!);
    await fh.close();
    expect(a.equals(b)).toBe(true);
    await smash(copies[0]!);
    await smash(copies[1]!);
    const sum = await sha256(device);
    expect((await reissueUuids(runner, device))._unsafeUnwrapErr()).toMatchObject({
      code: "BTRFS_REUUID_REFUSED",
      reason: "inconsistent",
      detail: expect.stringContaining(`tree block ${root}`),
    });
    expect(await sha256(device)).toBe(sum);
  }, 60_000);

  it("handles multi-level chunk and root trees (64 snapshots at nodesize 4 KiB, 2000 files, 48 GiB of chunks)", async () => {
    scratch = await Scratch.create("lifeboat-reuuid-big-");
    const image = await createImageFile(scratch, "big.img", 64 * 1024 * MiB);
    const device = await attachLoop(scratch, image);
    await sh("mkfs.btrfs", ["-q", "-f", "-n", "4096", "-m", "dup", device]);
    const top = await mountTemp(scratch, device);
    await sh("btrfs", ["subvolume", "create", path.join(top, "root")]);
    for (let i = 0; i < 20; i++) {
      const dir = path.join(top, "root", String(i));
      await sh("mkdir", [dir]);
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => writeFile(path.join(dir, String(j)), `${i} ${j}\n`)),
      );
    }
    // Preallocated 1 GiB data chunks: many CHUNK_ITEMs without writing data.
    await sh("fallocate", ["-l", "48G", path.join(top, "big")]);
    for (let i = 0; i < 64; i++)
      await sh("btrfs", [
        "subvolume",
        "snapshot",
        "-r",
        path.join(top, "root"),
        path.join(top, `s${i}`),
      ]);
    const digest = await treeDigest(path.join(top, "root"));
    await unmount(top);
    const level = async (tree: string) =>
      Number(
        /level (\d+)/.exec(
          await sh("btrfs", ["inspect-internal", "dump-tree", "-t", tree, device]),
        )?.[1],
      );
    expect(await level("root")).toBeGreaterThanOrEqual(1);
    expect(await level("chunk")).toBeGreaterThanOrEqual(1);

    const r = (await reissueUuids(runner, device))._unsafeUnwrap();
    expect(r.subvolumes.length).toBeGreaterThanOrEqual(65);
    expect(r.parents).toHaveLength(64);
    expect(new Set(r.parents.map((p) => p.to)).size).toBe(1);
    expect(await btrfsCheck(device)).toContain("no error found");
    const top2 = await mountTemp(scratch, device, { options: "ro" });
    const after = await list(top2);
    const root = after.find((s) => s.path === "root")!;
    expect(after.filter((s) => s.parent === root.uuid)).toHaveLength(64);
    expect(await treeDigest(path.join(top2, "s63"))).toBe(digest);
  }, 180_000);
});

describe("parseReuuidOutput", () => {
  it("reads the helper's lines and marks parents that are not on the filesystem as dangling", () => {
    const u = (n: number) => `${String(n).repeat(8)}-0000-4000-8000-000000000000`;
    const out = [
      `subvolume 256 ${u(1)} ${u(2)}`,
      `parent 257 ${u(1)} ${u(2)}`,
      `parent 258 ${u(7)} ${u(8)}`,
      `received 259 ${u(1)} ${u(2)}`,
      `device 1 ${u(3)} ${u(4)}`,
      "",
    ].join("\n");
    expect(parseReuuidOutput(out, false)._unsafeUnwrap()).toEqual({
      device: { id: 1, from: u(3), to: u(4) },
      subvolumes: [{ id: 256, from: u(1), to: u(2) }],
      parents: [
        { id: 257, from: u(1), to: u(2), dangling: false },
        { id: 258, from: u(7), to: u(8), dangling: true },
      ],
      received: [{ id: 259, from: u(1), to: u(2) }],
      dryRun: false,
    });
    expect(parseReuuidOutput("garbage\n", true)._unsafeUnwrapErr()).toMatchObject({
      code: "PARSE_FAILED",
      issues: ['unexpected line: "garbage"', "no device line"],
    });
  });
});
