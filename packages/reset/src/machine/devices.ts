import { access, readFile, realpath } from "node:fs/promises";
import path from "node:path";
import type { CommandRunner, MountinfoEntry } from "@lifeboat/core";

/** The filesystem type `blkid` sees on a device, if any. */
export async function blkidType(
  runner: CommandRunner,
  device: string,
): Promise<string | undefined> {
  const r = await runner.run("blkid", ["-p", "-o", "value", "-s", "TYPE", device], {
    okExitCodes: [0, 2],
  });
  return r.isOk() ? r.value.stdout.trim() || undefined : undefined;
}

/** The kernel's node of partition `n` of a whole-disk device (`/dev/sda3`, `/dev/nvme0n1p3`). */
export function partitionNode(disk: string, n: number): string {
  return `${disk}${/\d$/.test(disk) ? "p" : ""}${n}`;
}

/** Whether a path exists. */
export async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** The file behind a loop device (`/dev/loop3` → `/var/tmp/disk.img`), if it is one. */
export async function loopBackingFile(device: string): Promise<string | undefined> {
  const name = path.basename(device);
  if (!/^loop\d+$/.test(name)) return undefined;
  try {
    const file = (await readFile(`/sys/block/${name}/loop/backing_file`, "utf8")).trim();
    return file.replace(/ \(deleted\)$/, "") || undefined;
  } catch {
    return undefined;
  }
}

/** A loop device backed by a disk, as `losetup -J -j` lists it. */
export interface LoopOfDisk {
  readonly device: string;
  readonly offsetBytes: number;
  readonly sizeLimitBytes: number;
}

/** Every loop device whose backing file (or device) is `disk`. */
export async function loopsOf(runner: CommandRunner, disk: string): Promise<LoopOfDisk[]> {
  const r = await runner.run("losetup", ["-J", "-O", "NAME,OFFSET,SIZELIMIT", "-j", disk]);
  if (r.isErr() || r.value.stdout.trim() === "") return [];
  const doc = JSON.parse(r.value.stdout) as {
    loopdevices?: { name: string; offset: number | string; sizelimit: number | string }[];
  };
  return (doc.loopdevices ?? []).map((l) => ({
    device: l.name,
    offsetBytes: Number(l.offset),
    sizeLimitBytes: Number(l.sizelimit),
  }));
}

/**
 * Where a block device is mounted (mount sources naming it, or its real
 * path); with `writableOnly`, only where its filesystem is mounted writable.
 */
export async function mountsOfDevice(
  device: string,
  mounts: readonly MountinfoEntry[],
  options: { readonly writableOnly?: boolean } = {},
): Promise<string[]> {
  const names = new Set([device]);
  try {
    names.add(await realpath(device));
  } catch {
    // a device that is gone is mounted nowhere
  }
  return mounts
    .filter((m) => names.has(m.source))
    .filter((m) => !options.writableOnly || !m.superOptions.split(",").includes("ro"))
    .map((m) => m.mountPoint);
}
