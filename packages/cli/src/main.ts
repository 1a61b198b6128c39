import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands/index.js";
import { type CliContext, createContext } from "./context.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";

/** How a command's action is wired: it gets the context and its parsed arguments, and returns an exit code. */
export type Action = (ctx: CliContext, ...args: never[]) => Promise<ExitCodeValue>;

/**
 * Run the `lifeboat` command line with `argv` (as `process.argv`). Resolves to
 * the exit code; never calls `process.exit` itself.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const abort = new AbortController();
  // Ctrl-C, a closed terminal or `kill`: cancel the work, then release mounts and loop devices.
  const onSigint = () => abort.abort();
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const s of signals) process.once(s, onSigint);
  let exitCode: number = ExitCode.Ok;
  const program = new Command("lifeboat")
    .description(
      "Lifeboat: recovery partition, factory snapshot and a reset that survives power loss.",
    )
    .option("--json", "print one JSON document on stdout (for scripts)")
    .option(
      "--progress <mode>",
      "json: a run's progress events as JSON lines on stderr (for scripts and UIs)",
    )
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const wrap =
    (action: Action) =>
    async (...args: unknown[]) => {
      const globals = program.opts<{ json?: boolean; progress?: string }>();
      const json = Boolean(globals.json);
      const ctx = createContext({
        json,
        signal: abort.signal,
        progressJson: globals.progress === "json",
      });
      exitCode = await (action as (ctx: CliContext, ...a: unknown[]) => Promise<ExitCodeValue>)(
        ctx,
        ...args,
      );
    };
  registerCommands(program, wrap);
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    throw e;
  } finally {
    for (const s of signals) process.removeListener(s, onSigint);
  }
  return abort.signal.aborted && exitCode === ExitCode.Ok ? ExitCode.Interrupted : exitCode;
}
