/**
 * Sizes in words a person reads. The one byte formatter of the project: the
 * CLI and every package's error messages use it.
 *
 * @module
 */

/**
 * A byte count in binary units, one decimal below 100.
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.5 KiB"
 * formatBytes(8n * 1024n ** 3n); // "8.0 GiB"
 * ```
 */
export function formatBytes(bytes: number | bigint): string {
  let n = Number(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let unit = 0;
  while (Math.abs(n) >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : 1)} ${units[unit]}`;
}
