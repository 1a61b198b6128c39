/** Little-endian field access over a byte array (GPT is little-endian throughout). */
export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function isZero(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Round `value` up to a multiple of `unit`. */
export function ceilDiv(value: bigint, unit: bigint): bigint {
  return (value + unit - 1n) / unit;
}

export function alignUp(value: bigint, unit: bigint): bigint {
  return ceilDiv(value, unit) * unit;
}

export function alignDown(value: bigint, unit: bigint): bigint {
  return (value / unit) * unit;
}
