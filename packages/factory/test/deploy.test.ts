import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import {
  attachLoop,
  createImageFile,
  mountTemp,
  partitionsOf,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  unmount,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployImage, makeMachineUnique } from "../src/index.js";

const runner = createExecaRunner();
const MiB = 1024 * 1024;
let base: Scratch;
let scratch: Scratch;
let golden: string;

async function blkidOf(device: string): Promise<Record<string, string>> {
  const out = await sh("blkid", ["-p", "-o", "export", device]);
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => l.split("=", 2) as [string, string]),
  );
}

/** Attach every partition of `disk`; returns identifiers and a mount helper. */
async function identify(disk: string) {
  const table = JSON.parse(await sh("sfdisk", ["-J", disk])) as {
    partitiontable: { id: string; partitions: { uuid: string }[] };
  };
  const ids = [
    table.partitiontable.id.toLowerCase(),
    ...table.partitiontable.partitions.map((p) => p.uuid.toLowerCase()),
  ];
  const parts = await partitionsOf(disk);
  const devices: string[] = [];
  for (const p of parts)
    devices.push(
      await attachLoop(scratch, disk, { offset: p.offsetBytes, sizeLimit: p.sizeBytes }),
    );
  const internal: string[] = [];
  for (const d of devices) {
    const b = await blkidOf(d);
    if (b.UUID) ids.push(b.UUID.toLowerCase());
    if (b.TYPE === "btrfs") internal.push(b.UUID_SUB!.toLowerCase(), ...(await btrfsInternal(d)));
  }
  return { ids, devices, parts, internal };
}

