/** A partition name is 36 UTF-16LE code units, NUL-terminated when shorter. */
export const NAME_UNITS = 36;

/** Decode code units up to the first NUL; lone surrogates are kept as they are. */
export function decodeName(bytes: Uint8Array, offset: number): string {
  const units: number[] = [];
  for (let i = 0; i < NAME_UNITS; i++) {
    const unit = bytes[offset + 2 * i]! | (bytes[offset + 2 * i + 1]! << 8);
    if (unit === 0) break;
    units.push(unit);
  }
  return String.fromCharCode(...units);
}

/** Write the name's code units and, when shorter than 36, one NUL; later bytes are left alone. */
export function encodeName(name: string, bytes: Uint8Array, offset: number): void {
  const n = Math.min(name.length, NAME_UNITS);
  for (let i = 0; i < n; i++) {
    const unit = name.charCodeAt(i);
    bytes[offset + 2 * i] = unit & 0xff;
    bytes[offset + 2 * i + 1] = unit >> 8;
  }
  if (n < NAME_UNITS) {
    bytes[offset + 2 * n] = 0;
    bytes[offset + 2 * n + 1] = 0;
  }
}

/** Bytes after the terminator are zero (so the model alone reproduces the name field). */
export function nameTailIsZero(bytes: Uint8Array, offset: number, name: string): boolean {
  for (let i = offset + 2 * (name.length + 1); i < offset + 2 * NAME_UNITS; i++) {
    if (bytes[i] !== 0) return false;
  }
  return true;
}
