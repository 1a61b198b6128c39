/**
 * GRUB script quoting.
 *
 * GRUB's lexer (grub-core/script/yylex.l) reads a single-quoted string as
 * every byte up to the next `'`, with no escapes at all; a line break inside
 * it is literal (but GRUB's config reader drops a continuation line that
 * starts with `#`, so each one is made to start with `''`). So any string becomes one literal word by closing the
 * quote, writing `\'`, and reopening: `it's` is `'it'\''s'`. What no
 * quoting can carry: NUL (GRUB strings are C strings), a carriage return
 * (GRUB's config reader drops every `\r`, checked with grub-emu 2.06), and,
 * from JavaScript, an unpaired surrogate (it has no UTF-8 form).
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import { type GrubUnrepresentableError, unrepresentable } from "./errors.js";

// Words that need no quotes: a conservative set GRUB's lexer treats as plain characters.
const BARE = /^[A-Za-z0-9_./,:+=@%-]+$/;
// Reserved words of GRUB script: quoted even where GRUB would take them as plain words.
const RESERVED = new Set([
  "!",
  "[[",
  "]]",
  "case",
  "do",
  "done",
  "elif",
  "else",
  "esac",
  "fi",
  "for",
  "function",
  "if",
  "in",
  "menuentry",
  "select",
  "submenu",
  "then",
  "time",
  "until",
  "while",
]);

/**
 * Find the first character GRUB cannot carry, or `undefined` when there is none.
 *
 * @example
 * ```ts
 * findUnrepresentable("a\0b"); // { index: 1, reason: "nul" }
 * findUnrepresentable("plain"); // undefined
 * ```
 */
export function findUnrepresentable(
  value: string,
): { index: number; reason: "nul" | "carriage-return" | "lone-surrogate" } | undefined {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0) return { index: i, reason: "nul" };
    if (c === 13) return { index: i, reason: "carriage-return" };
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return { index: i, reason: "lone-surrogate" };
    }
    if (c >= 0xdc00 && c <= 0xdfff) return { index: i, reason: "lone-surrogate" };
  }
  return undefined;
}

/**
 * Check that GRUB can carry `value`.
 *
 * @example
 * ```ts
 * checkGrubString("Recovery").isOk(); // true
 * checkGrubString("a\r").isErr(); // true: GRUB_UNREPRESENTABLE, reason "carriage-return"
 * ```
 */
export function checkGrubString(value: string): Result<string, GrubUnrepresentableError> {
  const bad = findUnrepresentable(value);
  return bad === undefined ? ok(value) : err(unrepresentable(value, bad.index, bad.reason));
}

/**
 * Quote a string as one literal GRUB word: whatever it holds (quotes, `$`,
 * `;`, line breaks, backslashes, non-ASCII), GRUB reads back exactly it,
 * never code.
 *
 * @example
 * ```ts
 * quoteGrubWord("Fedora (6.8)").unwrapOr(""); // "'Fedora (6.8)'"
 * quoteGrubWord("it's").unwrapOr(""); // "'it'\\''s'"
 * quoteGrubWord("quiet").unwrapOr(""); // "quiet"
 * ```
 */
export function quoteGrubWord(value: string): Result<string, GrubUnrepresentableError> {
  return checkGrubString(value).map((v) => {
    if (BARE.test(v) && !RESERVED.has(v)) return v;
    if (v === "") return "''";
    // GRUB's config reader drops a line whose first byte is `#` (and chokes on
    // some blank ones) even inside quotes, so every line a quoted word
    // continues on starts with an empty quoted string: `''`.
    return `'${v.replaceAll("'", "'\\''").replaceAll("\n", "\n''")}'`;
  });
}
