/**
 * Bytes in words: the project's one byte formatter (`@lifeboat/core`), so a
 * plan's warnings, steps and data-loss lines and the CLI all print a size
 * alike (`1536` gives `"1.5 KiB"`, `37 * 2 ** 30` gives `"37.0 GiB"`).
 */
export { formatBytes } from "@lifeboat/core";

/** `n` things in words: `count(2, "snapshot")` gives `"2 snapshots"`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
