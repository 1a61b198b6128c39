/**
 * Effects: reading and writing a table on an image file or a block device.
 *
 * @module
 */
import { constants } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import {
  abortedError,
  type CommandError,
  type CommandRunner,
  type IoFailedError,
  ioError,
  type ParseFailedError,
} from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { view } from "./_internal/bytes.js";
import { MAX_ENTRY_ARRAY_BYTES, SIGNATURE } from "./_internal/header.js";
import type { GptBadSectorSizeError, GptError } from "./errors.js";
import type { GptSource, GptTable, GptWrite, SectorSize } from "./model.js";
import { type GptRecovery, parseGpt, recoverGpt } from "./parse.js";
import { serializeGpt } from "./serialize.js";
import { isSectorSize, sourceFromRanges } from "./source.js";

/** Errors of the effect functions. */
export type GptIoError = GptError | IoFailedError | CommandError | ParseFailedError;

/** Options for {@link readGpt} and {@link openGptSource}. */
export interface ReadGptOptions {
  /**
   * Logical sector size of an image file: 512 or 4096, anything else is
   * `GPT_BAD_SECTOR_SIZE`. Default: detected from where a GPT header is
   * (see {@link detectSectorSize}), 512 when none is found. A block
   * device's own sector size is always used.
   */
  readonly sectorSize?: SectorSize;
  readonly signal?: AbortSignal;
}

const WINDOW_BYTES = 64 * 1024;

interface Geometry {
  readonly sectorSize: SectorSize;
  readonly sectorCount: bigint;
}

/** Size and sector size: from stat for a file, from `blockdev` for a block device. */
function geometry(
  runner: CommandRunner,
  path: string,
  options: ReadGptOptions,
): ResultAsync<Geometry, GptIoError> {
  return ResultAsync.fromPromise(stat(path), (e) => ioError(e, path, "stat")).andThen((st) => {
    if (!st.isBlockDevice()) {
      const given = options.sectorSize;
      if (given !== undefined && !isSectorSize(given)) {
        return errAsync<Geometry, GptIoError>(badSectorSize(given));
      }
      const size = given === undefined ? detectSectorSize(path, st.size) : okAsync(given);
      return size.map((sectorSize) => ({
        sectorSize,
        sectorCount: BigInt(st.size) / BigInt(sectorSize),
      }));
    }
    const runOptions = options.signal ? { signal: options.signal } : {};
    return runner.run("blockdev", ["--getss", "--getsize64", path], runOptions).andThen((r) => {
      const [ss, bytes] = r.stdout.trim().split(/\s+/);
      const sectorSize = Number(ss);
      if (!isSectorSize(sectorSize) || bytes === undefined || !/^\d+$/.test(bytes)) {
        return errAsync<Geometry, GptIoError>({
          code: "PARSE_FAILED",
          message: `Unexpected output of blockdev --getss --getsize64 ${path}: ${r.stdout.trim()}`,
          source: "blockdev --getss --getsize64",
          issues: [r.stdout],
        });
      }
      return okAsync({ sectorSize, sectorCount: BigInt(bytes) / BigInt(sectorSize) });
    });
  });
}

function badSectorSize(sectorSize: number): GptBadSectorSizeError {
  return {
    code: "GPT_BAD_SECTOR_SIZE",
    message: `Sector size ${sectorSize} is not supported: use 512 or 4096.`,
    sectorSize,
  };
}

/**
 * The sector size of a disk image file, from where its GPT headers are: the
 * primary header (`EFI PART`) is at byte 512 on a 512-byte-sector disk and at
 * byte 4096 on a 4Kn one; when neither start has it (a damaged primary), the
 * backup at the last 512 or 4096 bytes decides. 512 when nothing, or both
 * sizes, match. Only the signatures are looked at: the parser checks the rest.
 *
 * @example
 * ```ts
 * const size = await detectSectorSize("disk4k.img"); // Ok(4096) for a 4Kn image
 * ```
 */
