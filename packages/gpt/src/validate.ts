/**
 * Checks on a table's partitions: inside the usable range, no overlaps.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import type { GptError } from "./errors.js";
import { isGuid } from "./guid.js";
import type { GptTable } from "./model.js";

/**
 * Check that every partition ends after it starts, lies inside the usable
 * range and shares no sector with another, and that slots are in range.
 * Returns the first problem found.
 *
 * @example
 * ```ts
 * const r = validatePartitions(table);
 * if (r.isErr() && r.error.code === "GPT_OVERLAP") console.log(r.error.slots);
 * ```
 */
export function validatePartitions(
  table: Pick<GptTable, "partitions" | "firstUsableLba" | "lastUsableLba" | "entryCount">,
): Result<void, GptError> {
  for (const p of table.partitions) {
    if (
      p.firstLba > p.lastLba ||
      p.firstLba < table.firstUsableLba ||
      p.lastLba > table.lastUsableLba
    ) {
      return err({
        code: "GPT_OUT_OF_RANGE",
        message: `Partition ${p.slot} (LBA ${p.firstLba}-${p.lastLba}) is not inside the usable range ${table.firstUsableLba}-${table.lastUsableLba}.`,
        slot: p.slot,
        firstLba: p.firstLba,
        lastLba: p.lastLba,
        firstUsableLba: table.firstUsableLba,
        lastUsableLba: table.lastUsableLba,
      });
    }
    if (p.slot < 1 || p.slot > table.entryCount || !isGuid(p.typeGuid) || !isGuid(p.uniqueGuid)) {
      return err({
        code: "GPT_INVALID_ARGUMENT",
        message: `Partition ${p.slot} has a slot outside 1..${table.entryCount} or a malformed GUID.`,
        argument: "partitions",
      });
    }
  }
  const sorted = [...table.partitions].sort((a, b) =>
    a.firstLba < b.firstLba ? -1 : a.firstLba > b.firstLba ? 1 : 0,
  );
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.firstLba <= prev.lastLba) {
      return err({
        code: "GPT_OVERLAP",
        message: `Partitions ${prev.slot} and ${cur.slot} overlap (from LBA ${cur.firstLba}).`,
        slots: [prev.slot, cur.slot],
        firstLba: cur.firstLba,
        lastLba: minLba(prev.lastLba, cur.lastLba),
      });
    }
  }
  return ok(undefined);
}

function minLba(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
