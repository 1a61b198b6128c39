import type { GptTable } from "../model.js";

export interface Gap {
  readonly first: bigint;
  readonly last: bigint;
}

/** Free runs of sectors inside the usable range, in disk order. */
export function freeGaps(
  table: Pick<GptTable, "partitions" | "firstUsableLba" | "lastUsableLba">,
): Gap[] {
  const sorted = [...table.partitions].sort((a, b) => (a.firstLba < b.firstLba ? -1 : 1));
  const gaps: Gap[] = [];
  let next = table.firstUsableLba;
  for (const p of sorted) {
    if (p.firstLba > next) gaps.push({ first: next, last: p.firstLba - 1n });
    if (p.lastLba + 1n > next) next = p.lastLba + 1n;
  }
  if (next <= table.lastUsableLba) gaps.push({ first: next, last: table.lastUsableLba });
  return gaps;
}