export function detectSectorSize(
  path: string,
  sizeBytes?: number,
): ResultAsync<SectorSize, GptIoError> {
  return ResultAsync.fromPromise(
    (async (): Promise<SectorSize> => {
      const fh = await open(path, constants.O_RDONLY);
      try {
        const size = sizeBytes ?? (await fh.stat()).size;
        const signatureAt = async (offset: number) => {
          if (offset < 0 || offset + 8 > size) return false;
          const bytes = new Uint8Array(8);
          const { bytesRead } = await fh.read(bytes, 0, 8, offset);
          return bytesRead === 8 && view(bytes).getBigUint64(0, true) === SIGNATURE;
        };
        const pick = (at512: boolean, at4096: boolean): SectorSize | undefined =>
          at512 === at4096 ? undefined : at512 ? 512 : 4096;
        const fromPrimary = pick(await signatureAt(512), await signatureAt(4096));
        if (fromPrimary !== undefined) return fromPrimary;
        const end512 = size - (size % 512);
        const end4096 = size - (size % 4096);
        return pick(await signatureAt(end512 - 512), await signatureAt(end4096 - 4096)) ?? 512;
      } finally {
        await fh.close();
      }
    })(),
    (e) => ioError(e, path, "detect the sector size of"),
  );
}

async function readAt(fh: FileHandle, lba: bigint, sectors: number, g: Geometry) {
  const bytes = new Uint8Array(sectors * g.sectorSize);
  const { bytesRead } = await fh.read(bytes, 0, bytes.length, Number(lba) * g.sectorSize);
  return { lba, bytes: bytes.subarray(0, Math.floor(bytesRead / g.sectorSize) * g.sectorSize) };
}

/** The sectors a header at `headerSector` points to: its entry array and the other header. */
function pointedTo(headerSector: Uint8Array, g: Geometry): { lba: bigint; sectors: number }[] {
  const v = view(headerSector);
  if (headerSector.length < 92 || v.getBigUint64(0, true) !== SIGNATURE) return [];
  const out: { lba: bigint; sectors: number }[] = [];
  const alternate = v.getBigUint64(32, true);
  if (alternate < g.sectorCount) out.push({ lba: alternate, sectors: 1 });
  const entriesLba = v.getBigUint64(72, true);
  const length = v.getUint32(80, true) * v.getUint32(84, true);
  const sectors = Math.ceil(length / g.sectorSize);
  if (length <= MAX_ENTRY_ARRAY_BYTES && entriesLba + BigInt(sectors) <= g.sectorCount) {
    out.push({ lba: entriesLba, sectors });
  }
  return out;
}

/**
 * Read the sectors a GPT lives in (LBA 0-1, the last LBA, and whatever the
 * headers point to) from an image file or block device, as a {@link GptSource}
 * for the pure parser.
 *
 * @example
 * ```ts
 * const source = await openGptSource(runner, "/dev/nvme0n1");
 * if (source.isOk()) inspectGpt(source.value);
 * ```
 */
export function openGptSource(
  runner: CommandRunner,
  path: string,
  options: ReadGptOptions = {},
): ResultAsync<GptSource, GptIoError> {
  return geometry(runner, path, options).andThen((g) =>
    ResultAsync.fromPromise(
      (async () => {
        const fh = await open(path, constants.O_RDONLY);
        try {
          // One read at each end covers every table sgdisk, fdisk or we write (entries within 64 KiB).
          const window = BigInt(Math.max(2, Math.floor(WINDOW_BYTES / g.sectorSize)));
          const headSectors = window < g.sectorCount ? window : g.sectorCount;
          const ranges = [await readAt(fh, 0n, Number(headSectors), g)];
          const tailStart = g.sectorCount > window ? g.sectorCount - window : headSectors;
          if (tailStart < g.sectorCount) {
            ranges.push(await readAt(fh, tailStart, Number(g.sectorCount - tailStart), g));
          }
          // Then whatever the headers point to that is not read yet (two rounds: header, its alternate).
          for (let round = 0; round < 2; round++) {
            const have = sourceFromRanges(g.sectorSize, g.sectorCount, ranges);
            const headers = [1n, g.sectorCount - 1n, ...ranges.map((r) => r.lba)]
              .map((lba) => have.read(lba, 1))
              .filter((x): x is Uint8Array => x !== undefined);
            const missing = headers
              .flatMap((h) => pointedTo(h, g))
              .filter((want) => have.read(want.lba, want.sectors) === undefined);
            if (missing.length === 0) break;
            for (const want of missing) ranges.push(await readAt(fh, want.lba, want.sectors, g));
          }
          return sourceFromRanges(g.sectorSize, g.sectorCount, ranges);
        } finally {
          await fh.close();
        }
      })(),
      (e) => ioError(e, path, "read the partition table of"),
    ),
  );
}

