import { mkdir, readFile, rm, symlink } from "node:fs/promises";
import path from "node:path";
import {
  type CommandRunner,
  type InvalidArgumentError,
  type LifeboatError,
  writeFileAtomic,
} from "@lifeboat/core";
import {
  blsField,
  blsFields,
  blsKernelArgs,
  editGrubenv,
  factoryResetBlsEntry,
  factoryResetMenuEntry,
  parseBlsEntry,
  parseGrubenv,
  renderGrubScript,
  writeBlsEntry,
  writeGrubConfig,
} from "@lifeboat/grub";
import { err, ok, type Result, type ResultAsync } from "neverthrow";
import { effect, must } from "./_internal/await.js";
import { exists } from "./_internal/fs.js";
import { removeMenuBlock, withMenuBlock } from "./_internal/menu-block.js";

/** The unit that runs a scheduled reset. */
export const RESET_UNIT = "lifeboat-factory-reset.service";
/** The BLS entry that boots with `systemd.factory_reset=1`. */
export const RESET_BLS_ENTRY = "lifeboat-factory-reset.conf";
/** The GRUB menu entry id of the reset entry (BLS id and `menuentry --id`). */
export const RESET_ENTRY_ID = "lifeboat-factory-reset";
/**
 * The targets the unit is enabled for: `sysinit.target`, because systemd
 * before v258 has nothing that starts `factory-reset.target` from
 * `systemd.factory_reset=1` (the unit's condition then decides);
 * `factory-reset-now.target`, which v258's `systemd-factory-reset-generator`
 * starts on such a boot; and `factory-reset.target` (the earlier name).
 */
export const RESET_UNIT_WANTED_BY = [
  "sysinit.target",
  "factory-reset.target",
  "factory-reset-now.target",
] as const;

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
  /** The command that runs the planned reset, as an argument array (e.g. the CLI's `reset run-scheduled`). */
  readonly execStart: readonly string[];
  readonly description?: string;
  /**
   * What happens when the command succeeded: `reboot` (default, systemd's
   * `SuccessAction=reboot`: the next boot takes the normal entry) or
   * `continue` (the boot goes on). On failure the boot goes on either way,
   * into the system as it is (the journal says what is left to resume).
   */
  readonly afterwards?: "reboot" | "continue";
}

/**
 * Render the systemd unit that runs a scheduled reset early in the boot
 * (after the local filesystems, before `sysinit.target`), only when the
 * kernel command line has `systemd.factory_reset=1`, on any systemd from
 * v250 on (see {@link RESET_UNIT_WANTED_BY}); by default it reboots when the
 * command succeeded. Pure.
 *
 * @example
 * ```ts
 * const unit = renderResetUnit({ execStart: ["/usr/bin/lifeboat", "reset", "run-scheduled", "--json"] });
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
  const reboot = (options.afterwards ?? "reboot") === "reboot";
  return ok(
    [
      "[Unit]",
      `Description=${options.description ?? "Lifeboat: run the scheduled factory reset"}`,
      "Documentation=https://github.com/lifeboat/lifeboat/blob/main/docs/safety-model.md",
      "ConditionKernelCommandLine=systemd.factory_reset=1",
      "DefaultDependencies=no",
      "After=local-fs.target",
      "Before=sysinit.target factory-reset.target factory-reset-now.target shutdown.target",
      "Conflicts=shutdown.target",
      ...(reboot ? ["SuccessAction=reboot"] : []),
      "",
      "[Service]",
      "Type=oneshot",
      // SuccessAction= fires when the unit goes inactive: with RemainAfterExit=yes it never
      // would (seen on systemd 252: the boot went on instead of rebooting).
      ...(reboot ? [] : ["RemainAfterExit=yes"]),
      `ExecStart=${options.execStart.map(quoteUnitArg).join(" ")}`,
      "StandardOutput=journal+console",
      "StandardError=journal+console",
      "TimeoutStartSec=infinity",
      "",
      "[Install]",
      `WantedBy=${RESET_UNIT_WANTED_BY.join(" ")}`,
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
  /** Also make the next boot (only) take the reset entry (`next_entry` in grubenv). */
  readonly nextBoot?: boolean;
  /** The grubenv file relative to /boot (default `grub2/grubenv`, Fedora's). */
  readonly grubenv?: string;
  /**
   * Also write the reset entry as a GRUB `menuentry`, in a block of its own
   * inside this GRUB script relative to /boot (e.g. `grub2/custom.cfg`,
   * which Fedora's and Debian's grub.cfg source): for a GRUB that does not
   * read BLS entries (no `blscfg`). The rest of the file is kept.
   */
  readonly menuFile?: string;
  /** The filesystem UUID of /boot, searched by the menu entry (default: GRUB's `$root` as found). */
  readonly bootFsUuid?: string;
}

/** What {@link scheduleReset} wrote. */
export interface ScheduledReset {
  readonly unitPath: string;
  /** The `*.wants/` links that enable the unit. */
  readonly wantedBy: readonly string[];
  readonly entryPath: string;
  /** The GRUB script that got the menu entry, when asked. */
  readonly menuFile: string | undefined;
  /** The grubenv file that makes the next boot take the entry, when asked. */
  readonly grubenv: string | undefined;
}

