/**
 * Preload a factory image, as an OEM image factory would:
 *
 *   1. lay out a Fedora-style GPT disk with a recovery partition (ESP, /boot,
 *      Lifeboat Recovery, Btrfs) with @lifeboat/gpt, and make the filesystems;
 *   2. install the system (here: a few real directories of this machine, an
 *      /etc, a kernel and BLS entries in /boot; yours: your image pipeline);
 *   3. provision: GRUB recovery entries, the read-only factory snapshot, and
 *      the signed recovery image installed on the recovery partition.
 *
 * Run: sudo pnpm exec tsx examples/preload-factory-image.ts disk.img keys/private.pem
 *
 * Works on a disk image (each partition attached as a loop device at its
 * offset, so the kernel need not scan partition tables) or on a real disk.
 */
import { cp, mkdir, mkdtemp, open, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { mountTopLevel } from "@lifeboat/btrfs";
import { type CommandRunner, createExecaRunner, formatError } from "@lifeboat/core";
import {
  attachPartition,
  type GptTable,
  planRecoveryPartition,
  readGpt,
  writeGpt,
} from "@lifeboat/gpt";
import { installImageSet, type PrivateKey, verifyImageSet } from "@lifeboat/image";
import { buildRecoveryImageSet, provision } from "@lifeboat/reset";

const MiB = 1024n * 1024n;

/** Turn a Result into a value, or throw its error formatted for people (fine in a script). */
export function unwrap<T>(r: { isOk(): boolean; value?: T; error?: unknown }): T {
  if (r.isOk()) return r.value as T;
  throw new Error(formatError(r.error as never));
}

async function run(runner: CommandRunner, cmd: string, args: string[]): Promise<string> {
  return unwrap(await runner.run(cmd, args)).stdout;
}

/** Partition devices of a disk opened by {@link attachDisk}. */
export interface AttachedDisk {
  readonly table: GptTable;
  readonly esp: string;
  readonly boot: string;
  readonly recovery: string;
  readonly btrfs: string;
  detach(): Promise<void>;
}

/** Attach the four partitions of a Fedora layout (slots 1-4) as loop devices. */
export async function attachDisk(runner: CommandRunner, image: string): Promise<AttachedDisk> {
  const table = unwrap(await readGpt(runner, image));
  const devices: string[] = [];
  const detachers: (() => unknown)[] = [];
  for (const slot of [1, 2, 3, 4]) {
    const p = table.partitions.find((x) => x.slot === slot);
    if (!p) throw new Error(`partition ${slot} missing`);
    const att = unwrap(await attachPartition(runner, image, p));
    devices.push(att.device);
    detachers.push(async () => await att.detach());
  }
  const [esp, boot, recovery, btrfs] = devices as [string, string, string, string];
  return {
    table,
    esp,
    boot,
    recovery,
    btrfs,
    detach: async () => {
      for (const d of detachers.reverse()) await d();
    },
  };
}

/** Make a sparse disk image with the Fedora layout and a recovery partition, and its filesystems. */
export async function layOutDisk(
  runner: CommandRunner,
  image: string,
  options: { readonly diskMiB: number; readonly recoveryMiB: number },
): Promise<void> {
  const f = await open(image, "w");
  await f.truncate(options.diskMiB * 1024 * 1024);
  await f.close();
  const layout = unwrap(
    planRecoveryPartition({
      kind: "fresh",
      diskBytes: BigInt(options.diskMiB) * MiB,
      recoveryBytes: BigInt(options.recoveryMiB) * MiB,
      espBytes: 32n * MiB,
      bootBytes: 128n * MiB,
    }),
  );
  unwrap(await writeGpt(runner, image, layout.table));
  const disk = await attachDisk(runner, image);
  try {
    await run(runner, "mkfs.vfat", ["-F", "32", "-n", "EFI", disk.esp]);
    await run(runner, "mkfs.ext4", ["-q", "-L", "boot", disk.boot]);
    await run(runner, "mkfs.ext4", ["-q", "-L", "lifeboat-rec", disk.recovery]);
    await run(runner, "mkfs.btrfs", ["-q", "-f", "-L", "fedora", disk.btrfs]);
  } finally {
    await disk.detach();
  }
}

/** Mount a device on a fresh temporary directory; returns it and its unmount. */
export async function mountDevice(runner: CommandRunner, device: string, type: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "lifeboat-example-"));
  await run(runner, "mount", ["-t", type, device, dir]);
  return {
    dir,
    unmount: async () => {
      await run(runner, "umount", [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What goes into the system: real directories copied into root, and the kernel version. */
export interface SystemContent {
  /** Absolute directories of this machine copied to the same place in root. */
  readonly sources: readonly string[];
  readonly kernelVersion: string;
}

/** Install a Fedora-shaped system: subvolumes root and home, a tree in root, a kernel and BLS entries in /boot. */
export async function installSystem(
  runner: CommandRunner,
  image: string,
  content: SystemContent,
): Promise<void> {
  const disk = await attachDisk(runner, image);
  try {
    const top = unwrap(await mountTopLevel(runner, disk.btrfs));
    const boot = await mountDevice(runner, disk.boot, "ext4");
    try {
      const root = path.join(top.path, "root");
      await run(runner, "btrfs", ["subvolume", "create", root]);
      await run(runner, "btrfs", ["subvolume", "create", path.join(top.path, "home")]);
      for (const src of content.sources) {
        await mkdir(path.join(root, path.dirname(src)), { recursive: true });
        await run(runner, "cp", ["-a", src, path.join(root, src)]);
      }
      const kver = content.kernelVersion;
      const etc = path.join(root, "etc");
      await mkdir(path.join(etc, "ssh"), { recursive: true });
      await writeFile(path.join(etc, "hostname"), "contoso\n");
      await writeFile(path.join(etc, "machine-id"), "0123456789abcdef0123456789abcdef\n");
      await writeFile(
        path.join(etc, "fstab"),
        "LABEL=fedora / btrfs subvol=root 0 0\nLABEL=fedora /home btrfs subvol=home 0 0\nLABEL=boot /boot ext4 defaults 1 2\n",
      );
      await writeFile(path.join(etc, "os-release"), 'NAME="Fedora Linux"\nVERSION_ID=40\n');
      await writeFile(path.join(etc, "ssh/sshd_config"), "PermitRootLogin no\n");
      await mkdir(path.join(etc, "grub.d"), { recursive: true });
      await mkdir(path.join(root, "var/lib"), { recursive: true });
      await mkdir(path.join(root, `usr/lib/modules/${kver}`), { recursive: true });
      await writeFile(path.join(root, `usr/lib/modules/${kver}/modules.dep`), "");
      // /boot: a real kernel file from this machine, an initramfs, a BLS entry
      const hostKernel = (await readdir("/boot")).find((n) => n.startsWith("vmlinuz-"));
      if (hostKernel)
        await cp(path.join("/boot", hostKernel), path.join(boot.dir, `vmlinuz-${kver}`));
      else await writeFile(path.join(boot.dir, `vmlinuz-${kver}`), "kernel");
      await writeFile(
        path.join(boot.dir, `initramfs-${kver}.img`),
        Buffer.alloc(2 * 1024 * 1024, 7),
      );
      await mkdir(path.join(boot.dir, "loader/entries"), { recursive: true });
      await writeFile(
        path.join(boot.dir, `loader/entries/0123456789abcdef-${kver}.conf`),
        `title Fedora Linux (${kver}) 40\nversion ${kver}\nlinux /vmlinuz-${kver}\ninitrd /initramfs-${kver}.img\noptions root=LABEL=fedora ro rootflags=subvol=root\n`,
      );
    } finally {
      await boot.unmount();
      unwrap(await top.unmount());
    }
  } finally {
    await disk.detach();
  }
}

/** Provision with the library: factory snapshot, signed recovery image on the recovery partition. */
export async function provisionDisk(
  runner: CommandRunner,
  image: string,
  options: { readonly product: string; readonly build: string; readonly key: PrivateKey },
): Promise<{ readonly snapshotUuid: string; readonly setId: string }> {
  const disk = await attachDisk(runner, image);
  const work = await mkdtemp(path.join(os.tmpdir(), "lifeboat-example-set-"));
  try {
    const top = unwrap(await mountTopLevel(runner, disk.btrfs));
    const boot = await mountDevice(runner, disk.boot, "ext4");
    const recovery = await mountDevice(runner, disk.recovery, "ext4");
    try {
      const manifest = unwrap(
        await provision(runner, {
          top: top.path,
          boot: boot.dir,
          product: options.product,
          build: options.build,
        }),
      );
      unwrap(
        await buildRecoveryImageSet(runner, {
          top: top.path,
          dir: work,
          key: options.key,
          sourceDateEpoch: 1767225600,
        }),
      );
      const set = unwrap(await verifyImageSet(work, { trustedKeys: [options.key.publicKey] }));
      const installed = unwrap(await installImageSet(set, recovery.dir));
      return { snapshotUuid: manifest.snapshot.uuid, setId: installed.setId };
    } finally {
      await recovery.unmount();
      await boot.unmount();
      unwrap(await top.unmount());
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    await disk.detach();
  }
}

async function main(): Promise<void> {
  const [image, keyFile] = process.argv.slice(2);
  if (!image || !keyFile) {
    console.error("usage: preload-factory-image.ts <disk.img> <private.pem>");
    process.exit(2);
  }
  const { loadPrivateKey } = await import("@lifeboat/image");
  const { readFile } = await import("node:fs/promises");
  const runner = createExecaRunner();
  const key = unwrap(loadPrivateKey(await readFile(keyFile)));
  await layOutDisk(runner, image, { diskMiB: 1024, recoveryMiB: 256 });
  await installSystem(runner, image, {
    sources: ["/usr/share/zoneinfo"],
    kernelVersion: "6.8.5-301.fc40.x86_64",
  });
  const done = await provisionDisk(runner, image, {
    product: "Contoso Laptop 14",
    build: "F40-2026.11",
    key,
  });
  console.log(
    `provisioned ${image}: factory snapshot ${done.snapshotUuid}, recovery image ${done.setId}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
