/**
 * EFI System Partitions without mounting vfat (this kernel cannot): FAT
 * images made and filled with mtools, copied into a disk image at the
 * partition's byte offset; and a GRUB EFI binary from `grub-mkimage` with an
 * embedded early configuration.
 *
 * Test tooling: functions throw on failure.
 *
 * @module
 */
import { open, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { requireTools, sh } from "./index.js";

/** A file to put on a FAT image. */
export interface FatFile {
  /** Path inside the FAT filesystem, `/`-separated, e.g. `EFI/BOOT/BOOTX64.EFI`. */
  readonly target: string;
  /** A host file to copy, or the bytes/text to write. */
  readonly source: { readonly file: string } | { readonly bytes: Uint8Array | string };
}

/** Options for {@link makeFatImage}. */
export interface FatImageOptions {
  /** Output image file (created or replaced). */
  readonly output: string;
  readonly sizeBytes: number;
  /** Volume label (default `ESP`). */
  readonly label?: string;
  /** Volume serial, 8 hex digits; its `XXXX-XXXX` form is the filesystem UUID blkid and GRUB see. */
  readonly serial?: string;
  readonly files?: readonly FatFile[];
}

/** A FAT image and its filesystem UUID (`XXXX-XXXX`). */
export interface FatImage {
  readonly path: string;
  readonly uuid: string;
}

/**
 * Make a FAT32 image with `mformat` and fill it with `mmd`/`mcopy`.
 *
 * @example
 * ```ts
 * const esp = await makeFatImage({
 *   output: scratch.path("esp.img"),
 *   sizeBytes: 64 * 1024 ** 2,
 *   files: [{ target: "EFI/BOOT/BOOTX64.EFI", source: { file: grubEfi } }],
 * });
 * await writeAtOffset(disk, esp.path, espOffsetBytes);
 * ```
 */
export async function makeFatImage(options: FatImageOptions): Promise<FatImage> {
  requireTools("mformat", "mmd", "mcopy", "truncate");
  const serial = (options.serial ?? randomSerial()).toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(serial)) throw new Error(`FAT serial must be 8 hex digits: ${serial}`);
  await rm(options.output, { force: true });
  await sh("truncate", ["-s", String(options.sizeBytes), options.output]);
  const sectors = Math.floor(options.sizeBytes / 512);
  // -F FAT32; -T total sectors (the file's size, so mformat needs no geometry); -N serial.
  await sh("mformat", [
    "-i",
    options.output,
    "-F",
    "-T",
    String(sectors),
    "-h",
    "64",
    "-s",
    "32",
    "-N",
    serial,
    "-v",
    options.label ?? "ESP",
    "::",
  ]);
  const made = new Set<string>();
  const tmp = `${options.output}.file`;
  for (const f of options.files ?? []) {
    const parts = f.target.split("/").filter((p) => p.length > 0);
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (made.has(dir)) continue;
      made.add(dir);
      await sh("mmd", ["-D", "s", "-i", options.output, `::/${dir}`]).catch((e: Error) => {
        if (!/exists/i.test(e.message)) throw e;
      });
    }
    let source: string;
    if ("file" in f.source) source = f.source.file;
    else {
      await writeFile(tmp, f.source.bytes);
      source = tmp;
    }
    await sh("mcopy", ["-o", "-i", options.output, source, `::/${parts.join("/")}`]);
  }
  await rm(tmp, { force: true });
  return { path: options.output, uuid: `${serial.slice(0, 4)}-${serial.slice(4)}`.toUpperCase() };
}

/** Copy a file into another (a partition image into a disk image) at a byte offset, in place. */
export async function writeAtOffset(
  disk: string,
  part: string,
  offsetBytes: number | bigint,
): Promise<void> {
  const src = await open(part, "r");
  const dst = await open(disk, "r+");
  try {
    const size = (await src.stat()).size;
    const buffer = Buffer.alloc(4 * 1024 * 1024);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await src.read(buffer, 0, buffer.length, done);
      if (bytesRead === 0) break;
      // Skip all-zero blocks: the disk image is sparse and already zero there.
      const chunk = buffer.subarray(0, bytesRead);
      if (chunk.some((b) => b !== 0))
        await dst.write(chunk, 0, bytesRead, Number(offsetBytes) + done);
      done += bytesRead;
    }
  } finally {
    await src.close();
    await dst.close();
  }
}

