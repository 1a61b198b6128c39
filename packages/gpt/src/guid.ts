/**
 * GUIDs as GPT stores them: 16 bytes, the first three groups little-endian
 * ("mixed-endian"), the last two as written. In the API a GUID is always the
 * lower-case text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
 *
 * @module
 */
import { randomUUID } from "node:crypto";

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Byte order of the text form's 16 bytes inside the on-disk encoding. */
const ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const;

/** The all-zero GUID: an unused partition entry has it as its type. */
export const ZERO_GUID = "00000000-0000-0000-0000-000000000000";

/**
 * True when `text` is a GUID in any letter case.
 *
 * @example
 * ```ts
 * isGuid("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"); // true
 * ```
 */
export function isGuid(text: string): boolean {
  return GUID_RE.test(text.toLowerCase());
}

/**
 * Read a mixed-endian GUID from 16 bytes at `offset`.
 *
 * @example
 * ```ts
 * decodeGuid(entryBytes, 0); // "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
 * ```
 */
export function decodeGuid(bytes: Uint8Array, offset = 0): string {
  let s = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += HEX[bytes[offset + ORDER[i]!]!]!;
  }
  return s;
}

/**
 * Write a GUID (text form, any case) as 16 mixed-endian bytes at `offset`.
 * The caller checks the text with {@link isGuid} first.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(16);
 * encodeGuid("c12a7328-f81f-11d2-ba4b-00a0c93ec93b", out, 0); // out[0] === 0x28
 * ```
 */
export function encodeGuid(guid: string, target: Uint8Array, offset = 0): void {
  const hex = guid.replace(/-/g, "");
  for (let i = 0; i < 16; i++) {
    target[offset + ORDER[i]!] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
}

/**
 * A new random (version 4) GUID, lower case.
 *
 * @example
 * ```ts
 * const diskGuid = randomGuid();
 * ```
 */
export function randomGuid(): string {
  return randomUUID();
}
