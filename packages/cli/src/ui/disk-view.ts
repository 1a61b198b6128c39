import { isRecoveryType, lookupPartitionType } from "@lifeboat/gpt";
import type { tableSummary } from "../machine-state.js";
import { drawDisk } from "./disk-drawing.js";

/** Draw a table summary (see `tableSummary`) to scale, the recovery partition marked. */
export function drawSummary(summary: ReturnType<typeof tableSummary>, width = 72): string {
  return drawDisk(
    { totalSectors: BigInt(summary.totalSectors), sectorSize: summary.sectorSize },
    summary.partitions.map((p) => ({
      number: p.number,
      firstLba: BigInt(p.firstLba),
      lastLba: BigInt(p.lastLba),
      name: p.name,
      typeName: lookupPartitionType(p.typeGuid)?.name ?? p.typeGuid,
      recovery: isRecoveryType(p.typeGuid),
    })),
    width,
  );
}
