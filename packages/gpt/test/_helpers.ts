/** Shared tooling for @lifeboat/gpt tests: seeded randomness, a small pool, sfdisk as second opinion. */
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { sh } from "@lifeboat/testkit";
import type { GptPartition, GptTable } from "../src/index.js";

/** mulberry32: a small seeded PRNG, so a failing layout can be made again. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const guid = () => {
    const hex = Array.from({ length: 32 }, () => int(0, 15).toString(16)).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  return { next, int, pick, guid };
}
export type Rng = ReturnType<typeof prng>;

const NAME_PIECES = [
  "a",
  "Z",
  "7",
  " ",
  "-",
  "_",
  "é",
  "ß",
  "名",
  "前",
  "Ж",
  "😀",
  "𝄞",
  "ü",
  ":",
  "Recovery",
  "EFI",
  "boot",
  '"',
  "'",
];

/** A random name of at most 36 UTF-16 code units, non-ASCII and surrogate pairs included. */
export function randomName(rng: Rng): string {
  let name = "";
  const target = rng.int(0, 36);
  while (name.length < target) {
    const piece = rng.pick(NAME_PIECES);
    if (name.length + piece.length > 36) break;
    name += piece;
  }
  return name.trim() === name ? name : name.trim();
}

/** Run `jobs` with at most `width` at once. */
export async function pool<T>(width: number, jobs: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

/** A scratch directory on tmpfs (process-heavy loops stay off the disk). */
export async function shmDir(
  prefix: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join("/dev/shm", `lifeboat-gpt-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** sfdisk's `attrs` string for an attribute field (it shows bits 0-2 and 48-63 only). */
export function sfdiskAttrs(attributes: bigint): string | null | undefined {
  const words: string[] = [];
  if (attributes & 1n) words.push("RequiredPartition");
  if (attributes & 2n) words.push("NoBlockIOProtocol");
  if (attributes & 4n) words.push("LegacyBIOSBootable");
  const guidBits: number[] = [];
  for (let b = 48; b < 64; b++) if ((attributes >> BigInt(b)) & 1n) guidBits.push(b);
  if (guidBits.length > 0) words.push(`GUID:${guidBits.join(",")}`);
  // sfdisk prints `null` when bits are set but none of them is one it names.
  if (words.length === 0) return attributes === 0n ? undefined : null;
  return words.join(" ");
}

interface SfdiskJson {
  partitiontable: {
    label: string;
    id: string;
    device: string;
    firstlba: number;
    lastlba: number;
    sectorsize?: number;
    "table-length"?: string;
    partitions?: {
      node: string;
      start: number;
      size: number;
      type: string;
      uuid: string;
      name?: string;
      attrs?: string | null;
    }[];
  };
}

/** What sfdisk -J says, in the shape our model can be compared with. */
export interface SfdiskView {
  diskGuid: string;
  firstUsableLba: bigint;
  lastUsableLba: bigint;
  sectorSize: number;
  entryCount: number;
  partitions: {
    slot: number;
    firstLba: bigint;
    lastLba: bigint;
    typeGuid: string;
    uniqueGuid: string;
    name: string;
    attrs: string | null | undefined;
  }[];
}

export async function sfdiskView(device: string): Promise<SfdiskView> {
  const json = JSON.parse(await sh("sfdisk", ["-J", device])) as SfdiskJson;
  const t = json.partitiontable;
  return {
    diskGuid: t.id.toLowerCase(),
    firstUsableLba: BigInt(t.firstlba),
    lastUsableLba: BigInt(t.lastlba),
    sectorSize: t.sectorsize ?? 512,
    entryCount: Number(t["table-length"] ?? 128),
    partitions: (t.partitions ?? []).map((p) => ({
      slot: Number(p.node.slice(t.device.length).replace(/^p/, "")),
      firstLba: BigInt(p.start),
      lastLba: BigInt(p.start) + BigInt(p.size) - 1n,
      typeGuid: p.type.toLowerCase(),
      uniqueGuid: p.uuid.toLowerCase(),
      name: p.name ?? "",
      attrs: p.attrs,
    })),
  };
}

/** Our table in sfdisk's terms. */
export function ourView(table: GptTable): SfdiskView {
  return {
    diskGuid: table.diskGuid,
    firstUsableLba: table.firstUsableLba,
    lastUsableLba: table.lastUsableLba,
    sectorSize: table.sectorSize,
    entryCount: table.entryCount,
    partitions: [...table.partitions]
      .sort((a, b) => a.slot - b.slot)
      .map((p: GptPartition) => ({
        slot: p.slot,
        firstLba: p.firstLba,
        lastLba: p.lastLba,
        typeGuid: p.typeGuid,
        uniqueGuid: p.uniqueGuid,
        name: p.name,
        attrs: sfdiskAttrs(p.attributes),
      })),
  };
}
