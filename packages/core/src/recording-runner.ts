import { Readable } from "node:stream";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { CommandError } from "./errors.js";
import type {
  CommandRunner,
  RunBytesResult,
  RunningCommand,
  RunOptions,
  RunResult,
  SpawnOptions,
} from "./runner.js";

/** One call a {@link RecordingRunner} received. */
export interface RecordedCall {
  readonly command: string;
  readonly args: readonly string[];
  readonly options: RunOptions | SpawnOptions;
}

/** What a {@link RecordingRunner} answers to a call. */
export type RecordedResponse =
  | { readonly stdout?: string | Uint8Array; readonly stderr?: string; readonly exitCode?: number }
  | { readonly error: CommandError };

/** A {@link CommandRunner} that runs nothing and remembers every call. */
export interface RecordingRunner extends CommandRunner {
  readonly calls: readonly RecordedCall[];
}

/**
 * A runner for testing code that only builds command lines: it records each
 * call and answers from `respond` (default: success with empty output). It is
 * not a stand-in for a real tool in tests of behaviour.
 *
 * @example
 * ```ts
 * const runner = createRecordingRunner((call) =>
 *   call.command === "partx" ? { error: busyError } : { stdout: "" });
 * await rereadPartitions(runner, "/dev/sda");
 * expect(runner.calls[0]?.args).toEqual(["-u", "/dev/sda"]);
 * ```
 */
export function createRecordingRunner(
  respond: (call: RecordedCall) => RecordedResponse = () => ({}),
): RecordingRunner {
  const calls: RecordedCall[] = [];

  function answer(command: string, args: readonly string[], options: RunOptions | SpawnOptions) {
    const call = { command, args: [...args], options };
    calls.push(call);
    return respond(call);
  }

  function asBytes(value: string | Uint8Array | undefined): Uint8Array {
    if (value === undefined) return new Uint8Array();
    return typeof value === "string" ? new TextEncoder().encode(value) : value;
  }

  function complete<T>(
    command: string,
    args: readonly string[],
    options: RunOptions,
    shape: (stdout: Uint8Array) => T,
  ): ResultAsync<T & Omit<RunResult, "stdout">, CommandError> {
    const response = answer(command, args, options);
    if ("error" in response) return errAsync(response.error);
    return okAsync({
      command,
      args,
      exitCode: response.exitCode ?? 0,
      stderr: response.stderr ?? "",
      durationMs: 0,
      ...shape(asBytes(response.stdout)),
    });
  }

  return {
    calls,
    run(command, args, options = {}): ResultAsync<RunResult, CommandError> {
      return complete(command, args, options, (b) => ({ stdout: new TextDecoder().decode(b) }));
    },
    runBytes(command, args, options = {}): ResultAsync<RunBytesResult, CommandError> {
      return complete(command, args, options, (b) => ({ stdout: b }));
    },
    spawn(command, args, options = {}): RunningCommand {
      const response = answer(command, args, options);
      const stdout = Readable.from(
        "error" in response ? [] : [Buffer.from(asBytes(response.stdout))],
      );
      const done =
        "error" in response
          ? errAsync<never, CommandError>(response.error)
          : okAsync({
              command,
              args,
              exitCode: response.exitCode ?? 0,
              stderr: response.stderr ?? "",
              durationMs: 0,
            });
      return { pid: undefined, stdout, stdin: undefined, done, kill: () => {} };
    },
  };
}