/**
 * Install a scheduled reset: the unit (enabled for {@link RESET_UNIT_WANTED_BY})
 * and the "Reset to factory settings" BLS entry made from the system's own
 * entry with `systemd.factory_reset=1` (`@lifeboat/grub`), optionally as a
 * GRUB menu entry too. With `nextBoot`, the next boot takes that entry once
 * (GRUB clears `next_entry` as it boots it). Re-running is safe.
 *
 * @example
 * ```ts
 * await scheduleReset(runner, {
 *   systemRoot: "/", boot: "/boot", baseEntry: "loader/entries/abc-6.8.5.conf",
 *   execStart: ["/usr/bin/lifeboat", "reset", "run-scheduled"], nextBoot: true,
 * });
 * ```
 */
export function scheduleReset(
  runner: CommandRunner,
  options: ScheduleResetOptions,
): ResultAsync<ScheduledReset, LifeboatError> {
  return effect(async () => {
    const unitDir = path.join(options.systemRoot, "etc/systemd/system");
    const unitPath = path.join(unitDir, RESET_UNIT);
    await mkdir(unitDir, { recursive: true });
    await must(writeFileAtomic(unitPath, await must(renderResetUnit(options))));
    const wantedBy: string[] = [];
    for (const target of RESET_UNIT_WANTED_BY) {
      const link = path.join(unitDir, `${target}.wants`, RESET_UNIT);
      await mkdir(path.dirname(link), { recursive: true });
      await rm(link, { force: true });
      await symlink(`../${RESET_UNIT}`, link);
      wantedBy.push(link);
    }
    const base = await must(
      parseBlsEntry(await readFile(path.join(options.boot, options.baseEntry), "utf8")),
    );
    const entry = await must(factoryResetBlsEntry(base, { id: RESET_ENTRY_ID }));
    const entryPath = path.join(options.boot, "loader/entries", RESET_BLS_ENTRY);
    await mkdir(path.dirname(entryPath), { recursive: true });
    await must(writeBlsEntry(runner, entryPath, entry));
    let menuFile: string | undefined;
    if (options.menuFile !== undefined) {
      menuFile = path.join(options.boot, options.menuFile);
      const menu = factoryResetMenuEntry({
        kernel: blsField(base, "linux") ?? "",
        initrd: blsFields(base, "initrd").flatMap((v) => v.split(/\s+/).filter(Boolean)),
        kernelArgs: blsKernelArgs(base),
        id: RESET_ENTRY_ID,
        ...(options.bootFsUuid === undefined ? {} : { bootFsUuid: options.bootFsUuid }),
      });
      const script = await must(renderGrubScript([menu]));
      const old = (await exists(menuFile)) ? await readFile(menuFile, "utf8") : "";
      await must(writeGrubConfig(runner, menuFile, withMenuBlock(old, script)));
    }
    let grubenv: string | undefined;
    if (options.nextBoot) {
      grubenv = path.join(options.boot, options.grubenv ?? "grub2/grubenv");
      await must(editGrubenv(grubenv, { next_entry: RESET_ENTRY_ID }));
    }
    return { unitPath, wantedBy, entryPath, menuFile, grubenv };
  }, "schedule the reset");
}

/** Options of {@link unscheduleReset}. */
export interface UnscheduleResetOptions {
  /** The root whose unit is removed; omit to leave the unit (e.g. after the reset, in the old root). */
  readonly systemRoot?: string;
  /** /boot, mounted. */
  readonly boot: string;
  /** The grubenv file relative to /boot (default `grub2/grubenv`). */
  readonly grubenv?: string;
  /** The GRUB script whose Lifeboat block is removed (relative to /boot), if one was written. */
  readonly menuFile?: string;
}

/**
 * Undo {@link scheduleReset}: the unit and its links, the BLS entry, the
 * menu block, and `next_entry` when it points at the reset entry. What is
 * already gone is skipped.
 *
 * @example
 * ```ts
 * await unscheduleReset(runner, { systemRoot: "/", boot: "/boot", menuFile: "grub2/custom.cfg" });
 * ```
 */
export function unscheduleReset(
  runner: CommandRunner,
  options: UnscheduleResetOptions,
): ResultAsync<{ readonly removed: readonly string[] }, LifeboatError> {
  return effect(async () => {
    const removed: string[] = [];
    const remove = async (file: string) => {
      if (!(await exists(file))) return;
      await rm(file, { force: true });
      removed.push(file);
    };
    if (options.systemRoot !== undefined) {
      const unitDir = path.join(options.systemRoot, "etc/systemd/system");
      for (const target of RESET_UNIT_WANTED_BY)
        await remove(path.join(unitDir, `${target}.wants`, RESET_UNIT));
      await remove(path.join(unitDir, RESET_UNIT));
    }
    await remove(path.join(options.boot, "loader/entries", RESET_BLS_ENTRY));
    if (options.menuFile !== undefined) {
      const file = path.join(options.boot, options.menuFile);
      if (await exists(file)) {
        const old = await readFile(file, "utf8");
        const text = removeMenuBlock(old);
        if (text !== old) {
          // Nothing else in it: remove it (grub-script-check refuses a script without commands).
          if (text.trim() === "") await rm(file, { force: true });
          else await must(writeGrubConfig(runner, file, text));
          removed.push(`${file} (menu entry ${RESET_ENTRY_ID})`);
        }
      }
    }
    const env = path.join(options.boot, options.grubenv ?? "grub2/grubenv");
    if (await exists(env)) {
      const vars = await must(parseGrubenv(await readFile(env, "utf8")));
      if (vars.some(([k, v]) => k === "next_entry" && v === RESET_ENTRY_ID)) {
        await must(editGrubenv(env, { next_entry: undefined }));
        removed.push(`${env} (next_entry)`);
      }
    }
    return { removed };
  }, "unschedule the reset");
}
