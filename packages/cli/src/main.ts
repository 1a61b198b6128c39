import { Writable } from "node:stream";
import { abortedError, isLifeboatError, type LifeboatError } from "@lifeboat/core";
import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands/index.js";
import { type CliContext, createContext, fail, failureDocument } from "./context.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { asLifeboatError } from "./target.js";
import { VIA_SERVICE_COMMANDS } from "./via-service-commands.js";

/** How a command's action is wired: it gets the context and its parsed arguments, and returns an exit code. */
export type Action = (ctx: CliContext, ...args: never[]) => Promise<ExitCodeValue>;

const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** `--json` among the arguments (before a `--`): known even when parsing them fails. */
function jsonRequested(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).includes("--json");
}

/** `image verify` for the command object of `lifeboat image verify`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** commander's error as a `CLI_USAGE` message: without its "error: " prefix. */
function usageMessage(e: CommanderError, command: string): string {
  if (e.code === "commander.help")
    return `no command given (lifeboat ${command ? `${command} ` : ""}--help lists them)`;
  return e.message.replace(/^error: /, "").trim();
}

/** Holds what a command writes on stdout in `--json` mode, so that exactly one document is printed. */
class DocumentBuffer extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** The command's own failure in its document, if it printed one. */
function failureIn(text: string): LifeboatError | undefined {
  try {
    const doc = JSON.parse(text) as { ok?: unknown; error?: unknown };
    return doc.ok === false && isLifeboatError(doc.error) ? doc.error : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Run the `lifeboat` command line with `argv` (as `process.argv`). Resolves to
 * the exit code; calls `process.exit` only on a second signal, when the
 * command did not stop after the first.
 *
 * With `--json` every outcome is one document on stdout: the command's own;
 * `CLI_USAGE` (exit 2) when the arguments do not parse; `CLI_FAILED` (exit 1)
 * when the command threw; `ABORTED` (exit 130) when a signal interrupted it,
 * printed after the command released what it held (or at once, with
 * `forced: true`, on a second signal).
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const abort = new AbortController();
  let interruptedBy: string | undefined;
  let json = jsonRequested(argv);
  let command = "";
  // Ctrl-C, a closed terminal or `kill`: cancel the work, then release mounts and loop devices.
  // `on`, not `once`: with no listener left, a second handler (execa's) would kill the process.
  // A second signal gives up waiting for a command that does not stop: the document, then exit.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy) {
      if (json) {
        const forced = {
          ...abortedError(`running lifeboat ${command}`.trim()),
          signal,
          forced: true,
        };
        process.stdout.write(failureDocument(command, forced, ExitCode.Interrupted));
      }
      process.exit(ExitCode.Interrupted);
    }
    interruptedBy = signal;
    abort.abort();
  };
  for (const s of signals) process.on(s, onSignal);
  let exitCode: number = ExitCode.Ok;
  const documents = new DocumentBuffer();
  const program = new Command("lifeboat")
    .description(
      "Lifeboat: recovery partition, factory snapshot and a reset that survives power loss.",
    )
    .option("--json", "print one JSON document on stdout (for scripts)")
    .option(
      "--progress <mode>",
      "json: a run's progress events as JSON lines on stderr (for scripts and UIs)",
    )
    .option(
      "--via-service",
      "run through lifeboatd on the system bus (inspect, plan, apply, resume, checkpoint create/rollback), authorized by polkit: no root needed",
    )
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const wrap =
    (action: Action) =>
    async (...args: unknown[]) => {
      const globals = program.opts<{ json?: boolean; progress?: string; viaService?: boolean }>();
      json = Boolean(globals.json);
      const ctx = createContext({
        json,
        signal: abort.signal,
        progressJson: globals.progress === "json",
        viaService: Boolean(globals.viaService),
        ...(json ? { stdout: documents } : {}),
      });
      if (ctx.viaService && !VIA_SERVICE_COMMANDS.has(command)) {
        exitCode = fail(ctx, command, {
          code: "CLI_USAGE",
          message: `lifeboat ${command} is not offered through lifeboatd; --via-service runs ${[...VIA_SERVICE_COMMANDS].join(", ")}`,
        });
        return;
      }
      exitCode = await (action as (ctx: CliContext, ...a: unknown[]) => Promise<ExitCodeValue>)(
        ctx,
        ...args,
      );
    };
  registerCommands(program, wrap);
  const track = (c: Command): void => {
    c.hook("preSubcommand", (_parent, sub) => {
      command = commandPath(sub);
    });
    for (const sub of c.commands) track(sub);
  };
  track(program);

  let failure: LifeboatError | undefined;
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return ExitCode.Ok; // --help
      exitCode = ExitCode.Usage;
      failure = { code: "CLI_USAGE", message: usageMessage(e, command) };
    } else {
      if (!json) throw e;
      process.stderr.write(`lifeboat: internal error: ${e instanceof Error ? e.stack : e}\n`);
      exitCode = ExitCode.Failed;
      failure = asLifeboatError(e);
    }
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
  }
  if (abort.signal.aborted) {
    exitCode = ExitCode.Interrupted;
    const own = failureIn(documents.text);
    const aborted: LifeboatError & { signal?: string } =
      own?.code === "ABORTED"
        ? { ...own }
        : abortedError(`running lifeboat ${command}`.trim(), failure ?? own);
    if (interruptedBy) aborted.signal = interruptedBy;
    failure = aborted;
  }
  if (json) {
    process.stdout.write(failure ? failureDocument(command, failure, exitCode) : documents.text);
  }
  return exitCode;
}
