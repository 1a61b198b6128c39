import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, symlink } from "node:fs/promises";
import path from "node:path";
import {
  type CommandRunner,
  findMountOf,
  type InvalidArgumentError,
  type Plan,
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
  renderGrubScript,
  writeBlsEntry,
  writeGrubConfig,
} from "@lifeboat/grub";
import { err, ok, type Result, type ResultAsync } from "neverthrow";
import { z } from "zod";
import { effect, fail, must } from "./_internal/await.js";
import { exists } from "./_internal/fs.js";
import { armedChanges, releasedChanges } from "./_internal/grubenv-arm.js";
import { removeMenuBlock, withMenuBlock } from "./_internal/menu-block.js";
import type { BadRequestError, ResetError } from "./errors.js";
import {
  isValidStamp,
  RESET_ENTRY_ID,
  RESET_UNIT_WANTED_BY,
  SAVED_ENTRY_KEPT,
  SCHEDULED_REQUEST,
} from "./layout.js";
import { plan as makePlan } from "./plan.js";
import type { SystemState } from "./state.js";

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
  /**
   * Also make the next boot take the reset entry: `next_entry` in grubenv, and
   * `saved_entry` until {@link runScheduledReset} starts, so that a power cut
   * during that boot, before the reset starts, comes back to it (the system's
   * own `saved_entry` is kept in {@link SAVED_ENTRY_KEPT} and put back).
   */
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
 * GRUB menu entry too. With `nextBoot`, the next boot takes that entry
 * (`next_entry`, which GRUB clears as it boots it, and `saved_entry`, which
 * holds until {@link runScheduledReset} starts). Re-running is safe.
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
): ResultAsync<ScheduledReset, ResetError> {
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
      await must(editGrubenv(grubenv, armedChanges));
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
 * menu block, and in grubenv `next_entry` when it is the reset entry and
 * `saved_entry` given back when it still is. What is already gone is skipped.
 *
 * @example
 * ```ts
 * await unscheduleReset(runner, { systemRoot: "/", boot: "/boot", menuFile: "grub2/custom.cfg" });
 * ```
 */
export function unscheduleReset(
  runner: CommandRunner,
  options: UnscheduleResetOptions,
): ResultAsync<{ readonly removed: readonly string[] }, ResetError> {
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
      let released: string[] = [];
      await must(
        editGrubenv(env, (vars) => {
          const changes = releasedChanges(vars);
          released = Object.keys(changes ?? {}).filter((k) => k !== SAVED_ENTRY_KEPT);
          return changes;
        }),
      );
      if (released.length > 0) removed.push(`${env} (${released.join(", ")})`);
    }
    return { removed };
  }, "unschedule the reset");
}

/** The kinds of reset that can be scheduled for the next boot. */
export const SCHEDULABLE_KINDS = ["reset-keep-home", "full-restore", "reset-user-data"] as const;

/** A reset request kept for the next boot, in {@link SCHEDULED_REQUEST}. */
export interface ScheduledResetRequest {
  readonly kind: (typeof SCHEDULABLE_KINDS)[number];
  /** The time stamp naming this reset's subvolumes (`20261205T050000Z`). */
  readonly stamp: string;
}

const scheduledRequestSchema = z.strictObject({
  kind: z.enum(SCHEDULABLE_KINDS),
  stamp: z.string().refine(isValidStamp, "a UTC time stamp like 20261205T050000Z"),
});

function badRequest(field: string, message: string): BadRequestError {
  return { code: "RESET_BAD_REQUEST", message, field };
}

/** End the surrounding {@link effect} with `error`. */
const stop = async (error: ResetError): Promise<never> => fail(error);

const sha256 = (bytes: string | Buffer) =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/**
 * Check a request to schedule (as a caller gave it, e.g. parsed JSON):
 * `{ kind, stamp }` with one of {@link SCHEDULABLE_KINDS}, or `RESET_BAD_REQUEST`. Pure.
 *
 * @example
 * ```ts
 * const r = parseScheduledRequest({ kind: "reset-keep-home", stamp: stampOf(new Date()) });
 * ```
 */
