/**
 * The error model shared by every Lifeboat package.
 *
 * Errors are plain, serialisable data: a stable `code` a front end branches
 * on, a `message` a person can act on, the `cause` when there is one, and the
 * numbers a UI needs. Public functions return them inside neverthrow
 * `Result`s; they are never thrown.
 *
 * @module
 */

/**
 * The fields every Lifeboat error has.
 *
 * @typeParam C - the stable error code, e.g. `"COMMAND_FAILED"`.
 */
export interface ErrorBase<C extends string = string> {
  /** Stable, machine-readable code. Never changes meaning between versions. */
  readonly code: C;
  /** A sentence a person can act on. */
  readonly message: string;
  /** The underlying error, when there is one. */
  readonly cause?: unknown;
}

/** A program ran and exited non-zero (or was killed by a signal). */
export interface CommandFailedError extends ErrorBase<"COMMAND_FAILED"> {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /** The last few KiB of the program's standard error. */
  readonly stderrTail: string;
  readonly durationMs: number;
}

/** A program could not be started because it is not installed. */
export interface CommandNotFoundError extends ErrorBase<"COMMAND_NOT_FOUND"> {
  readonly command: string;
  /** The command that installs it on Debian/Fedora, when known. */
  readonly installHint: string | undefined;
}

/** A program ran longer than its timeout and was killed. */
export interface CommandTimedOutError extends ErrorBase<"COMMAND_TIMED_OUT"> {
  readonly command: string;
  readonly args: readonly string[];
  readonly timeoutMs: number;
  readonly stderrTail: string;
  readonly durationMs: number;
}

/** The caller's `AbortSignal` fired. */
export interface AbortedError extends ErrorBase<"ABORTED"> {
  readonly during: string;
}

/** A tool's output did not have the shape we expected. */
export interface ParseFailedError extends ErrorBase<"PARSE_FAILED"> {
  /** What was being parsed, e.g. `"lsblk -J"`. */
  readonly source: string;
  readonly issues: readonly string[];
}

/** A file system call failed. */
export interface IoFailedError extends ErrorBase<"IO_FAILED"> {
  readonly path: string;
  readonly operation: string;
  /** The errno code (`ENOENT`, `EACCES`, ...) when there is one. */
  readonly errno: string | undefined;
}

/** A path from outside would escape the directory it must stay in, or contains a NUL byte. */
export interface UnsafePathError extends ErrorBase<"UNSAFE_PATH"> {
  readonly path: string;
  readonly reason: "absolute" | "traversal" | "nul-byte" | "empty" | "symlink-escape";
}

/** An argument is out of its allowed range or shape. */
export interface InvalidArgumentError extends ErrorBase<"INVALID_ARGUMENT"> {
  readonly argument: string;
}

/** A destructive plan was run without the digest of the plan the user saw. */
export interface ConfirmationRequiredError extends ErrorBase<"CONFIRMATION_REQUIRED"> {
  readonly planDigest: string;
}

/** A destructive plan was run with a digest that is not this plan's. */
export interface ConfirmationMismatchError extends ErrorBase<"CONFIRMATION_MISMATCH"> {
  readonly planDigest: string;
  readonly given: string;
}

/** A plan's contents do not match its recorded digest: it was changed after it was made. */
export interface PlanTamperedError extends ErrorBase<"PLAN_TAMPERED"> {
  readonly recorded: string;
  readonly actual: string;
}

/** A value cannot be encoded as canonical JSON (a non-finite number, a bigint, `undefined` in an array). */
export interface PlanEncodingError extends ErrorBase<"PLAN_ENCODING"> {
  /** Where in the value, e.g. `$.steps[2].params.bytes`. */
  readonly at: string;
}

/** A plan names a step kind that the executor has no handler for. */
export interface UnknownStepError extends ErrorBase<"UNKNOWN_STEP"> {
  readonly stepId: string;
  readonly kind: string;
}

/** Another executor holds the lock on this target. */
export interface LockHeldError extends ErrorBase<"LOCK_HELD"> {
  readonly lockPath: string;
  readonly holderPid: number | undefined;
}

