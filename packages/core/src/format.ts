/**
 * Sizes in words a person reads. The one byte formatter of the project: the
 * CLI and every package's error messages use it.
 *
 * @module
 */

/** Options of {@link formatBytes}. */
export interface FormatBytesOptions {
  /** The decimal separator (default "."); a front end passes its language's, e.g. "," in German. */
  readonly decimalSeparator?: string;
}

/**
 * A byte count in binary units, one decimal below 100.
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.5 KiB"
 * formatBytes(8n * 1024n ** 3n); // "8.0 GiB"
 * formatBytes(1536, { decimalSeparator: "," }); // "1,5 KiB"
 * ```
 */
export function formatBytes(bytes: number | bigint, options: FormatBytesOptions = {}): string {
  let n = Number(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let unit = 0;
  while (Math.abs(n) >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  if (unit === 0) return `${n} B`;
  const digits = n.toFixed(n >= 100 ? 0 : 1);
  return `${options.decimalSeparator === undefined ? digits : digits.replace(".", options.decimalSeparator)} ${units[unit]}`;
}
