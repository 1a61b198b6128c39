/**
 * The errors of `@lifeboat/grub`.
 *
 * @module
 */
import type { CommandError, ErrorBase, IoFailedError, UnsafePathError } from "@lifeboat/core";

/** Why a string cannot be written into a GRUB script. */
export type UnrepresentableReason =
  /** GRUB strings are C strings: a NUL byte ends them. */
  | "nul"
  /** GRUB's config file reader drops every carriage return (seen with grub-emu 2.06). */
  | "carriage-return"
  /** A JavaScript string with an unpaired UTF-16 surrogate has no UTF-8 form. */
  | "lone-surrogate"
  /** A BLS snippet value is the rest of one line: it cannot hold a line break. */
  | "line-break"
  /** A name (variable, command, module, BLS key) outside its allowed characters. */
  | "invalid-name"
  /**
   * A word (or comment line) longer than GRUB's lexer reads: a token of
   * {@link GRUB_TOKEN_MAX_BYTES} UTF-8 bytes at most, quotes included. GRUB
   * 2.06 stops at a longer one with "token too large, exceeds YYLMAX" and
   * drops the whole config file, every other entry included.
   */
  | "too-long";

/**
 * The longest token GRUB's script lexer reads (flex's `YYLMAX` 8192, less
 * its NUL): a rendered word, quotes and escapes included, in UTF-8 bytes.
 * Measured with grub-emu and grub-script-check 2.06: 8191 bytes pass, 8192
 * abort the file.
 */
export const GRUB_TOKEN_MAX_BYTES = 8191;

/** A title, argument or value holds something GRUB (or a BLS file) cannot carry. */
export interface GrubUnrepresentableError extends ErrorBase<"GRUB_UNREPRESENTABLE"> {
  /** The offending string. */
  readonly value: string;
  /** UTF-16 index of the first offending character. */
  readonly index: number;
  readonly reason: UnrepresentableReason;
}

/** `grub-script-check` rejected a rendered script. */
export interface GrubScriptInvalidError extends ErrorBase<"GRUB_SCRIPT_INVALID"> {
  /** The file that was checked. */
  readonly path: string;
  /** The line GRUB names (`grub-script-check` prints "Syntax error at line N"), when it names one. */
  readonly line: number | undefined;
  readonly stderrTail: string;
}

/** A BLS snippet could not be read. */
export interface GrubBlsInvalidError extends ErrorBase<"GRUB_BLS_INVALID"> {
  /** 1-based line number. */
  readonly line: number;
  readonly text: string;
}

/** A GRUB environment block (`grubenv`) that cannot be read or written. */
export interface GrubEnvInvalidError extends ErrorBase<"GRUB_ENV_INVALID"> {
  /**
   * `signature`: the file does not start with GRUB's signature line;
   * `truncated`: a value runs past the end; `name`: not a variable name;
   * `value`: a NUL character; `too-large`: the variables do not fit the block.
   */
  readonly reason: "signature" | "truncated" | "name" | "value" | "too-large";
}

/** A mounted /boot has no Boot Loader Specification entry to take the installed system from. */
export interface GrubNoBlsEntryError extends ErrorBase<"GRUB_NO_BLS_ENTRY"> {
  /** The directory looked in, relative to /boot (`loader/entries`). */
  readonly directory: string;
  /** `missing`: no such directory; `empty`: no `*.conf` in it. */
  readonly reason: "missing" | "empty";
}

/**
 * Kernel arguments that cannot reach the kernel as given: the string of
 * `parseKernelArgsOption`, one argument of a BLS `options` line, or one
 * argument of a rendered `linux` command.
 */
export interface GrubBadKernelArgsError extends ErrorBase<"GRUB_BAD_KERNEL_ARGS"> {
  /** The arguments as given (one string), or the one offending argument. */
  readonly value: string;
  /** UTF-16 index of the offending character. */
  readonly index: number;
  /**
   * `control-character`: a tab, line break, NUL or other control character
   * (the kernel splits its command line at tabs and line breaks, so one
   * argument would become two); `unbalanced-quote`: an odd `"`;
   * `space`: a space outside double quotes inside one argument of a
   * command line (it would be two arguments).
   */
  readonly reason: "control-character" | "unbalanced-quote" | "space";
}

/** What rendering a GRUB script or a BLS snippet can refuse. */
export type GrubRenderError = GrubUnrepresentableError | GrubBadKernelArgsError;

/** Every error `@lifeboat/grub` returns. */
export type GrubError =
  | GrubUnrepresentableError
  | GrubScriptInvalidError
  | GrubBlsInvalidError
  | GrubEnvInvalidError
  | GrubNoBlsEntryError
  | GrubBadKernelArgsError
  | CommandError
  | IoFailedError
  | UnsafePathError;

/** @internal */
export function unrepresentable(
  value: string,
  index: number,
  reason: UnrepresentableReason,
): GrubUnrepresentableError {
  const what: Record<UnrepresentableReason, string> = {
    nul: "a NUL character",
    "carriage-return": "a carriage return (GRUB's config reader drops it)",
    "lone-surrogate": "an unpaired UTF-16 surrogate (no UTF-8 form)",
    "line-break": "a line break (a BLS value is one line)",
    "invalid-name": "a character not allowed in a name",
    "too-long": `more than ${GRUB_TOKEN_MAX_BYTES} bytes in one word (GRUB's lexer limit; GRUB would drop the whole config)`,
  };
  return {
    code: "GRUB_UNREPRESENTABLE",
    message:
      reason === "too-long"
        ? `Cannot write ${JSON.stringify(`${value.slice(0, 60)}…`)} (${Buffer.byteLength(value)} bytes) for GRUB: it is ${what[reason]}.`
        : `Cannot write ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} for GRUB: it holds ${what[reason]} at index ${index}.`,
    value,
    index,
    reason,
  };
}

const BAD_ARGS_WHAT: Record<GrubBadKernelArgsError["reason"], string> = {
  "control-character":
    "a control character (the kernel splits its command line at tabs and line breaks)",
  "unbalanced-quote": "an unbalanced double quote",
  space: "a space outside double quotes (it would be two arguments)",
};

/** @internal */
export function badKernelArgs(
  value: string,
  index: number,
  reason: GrubBadKernelArgsError["reason"],
): GrubBadKernelArgsError {
  const at = reason === "control-character" ? ` ${JSON.stringify(value[index])}` : "";
  return {
    code: "GRUB_BAD_KERNEL_ARGS",
    message: `Kernel argument ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} holds ${BAD_ARGS_WHAT[reason]}${at} at index ${index}; separate arguments with spaces.`,
    value,
    index,
    reason,
  };
}