/** The journal file is unreadable or belongs to another plan. */
export interface JournalError
  extends ErrorBase<"JOURNAL_CORRUPT" | "JOURNAL_PLAN_MISMATCH" | "JOURNAL_NOT_FOUND"> {
  readonly journalPath: string;
}

/** A step of a plan failed; `cause` holds the step's own error, of the handlers' error type `C`. */
export interface StepFailedError<C extends LifeboatError = LifeboatError>
  extends ErrorBase<"STEP_FAILED"> {
  readonly stepId: string;
  readonly stepIndex: number;
  readonly cause: C;
}

/** A step handler threw instead of returning an error (a broken contract: a bug). */
export interface HandlerThrewError extends ErrorBase<"HANDLER_THREW"> {
  /** The kind of the step whose handler threw. */
  readonly kind: string;
}

/** A precondition of an operation does not hold. */
export interface PreconditionFailedError extends ErrorBase<"PRECONDITION_FAILED"> {
  readonly precondition: string;
}

/** This needs root (or a capability) the process does not have. */
export interface PermissionDeniedError extends ErrorBase<"PERMISSION_DENIED"> {
  readonly operation: string;
}

/** Errors produced by `@lifeboat/core`. */
export type CoreError =
  | CommandFailedError
  | CommandNotFoundError
  | CommandTimedOutError
  | AbortedError
  | ParseFailedError
  | IoFailedError
  | UnsafePathError
  | InvalidArgumentError
  | ConfirmationRequiredError
  | ConfirmationMismatchError
  | PlanTamperedError
  | PlanEncodingError
  | UnknownStepError
  | LockHeldError
  | JournalError
  | StepFailedError
  | HandlerThrewError
  | PreconditionFailedError
  | PermissionDeniedError;

/** The errors of command execution. */
export type CommandError =
  | CommandFailedError
  | CommandNotFoundError
  | CommandTimedOutError
  | AbortedError;

/**
 * Any Lifeboat error: every package's error types extend {@link ErrorBase}, so
 * front ends can always read `code` and `message`.
 */
export type LifeboatError = ErrorBase<string>;

/**
 * Build an error object of a given code.
 *
 * @example
 * ```ts
 * const e = lifeboatError("INVALID_ARGUMENT", "size must be positive", { argument: "size" });
 * e.code; // "INVALID_ARGUMENT"
 * ```
 */
export function lifeboatError<C extends string, X extends object>(
  code: C,
  message: string,
  extra: X,
): ErrorBase<C> & X {
  return { code, message, ...extra };
}

/**
 * Map a Node.js file system error into an {@link IoFailedError}.
 *
 * @example
 * ```ts
 * ResultAsync.fromPromise(readFile(p), (e) => ioError(e, p, "read"));
 * ```
 */
export function ioError(cause: unknown, path: string, operation: string): IoFailedError {
  const errno =
    typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return {
    code: "IO_FAILED",
    message: `Could not ${operation} ${path}: ${detail}`,
    cause,
    path,
    operation,
    errno,
  };
}

/**
 * An {@link AbortedError} for work that stopped because a signal fired.
 *
 * @example
 * ```ts
 * if (signal?.aborted) return err(abortedError("copying chunks"));
 * ```
 */
export function abortedError(during: string, cause?: unknown): AbortedError {
  return {
    code: "ABORTED",
    message: `Cancelled while ${during}.`,
    during,
    ...(cause === undefined ? {} : { cause }),
  };
}

/** True when `value` looks like a Lifeboat error (has a string `code` and `message`). */
export function isLifeboatError(value: unknown): value is LifeboatError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/**
 * Render an error, and its chain of causes, as lines a person can read.
 *
 * @example
 * ```ts
 * console.error(formatError(error));
 * ```
 */
export function formatError(error: LifeboatError): string {
  const lines = [`${error.code}: ${error.message}`];
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 5 && cause !== undefined; depth++) {
    if (isLifeboatError(cause)) {
      lines.push(`  caused by ${cause.code}: ${cause.message}`);
      cause = cause.cause;
    } else {
      lines.push(`  caused by ${cause instanceof Error ? cause.message : String(cause)}`);
      break;
    }
  }
  return lines.join("\n");
}