export function parseScheduledRequest(
  value: unknown,
): Result<ScheduledResetRequest, BadRequestError> {
  const parsed = scheduledRequestSchema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "request";
  return err(
    badRequest(
      field,
      `Not a request that can be scheduled: ${field}: ${issue?.message ?? "invalid"} (kind is ${SCHEDULABLE_KINDS.join(", ")}).`,
    ),
  );
}

/**
 * The BLS entry (relative to /boot) of the running kernel (`uname -r`),
 * not one of Lifeboat's own; the first entry when none matches; `undefined`
 * when /boot has none.
 *
 * @example
 * ```ts
 * const base = await findBaseEntry(runner, "/boot"); // "loader/entries/abc-6.8.5.conf"
 * ```
 */
export async function findBaseEntry(
  runner: CommandRunner,
  boot: string,
): Promise<string | undefined> {
  const release = (await runner.run("uname", ["-r"])).map((r) => r.stdout.trim());
  const kernel = release.isOk() ? release.value : "";
  const dir = path.join(boot, "loader/entries");
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith(".conf") && !n.startsWith("lifeboat-"))
    .sort();
  const pattern = new RegExp(`^linux\\s+\\S*vmlinuz-${kernel.replace(/[.+]/g, "\\$&")}\\s*$`, "m");
  for (const n of names) {
    if (kernel && pattern.test(await readFile(path.join(dir, n), "utf8")))
      return `loader/entries/${n}`;
  }
  return names[0] === undefined ? undefined : `loader/entries/${names[0]}`;
}

/** GRUB's directory on /boot: `grub2` (Fedora) or `grub` (Debian), whichever exists; else `undefined`. */
export async function grubDirOf(boot: string): Promise<string | undefined> {
  for (const dir of ["grub2", "grub"]) if (await exists(path.join(boot, dir))) return dir;
  return undefined;
}

/**
 * Where GRUB finds the reset entry, relative to /boot: `undefined` when
 * grub.cfg reads the BLS entries itself (`blscfg`, or `choice` "bls") or
 * /boot has no GRUB directory (a boot loader that reads BLS entries); else
 * `custom.cfg` in GRUB's directory (`grub2/`, or Debian's `grub/`).
 *
 * @example
 * ```ts
 * const menuFile = await grubMenuFileFor("/boot", "auto"); // "grub2/custom.cfg"
 * ```
 */
export async function grubMenuFileFor(
  boot: string,
  choice: "auto" | "bls" | "custom-cfg" = "auto",
): Promise<string | undefined> {
  if (choice === "bls") return undefined;
  const dir = await grubDirOf(boot);
  if (choice === "custom-cfg") return `${dir ?? "grub2"}/custom.cfg`;
  if (dir === undefined) return undefined;
  const cfg = await readFile(path.join(boot, dir, "grub.cfg"), "utf8").catch(() => "");
  // `blscfg` as a command (not in a comment): GRUB reads the BLS entries itself.
  return /^\s*blscfg\b/m.test(cfg) ? undefined : `${dir}/custom.cfg`;
}

/** A machine to schedule on: its Btrfs top level and /boot, mounted, and its state as inspected. */
export interface ScheduleTarget {
  readonly top: string;
  readonly boot: string;
  /** The state now: the request is planned on it, so one that cannot run is refused before the reboot. */
  readonly state: SystemState;
}

/** Options of {@link scheduleResetOn}. */
export interface ScheduleResetOnOptions {
  readonly request: ScheduledResetRequest;
  /** The root of the system that will boot (where `etc/systemd/system` is). */
  readonly systemRoot: string;
  /** The BLS entry the reset entry is made from (default {@link findBaseEntry}). */
  readonly baseEntry?: string | undefined;
  /** The lifeboat program the unit runs (default `/usr/bin/lifeboat`). */
  readonly lifeboat?: string | undefined;
  /**
   * The grubenv file relative to /boot that makes the next boot take the entry
   * (default `grubenv` in GRUB's directory, `grub2/` or `grub/`; none when /boot has neither).
   */
  readonly grubenv?: string | undefined;
  /** Where GRUB finds the entry (default `auto`, see {@link grubMenuFileFor}). */
  readonly grubMenu?: "auto" | "bls" | "custom-cfg" | undefined;
}

