import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { isatty, ReadStream } from "node:tty";
import type { CliContext } from "../context.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { loadTrustedKeys } from "./_shared.js";

/** Options of the interactive `lifeboat recovery` (no `--request`). */
export interface RecoveryUiOpts {
  readonly disk: string;
  readonly trustedKey?: string[];
  readonly lang?: string;
  readonly ascii?: boolean;
  /** Open on the "reset, keep my files" confirmation (`--factory-reset`, GRUB's "Reset to factory settings"). */
  readonly factoryReset?: boolean;
}

async function cmdline(): Promise<string> {
  return readFile("/proc/cmdline", "utf8").catch(() => "");
}

function shell(): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.env.SHELL ?? "/bin/sh", [], { stdio: "inherit" });
    child.on("exit", () => resolve());
    child.on("error", () => resolve());
  });
}

/**
 * The guided front end (`@lifeboat/recovery-ui`, loaded only here). Restart
 * and power off act on the machine only in the recovery environment
 * (`LIFEBOAT_MODE` set by its init); elsewhere they are reported and the
 * command exits. The expert shell returns to the front end when it exits.
 */
export async function runRecoveryFrontEnd(
  ctx: CliContext,
  opts: RecoveryUiOpts,
): Promise<ExitCodeValue> {
  // A person at a terminal gets the full-screen front end even when CI variables are set
  // (Ink reads them once, when it is loaded, and would only print a final frame).
  if (process.stdout.isTTY) {
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
  }
  const ui = await import("@lifeboat/recovery-ui");
  const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
  const runDirectory = process.env.LIFEBOAT_RUN_DIR;
  const requested = opts.lang ?? "";
  const locale =
    requested in ui.LOCALES
      ? (requested as keyof typeof ui.LOCALES)
      : ui.localeFromCmdline(await cmdline());
  const backend = ui.machineBackend(ctx.runner, {
    disk: opts.disk,
    trustedKeys,
    ...(runDirectory ? { runDirectory } : {}),
  });
  // Only the first run starts on the confirmation: back from the expert shell is the main menu.
  let start: "reset-keep-home" | undefined = opts.factoryReset ? "reset-keep-home" : undefined;
  for (;;) {
    // Each round reads the terminal through its own stream, closed when the round ends: a
    // stream left open (process.stdin after Ink) goes on reading the terminal and takes part
    // of what is typed into the expert shell.
    const input = isatty(0) ? new ReadStream(0) : undefined;
    let action: Awaited<ReturnType<typeof ui.runRecoveryUi>>;
    try {
      action = await ui.runRecoveryUi({
        backend,
        ...(locale ? { locale } : {}),
        ...(opts.ascii ? { ascii: true } : {}),
        ...(start ? { start } : {}),
        ...(input ? { stdin: input } : {}),
      });
    } finally {
      if (input) {
        input.setRawMode(false);
        input.destroy();
      }
    }
    start = undefined;
    if (action === "shell") {
      ctx.stderr.write("Expert shell: type 'exit' to return to the recovery menu.\n");
      await shell();
      continue;
    }
    const program = action === "restart" ? "reboot" : "poweroff";
    if (process.env.LIFEBOAT_MODE) {
      await ctx.runner.run("sync", []);
      await ctx.runner.run(program, ["-f"]);
    } else
      ctx.stdout.write(
        `LIFEBOAT-RECOVERY ${action} chosen (not in the recovery environment: nothing else done).\n`,
      );
    return ExitCode.Ok;
  }
}
