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
  | "invalid-name";

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

/** Kernel arguments given as one string that cannot be used as given. */
export interface GrubBadKernelArgsError extends ErrorBase<"GRUB_BAD_KERNEL_ARGS"> {
  /** The arguments as given. */
  readonly value: string;
  /** UTF-16 index of the offending character. */
  readonly index: number;
  /** `control-character`: a tab, line break or other control character; `unbalanced-quote`: an odd `"`. */
  readonly reason: "control-character" | "unbalanced-quote";
}

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
  };
  return {
    code: "GRUB_UNREPRESENTABLE",
    message: `Cannot write ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} for GRUB: it holds ${what[reason]} at index ${index}.`,
    value,
    index,
    reason,
  };
}