/**
 * Read and strictly check the table of an image file or block device (see `parseGpt`).
 *
 * @example
 * ```ts
 * const table = await readGpt(createExecaRunner(), "/srv/factory/disk.img");
 * ```
 */
export function readGpt(
  runner: CommandRunner,
  path: string,
  options: ReadGptOptions = {},
): ResultAsync<GptTable, GptIoError> {
  return openGptSource(runner, path, options).andThen((source) => parseGpt(source));
}

/**
 * Read a table, rebuilding it from the intact copy when one is damaged (see `recoverGpt`).
 *
 * @example
 * ```ts
 * const r = await readGptRecovering(runner, "/dev/sda");
 * if (r.isOk() && r.value.problems.length) await writeGpt(runner, "/dev/sda", r.value.table);
 * ```
 */
export function readGptRecovering(
  runner: CommandRunner,
  path: string,
  options: ReadGptOptions = {},
): ResultAsync<GptRecovery, GptIoError> {
  return openGptSource(runner, path, options).andThen((source) => recoverGpt(source));
}

/** Progress of {@link writeGpt}. */
export type WriteGptProgress =
  | {
      readonly kind: "write";
      readonly region: GptWrite["region"];
      readonly lba: bigint;
      readonly bytes: number;
    }
  | { readonly kind: "sync"; readonly after: GptWrite["region"] };

/** Options for {@link writeGpt}. */
export interface WriteGptOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: WriteGptProgress) => void;
}

/**
 * Write both copies of a table to an image file or block device, in the
 * crash-safe order: backup entries, backup header, flush; primary entries,
 * protective MBR, primary header, flush. The disk's size must be the
 * table's (`GPT_DISK_SIZE_MISMATCH` otherwise: relocate the backup first).
 *
 * @example
 * ```ts
 * const written = await writeGpt(runner, "disk.img", table, { onProgress: (e) => log(e) });
 * ```
 */
export function writeGpt(
  runner: CommandRunner,
  path: string,
  table: GptTable,
  options: WriteGptOptions = {},
): ResultAsync<void, GptIoError> {
  const writes = serializeGpt(table);
  if (writes.isErr()) return errAsync(writes.error);
  return geometry(runner, path, {
    sectorSize: table.sectorSize,
    ...(options.signal ? { signal: options.signal } : {}),
  }).andThen((g) => {
    if (g.sectorSize !== table.sectorSize || g.sectorCount !== table.diskSectors) {
      return errAsync<void, GptIoError>({
        code: "GPT_DISK_SIZE_MISMATCH",
        message: `${path} has ${g.sectorCount} sectors of ${g.sectorSize} bytes; the table is for ${table.diskSectors} of ${table.sectorSize}.`,
        diskSectors: g.sectorCount,
        expectedSectors: table.diskSectors,
      });
    }
    return ResultAsync.fromPromise(
      writeInOrder(path, writes.value, table.sectorSize, options),
      (e) =>
        isAbort(e)
          ? abortedError("writing the partition table")
          : ioError(e, path, "write the partition table to"),
    );
  });
}

class Aborted extends Error {}
const isAbort = (e: unknown) => e instanceof Aborted;

async function writeInOrder(
  path: string,
  writes: readonly GptWrite[],
  sectorSize: number,
  options: WriteGptOptions,
): Promise<void> {
  const fh = await open(path, constants.O_WRONLY);
  try {
    for (const w of writes) {
      // Cancelling is allowed until the primary copy starts changing; after that we finish.
      if (options.signal?.aborted && w.region.startsWith("backup")) throw new Aborted();
      await fh.write(w.bytes, 0, w.bytes.length, Number(w.lba) * sectorSize);
      options.onProgress?.({ kind: "write", region: w.region, lba: w.lba, bytes: w.bytes.length });
      if (w.region === "backup-header" || w.region === "primary-header") {
        await fh.sync();
        options.onProgress?.({ kind: "sync", after: w.region });
      }
    }
  } finally {
    await fh.close();
  }
}