/** What {@link scheduleResetOn} did. */
export interface ResetScheduledOn extends ScheduledReset {
  readonly request: ScheduledResetRequest;
  /** {@link SCHEDULED_REQUEST}. */
  readonly requestPath: string;
  /** The SHA-256 of the request file, which the unit checks before it runs anything. */
  readonly digest: string;
  /** The request planned on the machine as it is now. */
  readonly plannedNow: { readonly kind: string; readonly steps: number; readonly digest: string };
  readonly baseEntry: string;
}

/**
 * Schedule a reset for the next boot on a machine: plan the request on its
 * state now (a request that cannot run is refused before the reboot), write it
 * with its digest to {@link SCHEDULED_REQUEST} on the top level, and install
 * the unit (running `lifeboat reset run-scheduled --digest …`), the reset
 * entry and `next_entry` with {@link scheduleReset}. Errors: the plan's, or
 * `PRECONDITION_FAILED` when /boot has no BLS entry to make the reset entry from.
 *
 * @example
 * ```ts
 * const m = await inspectMachine(runner, machine, { trustedKeys: [] });
 * const done = await scheduleResetOn(runner, { top, boot, state: m.value.state }, {
 *   request: { kind: "reset-keep-home", stamp: stampOf(new Date()) },
 *   systemRoot: path.join(top, ROOT_SUBVOLUME),
 * });
 * ```
 */
export function scheduleResetOn(
  runner: CommandRunner,
  target: ScheduleTarget,
  options: ScheduleResetOnOptions,
): ResultAsync<ResetScheduledOn, ResetError> {
  return effect(async () => {
    const request = await must(parseScheduledRequest(options.request));
    const { top, boot } = target;
    const baseEntry = options.baseEntry ?? (await findBaseEntry(runner, boot));
    if (baseEntry === undefined)
      return stop({
        code: "PRECONDITION_FAILED",
        message: `There is no boot entry in ${boot}/loader/entries to make the reset entry from. Nothing was changed.`,
        precondition: "a BLS entry in /boot/loader/entries",
      });
    const planned: Plan = await must(makePlan(target.state, request));
    const bytes = `${JSON.stringify({ kind: request.kind, stamp: request.stamp })}\n`;
    const digest = sha256(bytes);
    const menuFile = await grubMenuFileFor(boot, options.grubMenu);
    const grubDir = await grubDirOf(boot);
    const grubenv = options.grubenv ?? (grubDir === undefined ? undefined : `${grubDir}/grubenv`);
    const bootMount = await findMountOf(runner, boot);
    const scheduled = await scheduleReset(runner, {
      systemRoot: options.systemRoot,
      boot,
      baseEntry,
      execStart: [
        options.lifeboat ?? "/usr/bin/lifeboat",
        "reset",
        "run-scheduled",
        "--digest",
        digest,
      ],
      // No GRUB directory and no grubenv asked for: the entry is in the menu, not taken by itself.
      nextBoot: grubenv !== undefined,
      ...(grubenv === undefined ? {} : { grubenv }),
      ...(menuFile ? { menuFile } : {}),
      ...(bootMount.isOk() && bootMount.value.fsUuid ? { bootFsUuid: bootMount.value.fsUuid } : {}),
    });
    // The request last: without it nothing runs; on failure what was written is taken back.
    const requestPath = path.join(top, SCHEDULED_REQUEST);
    const written = await scheduled.asyncAndThen(() =>
      effect(async () => {
        await mkdir(path.dirname(requestPath), { recursive: true });
        await must(writeFileAtomic(requestPath, bytes));
      }, "write the scheduled request"),
    );
    if (written.isErr()) {
      await cancelScheduledReset(runner, {
        top,
        boot,
        systemRoot: options.systemRoot,
        grubenv,
      });
      return stop(written.error);
    }
    const done = scheduled._unsafeUnwrap();
    return {
      ...done,
      request,
      requestPath: SCHEDULED_REQUEST,
      digest,
      plannedNow: { kind: planned.kind, steps: planned.steps.length, digest: planned.digest },
      baseEntry,
    };
  }, "schedule the reset");
}

