/**
 * Done-when 3: 100,000 mutated tables never throw and always give a typed
 * error or a valid table; a damaged primary or backup is recovered to the
 * original table.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "../src/_internal/crc32.js";
import {
  addPartition,
  createGptTable,
  type GptErrorCode,
  type GptTable,
  type GptWrite,
  parseGpt,
  recoverGpt,
  serializeGpt,
  sourceFromRanges,
  validatePartitions,
} from "../src/index.js";
import { prng } from "./_helpers.js";

const CODES: readonly GptErrorCode[] = [
  "GPT_BAD_SIGNATURE",
  "GPT_BAD_HEADER_CRC",
  "GPT_BAD_ENTRIES_CRC",
  "GPT_BAD_HEADER",
  "GPT_OVERLAP",
  "GPT_OUT_OF_RANGE",
  "GPT_PRIMARY_BACKUP_MISMATCH",
  "GPT_BACKUP_NOT_AT_END",
  "GPT_TRUNCATED",
  "GPT_NO_VALID_TABLE",
  "GPT_INVALID_ARGUMENT",
];

/** A disk's metadata as two byte arrays (LBA 0.. first usable, backup entries..end). */
interface Meta {
  table: GptTable;
  head: Uint8Array;
  tail: Uint8Array;
  tailLba: bigint;
}

function metaOf(table: GptTable): Meta {
  const ss = table.sectorSize;
  const head = new Uint8Array(Number(table.firstUsableLba) * ss);
  const tailLba = table.backupEntriesLba;
  const tail = new Uint8Array(Number(table.diskSectors - tailLba) * ss);
  for (const w of serializeGpt(table)._unsafeUnwrap()) {
    if (w.lba < table.firstUsableLba) head.set(w.bytes, Number(w.lba) * ss);
    else tail.set(w.bytes, Number(w.lba - tailLba) * ss);
  }
  return { table, head, tail, tailLba };
}

function sourceOf(m: Meta, head: Uint8Array, tail: Uint8Array, sectorCount = m.table.diskSectors) {
  return sourceFromRanges(m.table.sectorSize, sectorCount, [
    { lba: 0n, bytes: head },
    { lba: m.tailLba, bytes: tail },
  ]);
}

function sourceOfWrites(table: GptTable, writes: readonly GptWrite[]) {
  return sourceFromRanges(
    table.sectorSize,
    table.diskSectors,
    writes.map((w) => ({ lba: w.lba, bytes: w.bytes })),
  );
}

function baseTables(): Meta[] {
  const rng = prng(7);
  const out: Meta[] = [];
  for (const [sectors, entryCount, sectorSize] of [
    [2048n, 128, 512],
    [512n, 4, 512],
    [300n, 16, 512],
    [600n, 8, 4096],
  ] as const) {
    let t = createGptTable({
      diskBytes: sectors * BigInt(sectorSize),
      entryCount,
      sectorSize,
      diskGuid: rng.guid(),
    })._unsafeUnwrap();
    for (let i = 0; i < 4; i++) {
      const r = addPartition(t, {
        size: BigInt(rng.int(1, 60)) * 512n,
        typeGuid: rng.guid(),
        uniqueGuid: rng.guid(),
        name: `p${i}é😀`,
        attributes: BigInt(i) << 60n,
        alignmentBytes: BigInt(sectorSize),
      });
      if (r.isOk()) t = r.value;
    }
    out.push(metaOf(t));
  }
  return out;
}

const BASES = baseTables();

/** A canonical text of a table: equal tables, equal keys (fast, unlike a deep equal on typed arrays). */
function key(t: GptTable): string {
  return JSON.stringify(t, (_k, v) =>
    typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
  );
}

