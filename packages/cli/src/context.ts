import type { Writable } from "node:stream";
import {
  type CommandRunner,
  createExecaRunner,
  formatError,
  isLifeboatError,
  type LifeboatError,
} from "@lifeboat/core";
import pc from "picocolors";
import { ExitCode, type ExitCodeValue, exitCodeFor } from "./exit-codes.js";

/** What every command gets: the runner, the output mode and the streams. */
export interface CliContext {
  readonly runner: CommandRunner;
  /** `--json`: one JSON document on stdout, nothing else there. */
  readonly json: boolean;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** True when stdout is a terminal a person is looking at (progress bars, prompts). */
  readonly interactive: boolean;
  /** Cancelled on Ctrl-C. */
  readonly signal: AbortSignal;
  /** `--progress=json`: executor events as JSON lines on stderr (one object a line). */
  readonly progressJson?: boolean;
  /** `--via-service`: run through lifeboatd on the system bus instead of in this process. */
  readonly viaService?: boolean;
}

/** The success document of `--json` output. */
export interface JsonSuccess<T> {
  readonly ok: true;
  readonly command: string;
  readonly data: T;
}

/** The failure document of `--json` output. */
export interface JsonFailure {
  readonly ok: false;
  readonly command: string;
  readonly exitCode: number;
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly [key: string]: unknown;
  };
}

/** Make the context for a real run. */
export function createContext(options: {
  json: boolean;
  signal: AbortSignal;
  progressJson?: boolean;
  viaService?: boolean;
  /** Where the command's output goes (default `process.stdout`). */
  stdout?: Writable;
}): CliContext {
  return {
    progressJson: options.progressJson ?? false,
    viaService: options.viaService ?? false,
    runner: createExecaRunner(),
    json: options.json,
    stdout: options.stdout ?? process.stdout,
    stderr: process.stderr,
    interactive: Boolean(process.stdout.isTTY) && !options.json,
    signal: options.signal,
  };
}

/** Print a line for people (suppressed in `--json` mode, where stdout is reserved for the document). */
export function say(ctx: CliContext, text = ""): void {
  if (!ctx.json) ctx.stdout.write(`${text}\n`);
}

/** Print a line to stderr (notes, warnings), in both modes. */
export function note(ctx: CliContext, text: string): void {
  ctx.stderr.write(`${text}\n`);
}

/** Finish a command successfully: the JSON document, or the human text. */
export function succeed<T>(
  ctx: CliContext,
  command: string,
  data: T,
  human?: (data: T) => string,
): ExitCodeValue {
  if (ctx.json) {
    const doc: JsonSuccess<T> = { ok: true, command, data };
    ctx.stdout.write(`${JSON.stringify(doc, jsonReplacer, 2)}\n`);
  } else if (human) {
    const text = human(data);
    if (text) ctx.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
  return ExitCode.Ok;
}

/** A thrown value as JSON carries it: `{ code?, message }`, never a raw Node error object. */
function thrownFields(value: unknown): { code?: string; message: string } {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return typeof code === "string" ? { code, message: value.message } : { message: value.message };
  }
  return { message: String(value) };
}

function errorFields(error: LifeboatError): Record<string, unknown> {
  if (error instanceof Error) return thrownFields(error);
  const { cause, ...rest } = error as LifeboatError & Record<string, unknown>;
  const fields: Record<string, unknown> = { ...rest };
  if (cause === undefined) return fields;
  fields.cause = isLifeboatError(cause) ? errorFields(cause) : thrownFields(cause);
  return fields;
}

/**
 * The `--json` failure document of `error`, as the text written on stdout.
 * The exit code is the one its code maps to unless given.
 */
export function failureDocument(
  command: string,
  error: LifeboatError,
  exitCode: number = exitCodeFor(error.code),
): string {
  const doc: JsonFailure = {
    ok: false,
    command,
    exitCode,
    error: errorFields(error) as JsonFailure["error"],
  };
  return `${JSON.stringify(doc, jsonReplacer, 2)}\n`;
}

/** Finish a command with an error: the JSON failure document, or red text. Returns the exit code. */
export function fail(ctx: CliContext, command: string, error: LifeboatError): ExitCodeValue {
  const exitCode = exitCodeFor(error.code);
  if (ctx.json) {
    ctx.stdout.write(failureDocument(command, error, exitCode));
  } else {
    ctx.stderr.write(`${pc.red(pc.bold("error"))} ${pc.red(formatError(error))}\n`);
  }
  return exitCode;
}

/** JSON has no bigint: LBAs and byte counts are written as decimal strings when they exceed 2^53, numbers otherwise. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (value instanceof Error) return thrownFields(value);
  return value;
}
