/**
 * Replace every identifier in `map` (old -> new, same length) inside `bytes`,
 * in lower and upper case. Same-length substitution never moves a byte, so it
 * is safe in text files and in binaries that embed the identifier as text
 * (a GRUB EFI image with an embedded config). Returns undefined when nothing changed.
 */
export function substituteIds(bytes: Buffer, map: ReadonlyMap<string, string>): Buffer | undefined {
  let out: Buffer | undefined;
  for (const [from, to] of map) {
    if (from.length !== to.length) throw new Error(`identifier lengths differ: ${from} -> ${to}`);
    for (const [a, b] of [
      [from.toLowerCase(), to.toLowerCase()],
      [from.toUpperCase(), to.toUpperCase()],
    ] as const) {
      const needle = Buffer.from(a, "latin1");
      const replacement = Buffer.from(b, "latin1");
      let at = (out ?? bytes).indexOf(needle);
      while (at !== -1) {
        out ??= Buffer.from(bytes);
        replacement.copy(out, at);
        at = out.indexOf(needle, at + needle.length);
      }
    }
  }
  return out;
}
