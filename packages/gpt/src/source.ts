/**
 * Sector sources: how the pure decoder reads a disk.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import type { GptBadSectorSizeError } from "./errors.js";
import type { GptSource, SectorSize } from "./model.js";

/**
 * True for the sector sizes the codec supports.
 *
 * @example
 * ```ts
 * isSectorSize(4096); // true
 * ```
 */
export function isSectorSize(value: number): value is SectorSize {
  return value === 512 || value === 4096;
}

/**
 * A {@link GptSource} over a whole disk image held in memory.
 *
 * @example
 * ```ts
 * const source = sourceFromBytes(await readFile("disk.img"), { sectorSize: 512 });
 * if (source.isOk()) parseGpt(source.value);
 * ```
 */
export function sourceFromBytes(
  bytes: Uint8Array,
  options: { readonly sectorSize?: number } = {},
): Result<GptSource, GptBadSectorSizeError> {
  const sectorSize = options.sectorSize ?? 512;
  if (!isSectorSize(sectorSize)) {
    return err({
      code: "GPT_BAD_SECTOR_SIZE",
      message: `Sector size ${sectorSize} is not supported: use 512 or 4096.`,
      sectorSize,
    });
  }
  const sectorCount = BigInt(Math.floor(bytes.length / sectorSize));
  return ok({
    sectorSize,
    sectorCount,
    read(lba, count) {
      if (lba < 0n || count < 0 || lba + BigInt(count) > sectorCount) return undefined;
      const start = Number(lba) * sectorSize;
      return bytes.subarray(start, start + count * sectorSize);
    },
  });
}

/**
 * A {@link GptSource} over some ranges of a disk read ahead of time (the
 * effects layer reads only the table's sectors of a large disk).
 *
 * @example
 * ```ts
 * const source = sourceFromRanges(512, 2097152n, [{ lba: 0n, bytes: head }, { lba: 2097119n, bytes: tail }]);
 * ```
 */
export function sourceFromRanges(
  sectorSize: SectorSize,
  sectorCount: bigint,
  ranges: readonly { readonly lba: bigint; readonly bytes: Uint8Array }[],
): GptSource {
  return {
    sectorSize,
    sectorCount,
    read(lba, count) {
      if (lba < 0n || count < 0 || lba + BigInt(count) > sectorCount) return undefined;
      for (const range of ranges) {
        const sectors = BigInt(Math.floor(range.bytes.length / sectorSize));
        if (lba >= range.lba && lba + BigInt(count) <= range.lba + sectors) {
          const start = Number(lba - range.lba) * sectorSize;
          return range.bytes.subarray(start, start + count * sectorSize);
        }
      }
      return undefined;
    },
  };
}
