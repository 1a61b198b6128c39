import pc from "picocolors";
import { formatBytes } from "./format.js";

/** A partition as the drawing needs it. */
export interface DrawnPartition {
  readonly number: number;
  readonly firstLba: bigint;
  readonly lastLba: bigint;
  readonly name: string;
  readonly typeName: string;
  /** Lifeboat's (or Windows') recovery partition: marked in the drawing. */
  readonly recovery: boolean;
}

const PAINT = [pc.cyan, pc.magenta, pc.blue, pc.yellow, pc.green, pc.red];

/**
 * Draw a disk's partitions to scale on one line, with a legend below. Tiny
 * partitions get at least one cell so none disappears; free space is shown dim.
 */
export function drawDisk(
  disk: { readonly totalSectors: bigint; readonly sectorSize: number },
  partitions: readonly DrawnPartition[],
  width = 72,
): string {
  const sorted = [...partitions].sort((a, b) => (a.firstLba < b.firstLba ? -1 : 1));
  const total = Number(disk.totalSectors);
  const cells: string[] = [];
  const cellOf = (lba: bigint) => Math.min(width - 1, Math.floor((Number(lba) / total) * width));
  const owner = new Array<number>(width).fill(-1);
  sorted.forEach((p, i) => {
    const from = cellOf(p.firstLba);
    const to = Math.max(from, cellOf(p.lastLba));
    for (let c = from; c <= to; c++) if (owner[c] === -1 || c === from) owner[c] = i;
  });
  for (let c = 0; c < width; c++) {
    const i = owner[c] ?? -1;
    const p = i >= 0 ? sorted[i] : undefined;
    if (!p) {
      cells.push(pc.dim("·"));
      continue;
    }
    const paint = p.recovery
      ? (s: string) => pc.bold(pc.green(s))
      : (PAINT[i % PAINT.length] ?? pc.white);
    const first = owner[c - 1] !== i;
    cells.push(paint(first ? String(p.number % 10) : p.recovery ? "▓" : "█"));
  }
  const legend = sorted.map((p, i) => {
    const paint = p.recovery
      ? (s: string) => pc.bold(pc.green(s))
      : (PAINT[i % PAINT.length] ?? pc.white);
    const size = formatBytes((p.lastLba - p.firstLba + 1n) * BigInt(disk.sectorSize));
    const mark = p.recovery ? pc.bold(pc.green("  ◀ recovery")) : "";
    return `  ${paint(String(p.number).padStart(2))}  ${size.padStart(9)}  ${p.typeName}${p.name ? ` "${p.name}"` : ""}${mark}`;
  });
  const diskSize = formatBytes(disk.totalSectors * BigInt(disk.sectorSize));
  return [`┃${cells.join("")}┃  ${diskSize}`, ...legend].join("\n");
}