/** Re-compute the CRCs of both copies after an edit (so deeper checks are reached). */
function fixCrcs(m: Meta, head: Uint8Array, tail: Uint8Array) {
  const t = m.table;
  const ss = t.sectorSize;
  const len = t.entryCount * t.entrySize;
  for (const [buf, hdrAt, entAt] of [
    [head, ss, Number(t.primaryEntriesLba) * ss],
    [tail, Number(t.backupHeaderLba - m.tailLba) * ss, 0],
  ] as const) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (entAt + len <= buf.length) dv.setUint32(hdrAt + 88, crc32(buf, entAt, entAt + len), true);
    const hsize = Math.min(Math.max(dv.getUint32(hdrAt + 12, true), 92), ss);
    dv.setUint32(hdrAt + 16, 0, true);
    dv.setUint32(hdrAt + 16, crc32(buf, hdrAt, hdrAt + hsize), true);
  }
}

// Mostly small tables (cheap to check), one in eight the usual 128 entries. Positions and
// slots are drawn wide and reduced modulo the chosen table's sizes (no chain(): it is slow).
const WEIGHTED = [0, 1, 2, 3, 1, 2, 3, 1] as const;
const anyU64 = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 3n, 6n, 33n, 34n, 2n ** 32n - 1n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2500n }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const mutation = fc.tuple(
  fc.integer({ min: 0, max: WEIGHTED.length - 1 }).map((i) => BASES[WEIGHTED[i]!]!),
  fc.oneof(
    fc.record({
      kind: fc.constant("flip" as const),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
    }),
    fc.record({
      kind: fc.constant("field" as const),
      copy: fc.constantFrom("primary", "backup", "both"),
      offset: fc.constantFrom(8, 12, 20, 24, 32, 40, 48, 56, 72, 80, 84),
      value: anyU64,
      relative: fc.constantFrom("none", "last", "lastUsable", "firstUsable"),
    }),
    fc.record({
      kind: fc.constant("entry" as const),
      slot: fc.nat(),
      offset: fc.constantFrom(0, 16, 32, 40, 48, 56, 100),
      value: anyU64,
      relative: fc.constantFrom("none", "lastUsable", "firstUsable"),
    }),
    fc.record({ kind: fc.constant("cut" as const), sectors: fc.bigInt({ min: 1n, max: 2048n }) }),
  ),
);

type Mutation = ReturnType<typeof mutation.generate>["value"][1];

/** Values near the table's own boundaries hit the interesting comparisons. */
function relativeValue(m: Meta, value: bigint, relative: string): bigint {
  const t = m.table;
  const delta = (value % 5n) - 2n;
  if (relative === "last") return t.diskSectors - 1n + delta;
  if (relative === "lastUsable") return t.lastUsableLba + delta;
  if (relative === "firstUsable") return t.firstUsableLba + delta;
  return value;
}

function apply(m: Meta, mut: Mutation) {
  const head = m.head.slice();
  const tail = m.tail.slice();
  const ss = m.table.sectorSize;
  let sectorCount = m.table.diskSectors;
  const put64 = (buf: Uint8Array, at: number, v: bigint) => {
    if (at + 8 <= buf.length) new DataView(buf.buffer).setBigUint64(at, v, true);
  };
  if (mut.kind === "flip") {
    for (const [raw, v] of mut.edits) {
      const pos = raw % (head.length + tail.length);
      if (pos < head.length) head[pos] = v;
      else tail[pos - head.length] = v;
    }
  } else if (mut.kind === "field") {
    const width = mut.offset >= 80 || mut.offset <= 20 ? 4 : 8;
    const targets: [Uint8Array, number][] = [];
    if (mut.copy !== "backup") targets.push([head, ss]);
    if (mut.copy !== "primary")
      targets.push([tail, Number(m.table.backupHeaderLba - m.tailLba) * ss]);
    for (const [buf, at] of targets) {
      if (width === 4)
        new DataView(buf.buffer).setUint32(at + mut.offset, Number(mut.value & 0xffffffffn), true);
      else put64(buf, at + mut.offset, mut.value);
    }
    fixCrcs(m, head, tail);
  } else if (mut.kind === "entry") {
    const rel = (mut.slot % m.table.entryCount) * m.table.entrySize + mut.offset;
    const value = BigInt.asUintN(64, relativeValue(m, mut.value, mut.relative));
    put64(head, Number(m.table.primaryEntriesLba) * ss + rel, value);
    put64(tail, rel, value);
    fixCrcs(m, head, tail);
  } else {
    sectorCount = mut.sectors < m.table.diskSectors ? mut.sectors : m.table.diskSectors - 1n;
  }
  return { head, tail, sectorCount };
}