/** A scheduled request as read back by {@link readScheduledReset}. */
export interface ScheduledResetFound {
  readonly request: ScheduledResetRequest;
  /** The SHA-256 of the request file. */
  readonly digest: string;
}

/**
 * Read the scheduled request on the Btrfs top level `top`: `undefined` when
 * none is scheduled. With `expectedDigest` (what the unit was written with), a
 * file whose SHA-256 differs is `PRECONDITION_FAILED`; a file that is not a
 * request is `RESET_BAD_REQUEST`. Reads only.
 *
 * @example
 * ```ts
 * const r = await readScheduledReset(top);
 * if (r.isOk() && r.value) console.log(`a ${r.value.request.kind} is scheduled`);
 * ```
 */
export function readScheduledReset(
  top: string,
  options: { readonly expectedDigest?: string } = {},
): ResultAsync<ScheduledResetFound | undefined, ResetError> {
  return effect(async () => {
    const file = path.join(top, SCHEDULED_REQUEST);
    if (!(await exists(file))) return undefined;
    const bytes = await readFile(file);
    const digest = sha256(bytes);
    if (options.expectedDigest !== undefined && digest !== options.expectedDigest)
      return stop({
        code: "PRECONDITION_FAILED",
        message: `The scheduled request does not match its digest (expected ${options.expectedDigest.slice(0, 100)}, found ${digest}): nothing was done.`,
        precondition: "the scheduled request has the digest the unit was written with",
      });
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString("utf8"));
    } catch (e) {
      return stop(
        badRequest("request", `The scheduled request is not JSON: ${(e as Error).message}.`),
      );
    }
    return { request: await must(parseScheduledRequest(value)), digest };
  }, "read the scheduled reset");
}

/** Options of {@link cancelScheduledReset}. */
export interface CancelScheduledResetOptions {
  /** The Btrfs top level, mounted (where {@link SCHEDULED_REQUEST} is). */
  readonly top: string;
  /** /boot, mounted. */
  readonly boot: string;
  /** The root whose unit is removed (omit after the reset: the old root keeps it). */
  readonly systemRoot?: string | undefined;
  /** The grubenv file relative to /boot (default `grubenv` in GRUB's directory, `grub2/` or `grub/`). */
  readonly grubenv?: string | undefined;
}

/**
 * Cancel a scheduled reset: the request on the top level, then everything
 * {@link unscheduleReset} removes (unit, entry, the `custom.cfg` block in GRUB's directory,
 * `next_entry`). What is already gone is skipped; `removed` says what was there.
 *
 * @example
 * ```ts
 * const r = await cancelScheduledReset(runner, { top, boot: "/boot", systemRoot: "/" });
 * if (r.isOk() && r.value.removed.length === 0) console.log("No reset was scheduled.");
 * ```
 */
export function cancelScheduledReset(
  runner: CommandRunner,
  options: CancelScheduledResetOptions,
): ResultAsync<{ readonly removed: readonly string[] }, ResetError> {
  return effect(async () => {
    const requestPath = path.join(options.top, SCHEDULED_REQUEST);
    const hadRequest = await exists(requestPath);
    await rm(requestPath, { force: true });
    const grubDir = (await grubDirOf(options.boot)) ?? "grub2";
    const r = await must(
      unscheduleReset(runner, {
        ...(options.systemRoot === undefined ? {} : { systemRoot: options.systemRoot }),
        boot: options.boot,
        grubenv: options.grubenv ?? `${grubDir}/grubenv`,
        menuFile: `${grubDir}/custom.cfg`,
      }),
    );
    return { removed: [...(hadRequest ? [SCHEDULED_REQUEST] : []), ...r.removed] };
  }, "cancel the scheduled reset");
}
