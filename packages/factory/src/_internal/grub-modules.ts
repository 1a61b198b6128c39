import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CommandRunner } from "@lifeboat/core";

const MODULE_INFO_MAGIC = 0x676d696d; // "mimg"
const OBJ_TYPE_ELF = 0;

/** The name in an ELF module's `.modname` section, if it has one. */
function moduleName(elf: Buffer): string | undefined {
  if (elf.length < 0x40 || elf.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: elf.readUInt32LE(at),
      offset: Number(elf.readBigUInt64LE(at + 0x18)),
      size: Number(elf.readBigUInt64LE(at + 0x20)),
    };
  };
  if (shstrndx >= shnum || shoff + shnum * shentsize > elf.length) return undefined;
  const strtab = section(shstrndx);
  const text = (off: number) => {
    const start = strtab.offset + off;
    const end = elf.indexOf(0, start);
    return elf.subarray(start, end < 0 ? start : end).toString("latin1");
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (text(s.name) !== ".modname") continue;
    const data = elf.subarray(s.offset, s.offset + s.size);
    const end = data.indexOf(0);
    return data.subarray(0, end < 0 ? data.length : end).toString("latin1");
  }
  return undefined;
}

/**
 * The modules built into a GRUB EFI image (its `mods` section: a `mimg` header, then one
 * ELF object per module, named by its `.modname`). Pure.
 */
export function parseGrubModsSection(bytes: Buffer): string[] | undefined {
  if (bytes.length < 24 || bytes.readUInt32LE(0) !== MODULE_INFO_MAGIC) return undefined;
  const offset = Number(bytes.readBigUInt64LE(8));
  const size = Math.min(Number(bytes.readBigUInt64LE(16)), bytes.length);
  const names: string[] = [];
  let pos = offset;
  while (pos + 8 <= size) {
    const type = bytes.readUInt32LE(pos);
    const length = bytes.readUInt32LE(pos + 4);
    if (length < 8) return undefined;
    if (type === OBJ_TYPE_ELF) {
      const name = moduleName(bytes.subarray(pos + 8, pos + length));
      if (name) names.push(name);
    }
    pos += length;
  }
  return names.sort();
}

/** The modules built into the GRUB EFI image `grub` (objcopy), or undefined when that cannot be told. */
export async function grubBuiltInModules(
  runner: CommandRunner,
  grub: string,
  signal?: AbortSignal,
): Promise<string[] | undefined> {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-grub-mods-"));
  try {
    const out = path.join(dir, "mods.bin");
    const r = await runner.run(
      "objcopy",
      ["-O", "binary", "--only-section=mods", grub, out],
      signal ? { signal } : {},
    );
    if (r.isErr()) return undefined;
    const names = parseGrubModsSection(await readFile(out).catch(() => Buffer.alloc(0)));
    return names && names.length > 0 ? names : undefined;
  } catch {
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The modules a GRUB script loads with `insmod`, in order, each once. */
export function insmodModules(script: string): string[] {
  const found = [...script.matchAll(/^\s*insmod\s+([A-Za-z0-9_-]+)\s*$/gm)].map(
    (m) => m[1] as string,
  );
  return [...new Set(found)];
}
