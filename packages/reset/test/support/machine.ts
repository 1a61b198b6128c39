/**
 * A Fedora-shaped laptop on a disk image: GPT with ESP, /boot (ext4),
 * Windows (MSR + data), Btrfs (root, home) and a recovery partition (ext4
 * holding the signed image set). Built once as a golden image, then cloned
 * per case. Each partition is its own loop device (this kernel does not scan
 * partition tables).
 */
import { randomBytes } from "node:crypto";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { generateKeyPair, type PublicKey } from "@lifeboat/image";
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
import {
  buildRecoveryImageSet,
  type ExplicitDisk,
  openRecoveryImageSet,
  provision,
  type RecoveryImageAccess,
} from "../../src/index.js";
import { listTree, type TreeEntry } from "./tree.js";

export const runner = createExecaRunner();
export const KVER = "6.8.5-301.fc40.x86_64";
export const PRODUCT = "Contoso Laptop 14";
export const BUILD = "F40-2026.11";
const MiB = 1024 * 1024;

/** Which real files from this machine go into root. */
export type TreeSize = "small" | "large";
const SOURCES: Record<TreeSize, string[]> = {
  small: ["/usr/share/perl"],
  large: ["/usr/share/perl", "/usr/lib/python3.11", "/usr/share/doc"],
};

export interface Golden {
  readonly image: string;
  readonly publicKey: PublicKey;
}

const PARTS = [
  ["1", "+16M", "ef00", "esp"],
  ["2", "+96M", "8300", "boot"],
  ["3", "+16M", "0c01", "msr"],
  ["4", "+24M", "0700", "windows"],
  ["5", "+1100M", "8300", "btrfs"],
  ["6", "0", "d999c366-3126-4451-b3c1-be31e091158c", "recovery"],
] as const;

/** Build the golden image: partitioned, filled, provisioned, with a signed recovery image set. */
export async function buildGolden(scratch: Scratch, size: TreeSize): Promise<Golden> {
  const inner = await Scratch.create("lifeboat-reset-golden-");
  try {
    return await fillGolden(scratch, inner, size);
  } finally {
    await inner.cleanup();
  }
}

