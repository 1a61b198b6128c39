/** Quote a string as one POSIX sh word (single quotes; `'` as `'\''`). NUL-free input only. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}
