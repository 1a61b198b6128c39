import { Readable } from "node:stream";
import { type Options as ExecaOptions, type Result as ExecaResult, execa } from "execa";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import type { CommandError } from "./errors.js";
import { installHint } from "./install-hints.js";
import {
  type CommandRunner,
  type RunBytesResult,
  type RunningCommand,
  type RunOptions,
  type RunResult,
  type SpawnOptions,
  type StreamRunResult,
  tail,
} from "./runner.js";

/** Options for {@link createExecaRunner}. */
export interface ExecaRunnerOptions {
  /** Environment added to every run (e.g. `{ LC_ALL: "C" }`, the default). */
  readonly env?: Readonly<Record<string, string>>;
}

type AnyResult = ExecaResult<ExecaOptions> & { readonly code?: string };

function baseOptions(
  defaults: Readonly<Record<string, string>>,
  options: RunOptions | SpawnOptions,
): ExecaOptions {
  return {
    reject: false,
    stripFinalNewline: false,
    env: { ...defaults, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  };
}

function stdinOptions(stdin: RunOptions["stdin"] | "pipe"): ExecaOptions {
  if (stdin === undefined) return { stdin: "ignore" };
  if (stdin === "pipe") return { stdin: "pipe" };
  if (typeof stdin === "string" || stdin instanceof Uint8Array) return { input: stdin };
  return { stdin: "pipe" };
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  return "";
}

function toError(
  command: string,
  args: readonly string[],
  options: RunOptions | SpawnOptions,
  r: AnyResult,
): CommandError | undefined {
  const durationMs = Math.round(r.durationMs ?? 0);
  const stderrTail = tail(text(r.stderr));
  if (r.code === "ENOENT" && r.exitCode === undefined) {
    const hint = installHint(command);
    return {
      code: "COMMAND_NOT_FOUND",
      message: `${command} is not installed${hint ? `; install it with: ${hint}` : ""}.`,
      command,
      installHint: hint,
      cause: r.cause,
    };
  }
  if (r.isCanceled)
    return {
      code: "ABORTED",
      message: `Cancelled while running ${command}.`,
      during: `running ${command}`,
    };
  if (r.timedOut) {
    return {
      code: "COMMAND_TIMED_OUT",
      message: `${command} did not finish within ${options.timeoutMs} ms and was killed.`,
      command,
      args,
      timeoutMs: options.timeoutMs ?? 0,
      stderrTail,
      durationMs,
    };
  }
  const ok =
    r.exitCode === 0 ||
    (r.exitCode !== undefined && (options.okExitCodes ?? []).includes(r.exitCode));
  if (ok && !r.signal) return undefined;
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
  const firstLine = stderrTail.trim().split("\n").pop() ?? "";
  return {
    code: "COMMAND_FAILED",
    message: `${command} ${how}${firstLine ? `: ${firstLine}` : "."}`,
    command,
    args,
    exitCode: r.exitCode,
    signal: r.signal,
    stderrTail,
    durationMs,
  };
}

function settle<T>(
  command: string,
  args: readonly string[],
  options: RunOptions | SpawnOptions,
  promise: Promise<AnyResult>,
  shape: (r: AnyResult) => T,
): ResultAsync<T, CommandError> {
  return ResultAsync.fromSafePromise(promise).andThen((r) => {
    const error = toError(command, args, options, r);
    return error ? errAsync(error) : okAsync(shape(r));
  });
}

function facts(command: string, args: readonly string[], r: AnyResult): StreamRunResult {
  return {
    command,
    args,
    exitCode: r.exitCode ?? 0,
    stderr: text(r.stderr),
    durationMs: Math.round(r.durationMs ?? 0),
  };
}

/**
 * The production {@link CommandRunner}, backed by execa. Runs programs with
 * argument arrays only, with `LC_ALL=C` so tool output is parseable.
 *
 * @example
 * ```ts
 * const runner = createExecaRunner();
 * const listed = await runner.run("btrfs", ["subvolume", "list", "/mnt"]);
 * ```
 */
export function createExecaRunner(runnerOptions: ExecaRunnerOptions = {}): CommandRunner {
  const defaults = { LC_ALL: "C", ...runnerOptions.env };

  function start(
    command: string,
    args: readonly string[],
    options: RunOptions | SpawnOptions,
    extra: ExecaOptions,
  ) {
    const child = execa(command, [...args], {
      ...baseOptions(defaults, options),
      ...stdinOptions(options.stdin),
      ...extra,
    });
    const input = options.stdin;
    if (input instanceof Readable && child.stdin) {
      input.pipe(child.stdin);
      child.stdin.on("error", () => {}); // EPIPE when the program exits early; reported through its exit code
    }
    return child;
  }

  return {
    run(command, args, options = {}): ResultAsync<RunResult, CommandError> {
      const child = start(command, args, options, { encoding: "utf8" });
      return settle(command, args, options, child as Promise<AnyResult>, (r) => ({
        ...facts(command, args, r),
        stdout: text(r.stdout),
      }));
    },
    runBytes(command, args, options = {}): ResultAsync<RunBytesResult, CommandError> {
      const child = start(command, args, options, { encoding: "buffer" });
      return settle(command, args, options, child as Promise<AnyResult>, (r) => ({
        ...facts(command, args, r),
        stdout: r.stdout instanceof Uint8Array ? r.stdout : new Uint8Array(),
      }));
    },
    spawn(command, args, options = {}): RunningCommand {
      const child = start(command, args, options, {
        buffer: { stdout: false, stderr: true },
        encoding: "buffer",
      });
      const stdout = child.stdout;
      if (!stdout) throw new Error("execa did not give a stdout stream");
      const done = settle(command, args, options, child as Promise<AnyResult>, (r) =>
        facts(command, args, r),
      );
      return {
        pid: child.pid,
        stdout,
        stdin: options.stdin === "pipe" ? (child.stdin ?? undefined) : undefined,
        done,
        kill: (signal = "SIGTERM") => {
          child.kill(signal);
        },
      };
    },
  };
}