/** A Btrfs's subvolume UUIDs, their parent/received references and the UUIDs its UUID tree is keyed by. */
async function btrfsInternal(device: string): Promise<string[]> {
  const mnt = await mountTemp(scratch, device, { options: "ro" });
  const listing = await sh("btrfs", ["subvolume", "list", "-a", "-u", "-q", "-R", mnt]);
  await unmount(mnt);
  const refs = [...listing.matchAll(/(?:uuid|parent_uuid|received_uuid) ([0-9a-f-]{36})/g)].map(
    (m) => m[1]!,
  );
  const tree = await sh("btrfs", ["inspect-internal", "dump-tree", "-t", "uuid", device]);
  const half = (v: string) =>
    Buffer.from(BigInt(v).toString(16).padStart(16, "0"), "hex").reverse();
  const keyed = [...tree.matchAll(/key \((0x[0-9a-f]+) UUID_KEY_\w+ (0x[0-9a-f]+)\)/g)].map((m) => {
    const h = Buffer.concat([half(m[1]!), half(m[2]!)]).toString("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  });
  return [...new Set([...refs, ...keyed])];
}

async function treeDigest(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
  const hash = createHash("sha256");
  for (const rel of files) {
    const st = await stat(path.join(dir, rel));
    hash.update(`${rel}\0${st.size}\0${st.mode}\0`);
    hash.update(await readFile(path.join(dir, rel)));
  }
  return hash.digest("hex");
}

beforeAll(async () => {
  requireRoot();
  requireTools(
    "sgdisk",
    "sfdisk",
    "mkfs.btrfs",
    "mkfs.ext4",
    "mformat",
    "mcopy",
    "mlabel",
    "btrfstune",
    "tune2fs",
    "blkid",
  );
  base = await Scratch.create("lifeboat-factory-golden-");
  scratch = await Scratch.create("lifeboat-factory-setup-");
  golden = await createImageFile(base, "golden.img", 512 * MiB);
  await sh("sgdisk", [
    "-o",
    "-n",
    "1:1M:+64M",
    "-t",
    "1:ef00",
    "-n",
    "2:0:+128M",
    "-t",
    "2:8300",
    "-n",
    "3:0:0",
    "-t",
    "3:8304",
    golden,
  ]);
  const parts = await partitionsOf(golden);
  const [esp, boot, root] = await Promise.all(
    parts.map((p) =>
      attachLoop(scratch, golden, { offset: p.offsetBytes, sizeLimit: p.sizeBytes }),
    ),
  );
  await sh("mkfs.vfat", ["-F", "32", esp!]);
  await sh("mkfs.ext4", ["-q", boot!]);
  await sh("mkfs.btrfs", ["-q", root!]);
  const bootUuid = (await blkidOf(boot!)).UUID!;
  const rootUuid = (await blkidOf(root!)).UUID!;
  const espUuid = (await blkidOf(esp!)).UUID!;
  // ESP: a stub grub.cfg naming /boot by UUID, as Fedora's EFI/fedora/grub.cfg does.
  const stub = scratch.path("grub.cfg");
  await writeFile(
    stub,
    `search --no-floppy --fs-uuid --set=dev ${bootUuid}\nset prefix=($dev)/grub2\nconfigfile $prefix/grub.cfg\n`,
  );
  await sh("mmd", ["-i", esp!, "::/EFI", "::/EFI/fedora"]);
  await sh("mcopy", ["-i", esp!, stub, "::/EFI/fedora/grub.cfg"]);
  const bootDir = await mountTemp(scratch, boot!);
  await mkdir(path.join(bootDir, "loader/entries"), { recursive: true });
  await writeFile(
    path.join(bootDir, "loader/entries/fedora.conf"),
    `title Fedora\nlinux /vmlinuz\noptions root=UUID=${rootUuid} rootflags=subvol=root ro\n`,
  );
  const top = await mountTemp(scratch, root!);
  await sh("btrfs", ["subvolume", "create", path.join(top, "root")]);
  await sh("btrfs", ["subvolume", "create", path.join(top, "home")]);
  await mkdir(path.join(top, "root/etc"), { recursive: true });
  await writeFile(
    path.join(top, "root/etc/fstab"),
    `UUID=${rootUuid} / btrfs subvol=root 0 0\nUUID=${bootUuid} /boot ext4 defaults 1 2\nUUID=${espUuid} /boot/efi vfat umask=0077 0 2\nUUID=${rootUuid} /home btrfs subvol=home 0 0\n`,
  );
  await writeFile(path.join(top, "root/etc/machine-id"), "0123456789abcdef0123456789abcdef\n");
  await sh("cp", ["-a", "/usr/share/doc", path.join(top, "root/doc")]);
  await writeFile(path.join(top, "home/photo.jpg"), createHash("sha512").update("family").digest());
  await mkdir(path.join(top, ".lifeboat/factory"), { recursive: true });
  await sh("btrfs", [
    "subvolume",
    "snapshot",
    "-r",
    path.join(top, "root"),
    path.join(top, ".lifeboat/factory/root"),
  ]);
  const factoryShow = await sh("btrfs", [
    "subvolume",
    "show",
    path.join(top, ".lifeboat/factory/root"),
  ]);
  const factorySnapshotUuid = /^\s*UUID:\s*([0-9a-f-]{36})/m.exec(factoryShow)![1];
  await writeFile(
    path.join(top, ".lifeboat/factory/manifest.json"),
    JSON.stringify({ filesystemUuid: rootUuid, bootUuid, snapshot: { uuid: factorySnapshotUuid } }),
  );
  await scratch.cleanup();
  scratch = await Scratch.create("lifeboat-factory-");
}, 300_000);

afterAll(async () => {
  await scratch?.cleanup();
  await base?.cleanup();
});

describe("deployImage", () => {
  it("writes, skips zero blocks on a fresh sparse target, and verifies by reading back", async () => {
    const target = scratch.path("copy.img");
    const events: number[] = [];
    const r = await deployImage(runner, {
      source: golden,
      target,
      onProgress: (e) => e.phase === "write" && events.push(e.bytesDone),
    });
    const s = r._unsafeUnwrap();
    expect(s.bytesTotal).toBe(512 * MiB);
    expect(s.bytesWritten + s.bytesSkipped).toBe(s.bytesTotal);
    expect(s.bytesSkipped).toBeGreaterThan(200 * MiB);
    expect(s.verified).toBe(true);
    expect(events.at(-1)).toBe(512 * MiB);
    const [a, b] = await Promise.all(
      [golden, target].map(async (f) => (await sh("sha256sum", [f])).split(" ")[0]),
    );
    expect(b).toBe(a);
    expect(s.sha256).toBe(a);
    // Sparse: the copy allocates about what was written, not the whole disk.
    expect((await stat(target)).blocks * 512).toBeLessThan(s.bytesWritten + 16 * MiB);
  });

  it("refuses a golden image whose digest is not the expected one", async () => {
    const r = await deployImage(runner, {
      source: golden,
      target: scratch.path("x.img"),
      expectedSha256: "0".repeat(64),
    });
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "FACTORY_VERIFY_FAILED",
      expectedSha256: "0".repeat(64),
    });
  });
});

describe("makeMachineUnique", () => {
  it("gives two deployments of one golden image no shared identifier and keeps their content", async () => {
    const goldenIds = await identify(golden);
    const copies: string[] = [];
    for (const name of ["unit-a.img", "unit-b.img"]) {
      const target = scratch.path(name);
      await sh("truncate", ["-s", String(768 * MiB), target]);
      (await deployImage(runner, { source: golden, target, targetZeroed: true }))._unsafeUnwrap();
      const summary = (await makeMachineUnique(runner, { disk: target }))._unsafeUnwrap();
      expect(summary.grownBytes).toBeGreaterThan(200 * MiB);
      expect(summary.kept).toEqual([]);
      expect(summary.ids.map((i) => i.what)).toEqual(
        expect.arrayContaining([
          "Btrfs device UUID (UUID_SUB) of partition 3",
          "UUID of subvolume 256 on partition 3",
          "UUID of subvolume 257 on partition 3",
          "UUID of subvolume 258 on partition 3",
        ]),
      );
      // The golden image's factory snapshot carried a machine-id too: both are emptied.
      expect([...summary.machineIdsCleared].sort()).toEqual([
        "3:.lifeboat/factory/root/etc/machine-id",
        "3:root/etc/machine-id",
      ]);
      expect(summary.patchedFiles).toEqual(
        expect.arrayContaining([
          "1:/EFI/fedora/grub.cfg",
          "2:loader/entries/fedora.conf",
          "3:root/etc/fstab",
          "3:.lifeboat/factory/root/etc/fstab",
          "3:.lifeboat/factory/manifest.json",
        ]),
      );
      copies.push(target);
    }
    const a = await identify(copies[0]!);
    const b = await identify(copies[1]!);
    expect(a.ids).toHaveLength(goldenIds.ids.length);
    for (const id of a.ids) {
      expect(goldenIds.ids).not.toContain(id);
      expect(b.ids).not.toContain(id);
    }
    // Nor any Btrfs-internal one: device UUID (UUID_SUB), subvolume UUIDs, parent
    // references, and the keys of the UUID tree (rebuilt by the kernel on the rw mount).
    expect(goldenIds.internal.length).toBeGreaterThanOrEqual(5);
    expect(a.internal.length).toBeGreaterThanOrEqual(goldenIds.internal.length);
    for (const id of a.internal) {
      expect(goldenIds.internal).not.toContain(id);
      expect(b.internal).not.toContain(id);
    }
    // The partition tables are sound, with the backup header at the new end.
    for (const disk of copies) {
      const v = await sh("sgdisk", ["-v", disk]);
      expect(v).toContain("No problems found");
    }
    // References follow the new identifiers; machine-id is empty; content is the golden content.
    const goldenTop = await mountTemp(scratch, goldenIds.devices[2]!, { options: "ro" });
    const top = await mountTemp(scratch, a.devices[2]!);
    const fstab = await readFile(path.join(top, "root/etc/fstab"), "utf8");
    const factoryFstab = await readFile(path.join(top, ".lifeboat/factory/root/etc/fstab"), "utf8");
    expect(factoryFstab).toBe(fstab);
    // The factory manifest names the factory snapshot by its new UUID.
    const manifest = JSON.parse(
      await readFile(path.join(top, ".lifeboat/factory/manifest.json"), "utf8"),
    ) as { snapshot: { uuid: string } };
    expect(
      await sh("btrfs", ["subvolume", "show", path.join(top, ".lifeboat/factory/root")]),
    ).toMatch(new RegExp(`^\\s*UUID:\\s*${manifest.snapshot.uuid}$`, "m"));
    expect(a.internal).toContain(manifest.snapshot.uuid);
    for (const id of a.ids.slice(-3)) expect(fstab.toLowerCase()).toContain(id);
    expect((await stat(path.join(top, "root/etc/machine-id"))).size).toBe(0);
    expect(
      await sh("btrfs", ["property", "get", path.join(top, ".lifeboat/factory/root"), "ro"]),
    ).toContain("ro=true");
    expect(await treeDigest(path.join(top, "home"))).toBe(
      await treeDigest(path.join(goldenTop, "home")),
    );
    expect(await treeDigest(path.join(top, "root/doc"))).toBe(
      await treeDigest(path.join(goldenTop, "root/doc")),
    );
    const usage = await sh("btrfs", ["filesystem", "usage", "-b", top]);
    const size = Number(/Device size:\s+(\d+)/.exec(usage)?.[1]);
    // Btrfs uses the grown partition whole, rounded down to its 4 KiB sector size.
    expect(size).toBe(Math.floor(Number(a.parts[2]!.sizeBytes) / 4096) * 4096);
    const bootDir = await mountTemp(scratch, a.devices[1]!);
    expect(await readFile(path.join(bootDir, "loader/entries/fedora.conf"), "utf8")).toContain(
      `root=UUID=${a.ids.at(-1)}`,
    );
    const esp = await sh("mtype", ["-i", a.devices[0]!, "::/EFI/fedora/grub.cfg"]);
    expect(esp).toContain(a.ids.at(-2));
  });
});
