import type { Readable, Writable } from "node:stream";
import type { ResultAsync } from "neverthrow";
import type { CommandError } from "./errors.js";

/** Options for one program run. */
export interface RunOptions {
  /** Bytes, text or a stream fed to the program's standard input. */
  readonly stdin?: Uint8Array | string | Readable;
  /** Cancels the run: the program is killed and the result is an `ABORTED` error. */
  readonly signal?: AbortSignal;
  /** Kill the program after this many milliseconds (`COMMAND_TIMED_OUT`). */
  readonly timeoutMs?: number;
  /** Extra environment variables, merged over the current environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory. */
  readonly cwd?: string;
  /** Exit codes that count as success besides 0 (e.g. `sgdisk -v` uses 2 for "problems found"). */
  readonly okExitCodes?: readonly number[];
}

/** A finished program run whose output was taken whole as text. */
export interface RunResult {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** A finished program run whose standard output was taken whole as bytes. */
export interface RunBytesResult extends Omit<RunResult, "stdout"> {
  readonly stdout: Uint8Array;
}

/** A finished streaming run: its output went to the stream, so only the facts remain. */
export type StreamRunResult = Omit<RunResult, "stdout">;

/** Options for a streaming run. */
export interface SpawnOptions extends Omit<RunOptions, "stdin"> {
  /** `"pipe"` gives a writable `stdin` on the returned handle. */
  readonly stdin?: Uint8Array | string | Readable | "pipe";
}

/** A program that is still running, with its output as a stream. */
export interface RunningCommand {
  readonly pid: number | undefined;
  /** The program's standard output. Consume it, or the program blocks. */
  readonly stdout: Readable;
  /** The program's standard input, when spawned with `stdin: "pipe"`. */
  readonly stdin: Writable | undefined;
  /** Settles when the program has exited and its output stream has ended. */
  readonly done: ResultAsync<StreamRunResult, CommandError>;
  /** Send a signal (default `SIGTERM`). */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Runs programs with argument arrays (never a shell string). Every Lifeboat
 * function that runs a program takes one of these from its caller, so tests
 * and front ends choose the implementation.
 *
 * @example
 * ```ts
 * import { createExecaRunner } from "@lifeboat/core";
 * const runner = createExecaRunner();
 * const r = await runner.run("lsblk", ["-J", "-b", "-O"]);
 * if (r.isOk()) console.log(r.value.stdout);
 * ```
 */
export interface CommandRunner {
  /** Run to completion; standard output as UTF-8 text. */
  run(
    command: string,
    args: readonly string[],
    options?: RunOptions,
  ): ResultAsync<RunResult, CommandError>;
  /** Run to completion; standard output as bytes. */
  runBytes(
    command: string,
    args: readonly string[],
    options?: RunOptions,
  ): ResultAsync<RunBytesResult, CommandError>;
  /** Start a program whose output is consumed as a stream (gigabytes of `btrfs send`). */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): RunningCommand;
}

/** Keep the last `max` characters of a program's standard error. */
export function tail(text: string, max = 4096): string {
  return text.length <= max ? text : `…${text.slice(text.length - max)}`;
}