describe("mutated tables (fast-check)", () => {
  it("100,000 mutations: never a throw, always a typed error or a valid, re-serialisable table", () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(mutation, fc.integer({ min: 0, max: 9 }), ([m, mut], dice) => {
        const { head, tail, sectorCount } = apply(m, mut);
        const source = sourceOf(m, head, tail, sectorCount);
        const recovered = recoverGpt(source);
        const results = [recovered.map((x) => x.table)];
        // The strict parse is the recovery with no problem allowed: check that on a sample.
        if (dice === 0) {
          const parsed = parseGpt(source);
          const problems = recovered.isOk() ? recovered.value.problems : [];
          if (parsed.isOk() !== (recovered.isOk() && problems.length === 0)) {
            throw new Error("parseGpt and recoverGpt disagree on whether the table is healthy");
          }
          results.push(parsed);
        }
        for (const r of results) {
          if (r.isErr()) {
            seen.set(r.error.code, (seen.get(r.error.code) ?? 0) + 1);
            if (!CODES.includes(r.error.code)) throw new Error(`untyped ${r.error.code}`);
            if (r.error.message.length === 0) throw new Error("empty message");
            continue;
          }
          seen.set("ok", (seen.get("ok") ?? 0) + 1);
          for (const p of recovered.isOk() ? recovered.value.problems : []) {
            seen.set(p.code, (seen.get(p.code) ?? 0) + 1);
            if (!CODES.includes(p.code)) throw new Error(`untyped problem ${p.code}`);
          }
          const t = r.value;
          if (validatePartitions(t).isErr()) throw new Error("accepted an invalid table");
          const writes = serializeGpt(t);
          if (writes.isErr())
            throw new Error(`accepted table does not serialise: ${writes.error.message}`);
          const again = parseGpt(sourceOfWrites(t, writes.value));
          if (again.isErr())
            throw new Error(`re-serialised table does not parse: ${again.error.message}`);
          if (key(again.value) !== key(t)) throw new Error("re-serialised table differs");
        }
        return true;
      }),
      { numRuns: Number(process.env.GPT_FUZZ_RUNS ?? 100_000), seed: 42, endOnFailure: true },
    );
    // The mutations reached every layer of checks, not just the CRCs.
    for (const code of [
      "GPT_BAD_HEADER_CRC",
      "GPT_BAD_ENTRIES_CRC",
      "GPT_BAD_HEADER",
      "GPT_OVERLAP",
      "GPT_OUT_OF_RANGE",
      "GPT_PRIMARY_BACKUP_MISMATCH",
      "ok",
    ]) {
      expect(seen.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  }, 300_000); // ~28 s of CPU; wall time follows the machine's load

  it("a damaged primary or backup copy is recovered to the original table", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: BASES.length - 1 }),
        fc.constantFrom("primary-header", "primary-entries", "backup-header", "backup-entries"),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 16,
        }),
        (b, where, edits) => {
          const m = BASES[b]!;
          const t = m.table;
          const ss = t.sectorSize;
          const head = m.head.slice();
          const tail = m.tail.slice();
          const len = t.entryCount * t.entrySize;
          const [buf, start, size] =
            where === "primary-header"
              ? [head, ss, 92]
              : where === "primary-entries"
                ? [head, Number(t.primaryEntriesLba) * ss, len]
                : where === "backup-header"
                  ? [tail, Number(t.backupHeaderLba - m.tailLba) * ss, 92]
                  : [tail, 0, len];
          for (const [pos, v] of edits) buf[start + (pos % size)] = v;
          const r = recoverGpt(sourceOf(m, head, tail))._unsafeUnwrap();
          expect(key(r.table)).toBe(key(t));
          // Writing the recovered table back gives a disk that parses strictly, equal to the original.
          const writes = serializeGpt(r.table)._unsafeUnwrap();
          expect(key(parseGpt(sourceOfWrites(t, writes))._unsafeUnwrap())).toBe(key(t));
        },
      ),
      { numRuns: 2_000, seed: 7 },
    );
  });
});