async function fillGolden(outer: Scratch, scratch: Scratch, size: TreeSize): Promise<Golden> {
  requireRoot();
  requireTools(
    "sgdisk",
    "mkfs.btrfs",
    "mkfs.ext4",
    "mksquashfs",
    "unsquashfs",
    "rsync",
    "cryptsetup",
  );
  const image = await createImageFile(
    outer,
    `golden-${size}.img`,
    (size === "large" ? 1800 : 1500) * MiB,
  );
  const args: string[] = ["-o"];
  for (const [n, len, type, name] of PARTS)
    args.push(`-n${n}:0:${len}`, `-t${n}:${type}`, `-c${n}:${name}`);
  await sh("sgdisk", [...args, image]);
  const m = await attach(scratch, image);
  await sh("mkfs.ext4", ["-q", "-L", "boot", m.devices.boot]);
  await sh("mkfs.btrfs", ["-q", "-f", "-L", "fedora", m.devices.btrfs]);
  await sh("mkfs.ext4", ["-q", "-L", "recovery", m.devices.recovery]);
  await sh("dd", ["if=/dev/urandom", `of=${m.devices.windows}`, "bs=1M", "count=8", "status=none"]);
  const top = await mountTemp(scratch, m.devices.btrfs, { type: "btrfs" });
  const boot = await mountTemp(scratch, m.devices.boot, { type: "ext4" });
  const rec = await mountTemp(scratch, m.devices.recovery, { type: "ext4" });
  await sh("btrfs", ["subvolume", "create", path.join(top, "root")]);
  await sh("btrfs", ["subvolume", "create", path.join(top, "home")]);
  const root = path.join(top, "root");
  for (const src of SOURCES[size]) {
    await mkdir(path.join(root, path.dirname(src)), { recursive: true });
    await sh("cp", ["-a", src, path.join(root, src)]);
  }
  await mkdir(path.join(root, "etc/ssh"), { recursive: true });
  await writeFile(path.join(root, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n");
  await writeFile(
    path.join(root, "etc/fstab"),
    "UUID=x / btrfs subvol=root 0 0\nUUID=x /home btrfs subvol=home 0 0\n",
  );
  await writeFile(path.join(root, "etc/hostname"), "contoso\n");
  await writeFile(path.join(root, "etc/ssh/sshd_config"), "PermitRootLogin no\n");
  await mkdir(path.join(root, `usr/lib/modules/${KVER}/kernel`), { recursive: true });
  await writeFile(path.join(root, `usr/lib/modules/${KVER}/kernel/fake.ko`), randomBytes(2 * MiB));
  await mkdir(path.join(root, "var/lib"), { recursive: true });
  // home: real files
  for (const user of ["alice", "bob"]) {
    await mkdir(path.join(top, "home", user, "Documents"), { recursive: true });
    await writeFile(path.join(top, "home", user, "Documents/notes.txt"), `notes of ${user}\n`);
    await writeFile(path.join(top, "home", user, "photo.raw"), randomBytes(4 * MiB));
  }
  await sh("cp", ["-a", "/usr/share/perl5", path.join(top, "home/alice/perl5-copy")]).catch(
    () => undefined,
  );
  // /boot: a real kernel file, an initramfs, BLS entries
  const hostKernel = (await sh("sh", ["-c", "ls /boot/vmlinuz-* | head -1"])).trim();
  await cp(hostKernel, path.join(boot, `vmlinuz-${KVER}`));
  await writeFile(path.join(boot, `initramfs-${KVER}.img`), randomBytes(6 * MiB));
  await writeFile(path.join(boot, `System.map-${KVER}`), randomBytes(MiB));
  await mkdir(path.join(boot, "loader/entries"), { recursive: true });
  await writeFile(
    path.join(boot, `loader/entries/0123456789abcdef-${KVER}.conf`),
    `title Fedora Linux (${KVER}) 40\nversion ${KVER}\nlinux /vmlinuz-${KVER}\ninitrd /initramfs-${KVER}.img\noptions root=UUID=x ro rootflags=subvol=root\n`,
  );
  await mkdir(path.join(boot, "grub2"), { recursive: true });
  await writeFile(path.join(boot, "grub2/grubenv"), "# GRUB Environment Block\n");
  // provision, twice (idempotent), and the recovery image set
  const first = await provision(runner, { top, boot, product: PRODUCT, build: BUILD });
  if (first.isErr()) throw new Error(JSON.stringify(first.error));
  const again = await provision(runner, { top, boot, product: PRODUCT, build: BUILD });
  if (again.isErr() || again.value.snapshot.uuid !== first.value.snapshot.uuid)
    throw new Error("provision is not idempotent");
  const keys = generateKeyPair();
  const built = await buildRecoveryImageSet(runner, {
    top,
    dir: path.join(rec, "set"),
    key: keys,
    sourceDateEpoch: 1767225600,
  });
  if (built.isErr()) throw new Error(JSON.stringify(built.error));
  return { image, publicKey: keys.publicKey };
}

export interface Devices {
  esp: string;
  boot: string;
  msr: string;
  windows: string;
  btrfs: string;
  recovery: string;
}

/** Attach each partition of an image as its own loop device. */
export async function attach(scratch: Scratch, image: string) {
  const parts = await partitionsOf(image);
  const devices: Record<string, string> = {};
  for (const [n, , , name] of PARTS) {
    const p = parts.find((x) => x.number === Number(n));
    if (!p) throw new Error(`partition ${n} missing`);
    devices[name] = await attachLoop(scratch, image, {
      offset: p.offsetBytes,
      sizeLimit: p.sizeBytes,
    });
  }
  const disk: ExplicitDisk = {
    device: image,
    partitions: PARTS.map(([n, , , name]) => ({ number: Number(n), device: devices[name]! })),
  };
  return {
    devices: devices as unknown as Devices,
    disk,
  };
}

/** One machine for a test case: a clone of the golden image, attached and mounted. */
export interface Machine {
  readonly image: string;
  readonly devices: Devices;
  readonly disk: ExplicitDisk;
  readonly top: string;
  readonly boot: string;
  readonly recoveryDir: string;
  readonly recovery: RecoveryImageAccess;
  readonly recoveryState: Awaited<ReturnType<typeof openRecoveryImageSet>> extends infer R
    ? R extends { value: { state: infer S } }
      ? S
      : never
    : never;
}

let counter = 0;

/** Clone the golden image and bring the machine up. */
export async function machine(scratch: Scratch, golden: Golden): Promise<Machine> {
  const image = scratch.path(`case-${process.pid}-${counter++}.img`);
  await sh("cp", ["--sparse=always", "--reflink=auto", golden.image, image]);
  scratch.defer(() => rm(image, { force: true }));
  const m = await attach(scratch, image);
  // Clones share the golden filesystem's UUID; two mounted at once would make the kernel give
  // one a temporary fsid. A new metadata UUID (superblock only) keeps every clone distinct.
  await sh("btrfstune", ["-f", "-m", m.devices.btrfs]);
  const top = await mountTemp(scratch, m.devices.btrfs, { type: "btrfs" });
  const boot = await mountTemp(scratch, m.devices.boot, { type: "ext4" });
  const rec = await mountTemp(scratch, m.devices.recovery, { type: "ext4" });
  const opened = await openRecoveryImageSet(runner, {
    dir: path.join(rec, "set"),
    trustedKeys: [golden.publicKey],
    device: m.devices.recovery,
  });
  if (opened.isErr()) throw new Error(JSON.stringify(opened.error));
  return {
    image,
    devices: m.devices,
    disk: m.disk,
    top,
    boot,
    recoveryDir: path.join(rec, "set"),
    recovery: opened.value.access,
    recoveryState: opened.value.state,
  };
}

/** Damage the installed system: delete /etc, replace /usr files, add junk. */
export async function damage(m: Machine): Promise<void> {
  const root = path.join(m.top, "root");
  await rm(path.join(root, "etc"), { recursive: true, force: true });
  await writeFile(path.join(root, "usr/share/perl/replaced.pm"), "junk\n");
  const victim = (
    await sh("sh", ["-c", `find ${root}/usr/share/perl -type f -name '*.pm' | head -3`])
  )
    .trim()
    .split("\n");
  for (const f of victim) await writeFile(f, "overwritten by a broken update\n");
  await mkdir(path.join(root, "opt/junk"), { recursive: true });
  await writeFile(path.join(root, "opt/junk/blob"), randomBytes(3 * MiB));
  // a kernel update the factory never had
  await writeFile(path.join(m.boot, "vmlinuz-6.9.0-junk"), randomBytes(MiB));
  await writeFile(
    path.join(m.boot, "loader/entries/0123456789abcdef-6.9.0-junk.conf"),
    "title junk\nlinux /vmlinuz-6.9.0-junk\n",
  );
}

/** Listing of a tree, compared as text lines "path type mode size sha". */
export async function listing(dir: string, exclude?: (rel: string) => boolean): Promise<string[]> {
  const entries: TreeEntry[] = await listTree(dir, exclude ? { exclude } : {});
  return entries.map((e) => `${e.path} ${e.type} ${e.mode.toString(8)} ${e.size} ${e.content}`);
}

/** The differences a reset makes on purpose in the new root. */
export const RESET_CHANGES = (rel: string) =>
  rel === "etc/machine-id" || rel.startsWith("var/lib/lifeboat");

/** Mount `subvol=root` afresh (what the next boot sees) and list it. */
export async function freshRootListing(
  scratch: Scratch,
  m: Machine,
  subvol = "root",
): Promise<string[]> {
  const mnt = await mountTemp(scratch, m.devices.btrfs, {
    type: "btrfs",
    options: `subvol=${subvol},ro`,
  });
  try {
    return await listing(mnt, RESET_CHANGES);
  } finally {
    await unmount(mnt);
  }
}

/** Read the reset marker of a mounted root, if any. */
export async function markerOf(dir: string): Promise<string | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, "var/lib/lifeboat/reset.json"), "utf8")).stamp;
  } catch {
    return undefined;
  }
}

/** SHA-256 of a block device's bytes. */
export async function deviceDigest(device: string): Promise<string> {
  return (await sh("sha256sum", [device])).split(" ")[0] ?? "";
}