/** Read the files of a FAT image back (`mcopy` out), e.g. to check what a tool wrote. */
export async function readFatFile(
  image: string,
  target: string,
  offsetBytes?: number | bigint,
): Promise<Buffer> {
  requireTools("mcopy");
  const where = offsetBytes === undefined ? image : `${image}@@${offsetBytes}`;
  const tmp = `${image}.${process.pid}.read`;
  try {
    await sh("mcopy", ["-o", "-i", where, `::/${target}`, tmp]);
    return await readFile(tmp);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** GRUB modules built into {@link makeGrubEfi}'s image by default (those Debian's grub-efi-amd64-bin has). */
export const DEFAULT_GRUB_MODULES: readonly string[] = [
  "part_gpt",
  "part_msdos",
  "fat",
  "ext2",
  "btrfs",
  "squash4",
  "loopback",
  "search",
  "search_fs_uuid",
  "search_fs_file",
  "search_label",
  "linux",
  "normal",
  "configfile",
  "echo",
  "test",
  "regexp",
  "serial",
  "terminal",
  "efi_gop",
  "all_video",
  "gzio",
  "xzio",
  "zstd",
  "lzopio",
  "loadenv",
  "ls",
  "cat",
  "sleep",
  "reboot",
  "halt",
  "chain",
  "true",
  "probe",
  "blscfg",
];

const GRUB_MODULE_DIR = "/usr/lib/grub/x86_64-efi";

/** Options for {@link makeGrubEfi}. */
export interface GrubEfiOptions {
  readonly output: string;
  /** The configuration embedded in the image and run first (`grub-mkimage -c`). */
  readonly earlyConfig: string;
  /** Modules to build in; those missing from this GRUB (Debian has no `blscfg`) are left out and reported. */
  readonly modules?: readonly string[];
  /** GRUB's `$prefix` (default `/EFI/BOOT`). */
  readonly prefix?: string;
}

/** A GRUB EFI image and the requested modules this GRUB does not have. */
export interface GrubEfi {
  readonly path: string;
  readonly missingModules: readonly string[];
}

/**
 * Build a standalone GRUB EFI binary (`grub-mkimage -O x86_64-efi`) with an
 * embedded early configuration, to be installed as `EFI/BOOT/BOOTX64.EFI`.
 *
 * @example
 * ```ts
 * const grub = await makeGrubEfi({
 *   output: scratch.path("BOOTX64.EFI"),
 *   earlyConfig: `search --no-floppy --fs-uuid --set=root ${bootUuid}\nset prefix=($root)/grub2\nconfigfile $prefix/grub.cfg\n`,
 * });
 * ```
 */
export async function makeGrubEfi(options: GrubEfiOptions): Promise<GrubEfi> {
  requireTools("grub-mkimage");
  const wanted = options.modules ?? DEFAULT_GRUB_MODULES;
  const present: string[] = [];
  const missingModules: string[] = [];
  for (const m of wanted) {
    const exists = await stat(path.join(GRUB_MODULE_DIR, `${m}.mod`)).then(
      () => true,
      () => false,
    );
    (exists ? present : missingModules).push(m);
  }
  const cfg = `${options.output}.early.cfg`;
  await writeFile(cfg, options.earlyConfig);
  try {
    await sh("grub-mkimage", [
      "-O",
      "x86_64-efi",
      "-d",
      GRUB_MODULE_DIR,
      "-o",
      options.output,
      "-c",
      cfg,
      "-p",
      options.prefix ?? "/EFI/BOOT",
      ...present,
    ]);
  } finally {
    await rm(cfg, { force: true });
  }
  return { path: options.output, missingModules };
}

function randomSerial(): string {
  return Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, "0");
}
