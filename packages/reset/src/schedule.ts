import { mkdir, readFile, rm, symlink } from "node:fs/promises";
import path from "node:path";
import {
  type CommandRunner,
  type InvalidArgumentError,
  type LifeboatError,
  writeFileAtomic,
} from "@lifeboat/core";
import { factoryResetBlsEntry, parseBlsEntry, writeBlsEntry } from "@lifeboat/grub";
import { err, ok, type Result, type ResultAsync } from "neverthrow";
import { effect, must } from "./_internal/await.js";

/** The unit that runs a scheduled reset. */
export const RESET_UNIT = "lifeboat-factory-reset.service";
/** The BLS entry that boots with `systemd.factory_reset=1`. */
export const RESET_BLS_ENTRY = "lifeboat-factory-reset.conf";

/** Quote one argument for a systemd `ExecStart=` line. */
function quoteUnitArg(arg: string): string {
  const escaped = arg
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("%", "%%")
    .replaceAll("$", "$$$$")
    .replaceAll("\n", "\\n");
  return /^[A-Za-z0-9_./:=@+,-]+$/.test(arg) ? escaped : `"${escaped}"`;
}

/** Options of {@link renderResetUnit}. */
export interface ResetUnitOptions {
  /** The command that runs the planned reset, as an argument array (e.g. the CLI's `reset resume`). */
  readonly execStart: readonly string[];
  readonly description?: string;
}

/**
 * Render the systemd unit that runs a planned reset under
 * `factory-reset.target`, only when the kernel command line has
 * `systemd.factory_reset=1`. Pure.
 *
 * @example
 * ```ts
 * const unit = renderResetUnit({ execStart: ["/usr/bin/lifeboat", "reset", "resume", "--json"] });
 * if (unit.isOk()) await writeFile("/etc/systemd/system/lifeboat-factory-reset.service", unit.value);
 * ```
 */
export function renderResetUnit(options: ResetUnitOptions): Result<string, InvalidArgumentError> {
  if (options.execStart.length === 0 || !path.isAbsolute(options.execStart[0] ?? ""))
    return err({
      code: "INVALID_ARGUMENT",
      message: "execStart must start with an absolute program path.",
      argument: "execStart",
    });
  return ok(
    [
      "[Unit]",
      `Description=${options.description ?? "Lifeboat: run the scheduled factory reset"}`,
      "Documentation=https://github.com/lifeboat/lifeboat/blob/main/docs/safety-model.md",
      "ConditionKernelCommandLine=systemd.factory_reset=1",
      "DefaultDependencies=no",
      "After=local-fs.target",
      "Before=factory-reset.target",
      "",
      "[Service]",
      "Type=oneshot",
      "RemainAfterExit=yes",
      `ExecStart=${options.execStart.map(quoteUnitArg).join(" ")}`,
      "StandardOutput=journal+console",
      "TimeoutStartSec=infinity",
      "",
      "[Install]",
      "WantedBy=factory-reset.target",
      "",
    ].join("\n"),
  );
}

/** Options of {@link scheduleReset}. */
export interface ScheduleResetOptions extends ResetUnitOptions {
  /** The root of the system that will boot (where `etc/systemd/system` is). */
  readonly systemRoot: string;
  /** /boot, mounted. */
  readonly boot: string;
  /** The system's own BLS entry file (relative to /boot) the reset entry is made from. */
  readonly baseEntry: string;
  /** Also make the next boot (only) take the reset entry (`grub-editenv … next_entry`). */
  readonly nextBoot?: boolean;
  /** The grubenv file relative to /boot (default `grub2/grubenv`, Fedora's). */
  readonly grubenv?: string;
}

/**
 * Install a scheduled reset: the unit (enabled for `factory-reset.target`)
 * and the "Reset to factory settings" BLS entry made from the system's own
 * entry with `systemd.factory_reset=1` (`@lifeboat/grub`). With `nextBoot`,
 * the next boot takes that entry once. Re-running is safe.
 *
 * @example
 * ```ts
 * await scheduleReset(runner, {
 *   systemRoot: "/", boot: "/boot", baseEntry: "loader/entries/abc-6.8.5.conf",
 *   execStart: ["/usr/bin/lifeboat", "reset", "resume"], nextBoot: true,
 * });
 * ```
 */
export function scheduleReset(
  runner: CommandRunner,
  options: ScheduleResetOptions,
): ResultAsync<{ unitPath: string; entryPath: string }, LifeboatError> {
  return effect(async () => {
    const unitDir = path.join(options.systemRoot, "etc/systemd/system");
    const unitPath = path.join(unitDir, RESET_UNIT);
    await mkdir(path.join(unitDir, "factory-reset.target.wants"), { recursive: true });
    await must(writeFileAtomic(unitPath, await must(renderResetUnit(options))));
    const link = path.join(unitDir, "factory-reset.target.wants", RESET_UNIT);
    await rm(link, { force: true });
    await symlink(`../${RESET_UNIT}`, link);
    const base = await must(
      parseBlsEntry(await readFile(path.join(options.boot, options.baseEntry), "utf8")),
    );
    const entry = await must(factoryResetBlsEntry(base, { id: "lifeboat-factory-reset" }));
    const entryPath = path.join(options.boot, "loader/entries", RESET_BLS_ENTRY);
    await must(writeBlsEntry(runner, entryPath, entry));
    if (options.nextBoot) {
      const env = path.join(options.boot, options.grubenv ?? "grub2/grubenv");
      await must(runner.run("grub-editenv", [env, "set", "next_entry=lifeboat-factory-reset"]));
    }
    return { unitPath, entryPath };
  }, "schedule the reset");
}
