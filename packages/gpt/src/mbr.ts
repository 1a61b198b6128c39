/**
 * The protective MBR at LBA 0, as sgdisk writes it.
 *
 * @module
 */
import { view } from "./_internal/bytes.js";
import type { SectorSize } from "./model.js";

const HEADS = 255;
const SECTORS_PER_TRACK = 63;

/** Kind of MBR found at LBA 0 next to a GPT. */
export type MbrKind = "protective" | "hybrid" | "none";

/** sgdisk's LBA-to-CHS mapping with its default 255/63 geometry; FF FF FF when beyond reach, as sgdisk writes it. */
function chs(lba: number): [number, number, number] {
  const perCylinder = HEADS * SECTORS_PER_TRACK;
  const cylinder = Math.floor(lba / perCylinder);
  if (cylinder >= 1024) return [0xff, 0xff, 0xff];
  const rest = lba - cylinder * perCylinder;
  const head = Math.floor(rest / SECTORS_PER_TRACK);
  const sector = rest - head * SECTORS_PER_TRACK;
  return [head, (sector + 1) | ((cylinder >> 2) & 0xc0), cylinder & 0xff];
}

/**
 * The protective MBR sector sgdisk writes for a disk of `diskSectors`
 * logical sectors: one partition of type 0xEE from LBA 1 to the end (capped
 * at 2^32 - 1 sectors), CHS from a 255-head, 63-sector geometry (FF FF FF past cylinder 1023).
 *
 * @example
 * ```ts
 * const lba0 = protectiveMbr(131072n, 512); // 512 bytes ending in 55 AA
 * ```
 */
export function protectiveMbr(diskSectors: bigint, sectorSize: SectorSize): Uint8Array {
  const sector = new Uint8Array(sectorSize);
  const size = diskSectors - 1n > 0xffffffffn ? 0xffffffff : Number(diskSectors - 1n);
  const entry = 446;
  sector[entry] = 0x00;
  sector.set(chs(1), entry + 1);
  sector[entry + 4] = 0xee;
  sector.set(chs(size), entry + 5);
  const v = view(sector);
  v.setUint32(entry + 8, 1, true);
  v.setUint32(entry + 12, size, true);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/**
 * Classify LBA 0: a protective MBR (one 0xEE entry), a hybrid MBR (0xEE plus
 * others), or none (no 55 AA signature or no 0xEE entry).
 *
 * @example
 * ```ts
 * mbrKind(table.protectiveMbr); // "protective"
 * ```
 */
export function mbrKind(lba0: Uint8Array): MbrKind {
  if (lba0.length < 512 || lba0[510] !== 0x55 || lba0[511] !== 0xaa) return "none";
  let protective = false;
  let others = false;
  for (let i = 0; i < 4; i++) {
    const type = lba0[446 + 16 * i + 4];
    if (type === 0xee) protective = true;
    else if (type !== 0) others = true;
  }
  if (!protective) return "none";
  return others ? "hybrid" : "protective";
}
