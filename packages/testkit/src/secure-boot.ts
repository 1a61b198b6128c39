/**
 * Secure Boot in QEMU (issue #21): OVMF's Secure Boot firmware with
 * Microsoft's keys enrolled, and an ESP turned into the distribution's signed
 * chain (Debian's Microsoft-signed shim, Debian-signed GRUB). The host cannot
 * mount vfat, so the ESP is edited in place with mtools at its byte offset.
 *
 * Test tooling: functions throw on failure.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { requireTools, sh } from "./index.js";

/** OVMF built with Secure Boot and SMM (Debian's `ovmf`, 4 MiB layout); needs `-machine q35,smm=on`. */
export const SECURE_BOOT_OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
/** Variables with Microsoft's KEK and db (UEFI CA 2011) enrolled and Secure Boot on. */
export const SECURE_BOOT_OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";
/** Debian's shim, signed by Microsoft's third-party UEFI CA (package `shim-signed`). */
export const SIGNED_SHIM = "/usr/lib/shim/shimx64.efi.signed";
/** Debian's GRUB, signed by Debian (package `grub-efi-amd64-signed`); its prefix is `EFI/debian`. */
export const SIGNED_GRUB = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";

/** QEMU arguments of a Secure Boot machine, besides the firmware drives (see `boot`'s `secureBoot`). */
export const SECURE_BOOT_QEMU_ARGS: readonly string[] = [
  "-global",
  "driver=cfi.pflash01,property=secure,value=on",
];

/** Options of {@link installSignedBootChain}. */
export interface SignedBootChainOptions {
  /** The disk image whose ESP is changed in place. */
  readonly image: string;
  /** Byte offset of the ESP (a FAT file system) inside `image`. */
  readonly espOffsetBytes: number | bigint;
  /** Filesystem UUID of `/boot`, which `EFI/debian/grub.cfg` searches for. */
  readonly bootUuid: string;
  /** GRUB's folder on `/boot` (default `grub2`, Fedora's; Debian's is `grub`). */
  readonly grubDir?: string;
  /** The GRUB to install (default Debian's signed one); e.g. a stripped copy for a negative test. */
  readonly grub?: string;
}

/** The `EFI/debian/grub.cfg` Debian's signed GRUB reads first: find /boot, load its grub.cfg. */
export function signedGrubStubConfig(bootUuid: string, grubDir = "grub2"): string {
  return [
    `search --no-floppy --fs-uuid --set=root ${bootUuid}`,
    `set prefix=($root)/${grubDir}`,
    "configfile $prefix/grub.cfg",
    "",
  ].join("\n");
}

/**
 * Make an image's ESP the distribution's signed boot chain, as a Debian
 * system with Secure Boot has it: `EFI/BOOT/BOOTX64.EFI` = the
 * Microsoft-signed shim, `EFI/BOOT/grubx64.efi` and `EFI/debian/grubx64.efi`
 * = the Debian-signed GRUB, `EFI/debian/grub.cfg` finding `/boot` by UUID.
 * What was on the ESP before (a self-built GRUB as `BOOTX64.EFI`) is replaced.
 *
 * @example
 * ```ts
 * await installSignedBootChain({
 *   image: fx.image,
 *   espOffsetBytes: fx.esp.offsetBytes,
 *   bootUuid: fx.boot.uuid,
 * });
 * const vm = await boot({ disks: [fx.image], secureBoot: true, timeoutMs: 600_000 });
 * ```
 */
export async function installSignedBootChain(options: SignedBootChainOptions): Promise<void> {
  requireTools("mcopy", "mmd");
  const where = `${options.image}@@${options.espOffsetBytes}`;
  const grub = options.grub ?? SIGNED_GRUB;
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-signed-esp-"));
  try {
    const cfg = path.join(dir, "grub.cfg");
    await writeFile(cfg, signedGrubStubConfig(options.bootUuid, options.grubDir));
    await sh("mmd", ["-D", "s", "-i", where, "::/EFI/debian"]).catch(() => undefined);
    await sh("mcopy", ["-o", "-i", where, SIGNED_SHIM, "::/EFI/BOOT/BOOTX64.EFI"]);
    await sh("mcopy", ["-o", "-i", where, grub, "::/EFI/BOOT/grubx64.efi"]);
    await sh("mcopy", ["-o", "-i", where, grub, "::/EFI/debian/grubx64.efi"]);
    await sh("mcopy", ["-o", "-i", where, cfg, "::/EFI/debian/grub.cfg"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Copy the ESP's files (all of them, recursively) out of an image into `dir` (mtools). */
export async function copyEspOut(
  image: string,
  espOffsetBytes: number | bigint,
  dir: string,
): Promise<void> {
  requireTools("mcopy");
  await sh("mcopy", ["-s", "-n", "-i", `${image}@@${espOffsetBytes}`, "::/EFI", dir]);
}

/** Replace one file on the ESP of an image (mtools), e.g. a GRUB with its signature stripped. */
export async function replaceEspFile(
  image: string,
  espOffsetBytes: number | bigint,
  target: string,
  source: string,
): Promise<void> {
  requireTools("mcopy");
  await sh("mcopy", ["-o", "-i", `${image}@@${espOffsetBytes}`, source, `::/${target}`]);
}
