import { realpath, stat } from "node:fs/promises";
import path from "node:path";

/**
 * The kernel's name of a block device node (`dm-0`, `nvme0n1p3`), from its
 * device number: `/dev/mapper/luks-…` is a symlink to `../dm-0` where udev
 * runs, but a node of its own in an initramfs without udev (libdevmapper
 * makes it), so names alone do not say two paths are one device.
 */
export async function kernelDeviceName(device: string): Promise<string> {
  try {
    const { rdev } = await stat(device);
    if (rdev !== 0) {
      const major = Math.floor(rdev / 256) & 0xfff;
      const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
      return path.basename(await realpath(`/sys/dev/block/${major}:${minor}`));
    }
  } catch {
    // Not a device node here (or no sysfs): fall back to its name.
  }
  return path.basename(await realpath(device).catch(() => device));
}
