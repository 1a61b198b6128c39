import { createHash } from "node:crypto";
import { constants, type FileHandle, open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type Result, ResultAsync } from "neverthrow";
import { writeFileAtomic } from "../atomic-file.js";
import { type IoFailedError, ioError, type PlanEncodingError } from "../errors.js";
import { canonicalJson } from "../plan.js";

/**
 * The journal lives in two slots: `journalPath` itself (slot A) and
 * `journalPath` + {@link SLOT_B_SUFFIX} (slot B). A run's first write
 * replaces slot A atomically (temporary file, fsync, rename, fsync of the
 * directory) and then drops slot B; every later write goes, in place, to the
 * slot that does NOT hold the newest record, and is made durable with one
 * fdatasync. The slot being overwritten is never the one a reader would
 * fall back to, so a power cut in the middle of a write leaves the previous
 * record whole; a torn slot fails its checksum and is ignored.
 *
 * Each slot holds the record plus two fields of its own: `journalSeq`
 * (grows by one per write, across runs of the same journal) and
 * `journalSha256` (SHA-256 of the canonical JSON of everything else).
 */
export const SLOT_B_SUFFIX = ".b";

export interface SlotContent {
  readonly seq: number;
  readonly value: Record<string, unknown>;
}

/** Checksum of a slot's record (its own two fields left out). */
function checksumOf(value: Record<string, unknown>): Result<string, PlanEncodingError> {
  const { journalSeq: _s, journalSha256: _h, ...rest } = value;
  return canonicalJson(rest).map((text) => createHash("sha256").update(text).digest("hex"));
}

/** The slot's text for `record` at sequence number `seq`. */
export function slotText(record: object, seq: number): Result<string, PlanEncodingError> {
  const value = { ...(record as Record<string, unknown>), journalSeq: seq };
  return checksumOf(value).map(
    (sum) => `${JSON.stringify({ ...value, journalSha256: sum }, null, 2)}\n`,
  );
}

/**
 * Parse a slot's text. `undefined` when it is not a whole record: not JSON,
 * or its checksum does not match (a write the power cut tore). A record of
 * the one-file format (no checksum) counts as sequence 0.
 */
export function parseSlot(text: string): SlotContent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (v.journalSha256 === undefined) return { seq: 0, value: v };
  if (typeof v.journalSeq !== "number" || v.journalSha256 !== checksumOf(v).unwrapOr(undefined))
    return undefined;
  return { seq: v.journalSeq, value: v };
}

/** A slot's text, or undefined when the file does not exist. */
export async function readSlot(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

async function overwriteInPlace(file: string, text: string): Promise<void> {
  let handle: FileHandle;
  let created = false;
  try {
    handle = await open(file, constants.O_WRONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    created = true;
  }
  try {
    const bytes = Buffer.from(text);
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(bytes.length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  if (created) {
    // A new name is durable only once its directory is (once per run).
    const dir = await open(path.dirname(file), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

class WriteFailed {
  constructor(readonly error: IoFailedError | PlanEncodingError) {}
}

/** Writes one run's journal records: see {@link SLOT_B_SUFFIX}. */
export interface JournalSlotWriter {
  write(record: object): ResultAsync<void, IoFailedError | PlanEncodingError>;
}

/** A writer for one run of the journal at `journalPath`. */
export function createSlotWriter(journalPath: string): JournalSlotWriter {
  const slotB = `${journalPath}${SLOT_B_SUFFIX}`;
  let seq: number | undefined;
  let newestInA = true;
  // A record JSON cannot carry exactly is refused before anything is written.
  const textOf = (record: object, seq: number): string => {
    const text = slotText(record, seq);
    if (text.isErr()) throw new WriteFailed(text.error);
    return text.value;
  };
  const writeOnce = async (record: object): Promise<void> => {
    if (seq === undefined) {
      // Continue the numbering of what is on disk, so this run's records outrank older ones.
      let newest = 0;
      for (const file of [journalPath, slotB]) {
        const text = await readSlot(file);
        const slot = text === undefined ? undefined : parseSlot(text);
        if (slot && slot.seq > newest) newest = slot.seq;
      }
      seq = newest + 1;
      const whole = await writeFileAtomic(journalPath, textOf(record, seq));
      if (whole.isErr()) throw new WriteFailed(whole.error);
      // Slot A now outranks slot B, whatever B holds; dropping B is tidiness, not safety.
      await rm(slotB, { force: true });
      newestInA = true;
      return;
    }
    seq += 1;
    await overwriteInPlace(newestInA ? slotB : journalPath, textOf(record, seq));
    newestInA = !newestInA;
  };
  return {
    write: (record) =>
      ResultAsync.fromPromise(writeOnce(record), (e) =>
        e instanceof WriteFailed ? e.error : ioError(e, journalPath, "write"),
      ),
  };
}
