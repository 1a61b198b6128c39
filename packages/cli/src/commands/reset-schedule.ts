import path from "node:path";
import { mountTopLevel } from "@lifeboat/btrfs";
import { lifeboatError } from "@lifeboat/core";
import {
  cancelRecoverySchedule,
  cancelScheduledReset,
  type RecoveryResetScheduled,
  runScheduledReset,
  SCHEDULABLE_KINDS,
  type ScheduledResetRequest,
  scheduleResetInRecovery,
  scheduleResetOn,
  stampOf,
} from "@lifeboat/reset";
import { RESET_ENTRY_ID, SCHEDULED_REQUEST } from "@lifeboat/reset/layout";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, fail, note, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { machineState } from "../machine-state.js";
import { executorProgress } from "../run-plan.js";
import { type TargetOptions, withTarget } from "../target.js";
import { formatDuration } from "../ui/format.js";
import { withService } from "../via-service.js";
import { guarded, must, usage } from "./_shared.js";
import type { Wrap } from "./index.js";

/** Where the scheduled request is kept, relative to the Btrfs top level (`@lifeboat/reset`'s). */
export { SCHEDULED_REQUEST };

interface ScheduleOpts {
  disk?: string;
  mode?: string;
  stamp?: string;
  systemRoot?: string;
  boot?: string;
  entry?: string;
  grubenv?: string;
  grubMenu?: string;
  lifeboat?: string;
  digest?: string;
  reboot?: boolean;
  inRecovery?: boolean;
  luksKeyFile?: string;
}

/** The Btrfs top level of the filesystem `systemRoot` is on, mounted for the body. */
async function withTopOf<T>(
  ctx: CliContext,
  systemRoot: string,
  body: (top: string) => Promise<T>,
): Promise<T> {
  const m = must(await mountTopLevel(ctx.runner, systemRoot));
  try {
    return await body(m.path);
  } finally {
    await m.unmount();
  }
}

/** The `reset schedule` document (in process and through lifeboatd). */
interface ScheduleDoc {
  readonly request: { readonly kind: string; readonly stamp: string };
  readonly requestPath: string;
  readonly digest: string;
  readonly plannedNow: { readonly kind: string; readonly steps: number; readonly digest: string };
  readonly unit: string;
  readonly wantedBy: readonly string[];
  readonly bootEntry: string;
  readonly baseEntry: string;
  readonly menuFile: string | null;
  readonly grubenv: string | null;
  readonly nextEntry: string;
}

/**
 * The document's own fields, in one order, whichever path made it (scheduleResetOn's
 * answer in process, lifeboatd's `Schedule` through the service): nothing more goes out.
 */
function scheduleDoc(d: ScheduleDoc): ScheduleDoc {
  return {
    request: d.request,
    requestPath: d.requestPath,
    digest: d.digest,
    plannedNow: d.plannedNow,
    unit: d.unit,
    wantedBy: d.wantedBy,
    bootEntry: d.bootEntry,
    baseEntry: d.baseEntry,
    menuFile: d.menuFile,
    grubenv: d.grubenv,
    nextEntry: d.nextEntry,
  };
}

function renderScheduled(d: ScheduleDoc): string {
  return [
    pc.green(`A ${d.request.kind} reset is scheduled for the next boot.`),
    `  request ${d.requestPath} (${d.digest})`,
    `  unit    ${d.unit}`,
    `  entry   ${d.bootEntry}${d.menuFile ? ` and ${d.menuFile}` : ""}${d.grubenv ? " (next boot, again if the power is cut before the reset starts)" : " (in the boot menu: /boot has no GRUB directory for next_entry)"}`,
    pc.dim("Reboot to run it; `lifeboat reset unschedule` cancels it."),
  ].join("\n");
}

function renderUnscheduled(d: { readonly removed: readonly string[] }): string {
  return d.removed.length === 0
    ? "No reset was scheduled."
    : pc.green(`The scheduled reset is cancelled (${d.removed.length} things removed).`);
}

/** With --via-service: the options lifeboatd does not take, or the disk it opens. */
function serviceDiskOf(
  ctx: CliContext,
  command: string,
  opts: ScheduleOpts,
): string | ExitCodeValue {
  const local = (
    [
      ["systemRoot", "--system-root"],
      ["boot", "--boot"],
      ["grubenv", "--grubenv"],
      ["entry", "--entry"],
      ["grubMenu", "--grub-menu"],
      ["lifeboat", "--lifeboat"],
    ] as const
  ).filter(([k]) => opts[k] !== undefined);
  if (local.length > 0)
    return usage(
      ctx,
      command,
      `--via-service takes --disk <block device> (lifeboatd opens it and finds its entry itself), not ${local.map(([, o]) => o).join(", ")}`,
    );
  if (!opts.disk) return usage(ctx, command, "give --disk <block device> with --via-service");
  return opts.disk;
}

/** `lifeboat --via-service reset schedule --disk /dev/…`: lifeboatd's `Schedule`. */
async function scheduleViaService(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  const command = "reset schedule";
  const disk = serviceDiskOf(ctx, command, opts);
  if (typeof disk !== "string") return disk;
  const request = JSON.stringify({
    kind: opts.mode ?? "reset-keep-home",
    stamp: opts.stamp ?? stampOf(new Date()),
  });
  const r = await withService((c) => c.call("Schedule", "ss", [disk, request]));
  if (r.isErr()) return fail(ctx, command, r.error);
  const d = JSON.parse(String(r.value[0])) as ScheduleDoc;
  return succeed(ctx, command, scheduleDoc(d), renderScheduled);
}

/** `lifeboat --via-service reset unschedule --disk /dev/…`: lifeboatd's `Unschedule`. */
async function unscheduleViaService(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  const command = "reset unschedule";
  const disk = serviceDiskOf(ctx, command, opts);
  if (typeof disk !== "string") return disk;
  const r = await withService((c) => c.call("Unschedule", "s", [disk]));
  if (r.isErr()) return fail(ctx, command, r.error);
  return succeed(ctx, command, { removed: (r.value[0] ?? []) as string[] }, renderUnscheduled);
}

/** The `reset schedule --in-recovery` document. */
type RecoveryScheduleDoc = Omit<RecoveryResetScheduled, "request"> & {
  readonly runsIn: "recovery-environment";
  readonly request: { readonly kind: string; readonly stamp: string };
  readonly disk: string;
};

function renderScheduledInRecovery(d: RecoveryScheduleDoc): string {
  const p = d.plannedNow;
  return [
    pc.green(
      `A ${d.request.kind} reset is scheduled to run unattended in the recovery environment at the next boot.`,
    ),
    `  request ${d.requestPath} on the recovery partition (${d.digest})`,
    p.action === "reset"
      ? `  plan    ${p.kind}: ${p.steps} steps, digest ${p.digest} (as the machine is now)`
      : `  plan    first resumes the interrupted ${p.kind} (${p.digest}) from its journal`,
    `  boot    ${d.grubFragment} makes GRUB's Lifeboat entries boot "Scheduled reset (Lifeboat)" (${d.entryId}) once; the recovery environment removes it before it acts`,
    pc.dim(
      `Reboot to run it; \`lifeboat reset unschedule --in-recovery --disk ${d.disk}\` cancels it.`,
    ),
  ].join("\n");
}

/** With --in-recovery: the options that belong to the systemd path. */
function systemdOnlyOptions(opts: ScheduleOpts): string[] {
  return (
    [
      ["systemRoot", "--system-root"],
      ["boot", "--boot"],
      ["grubenv", "--grubenv"],
      ["entry", "--entry"],
      ["grubMenu", "--grub-menu"],
      ["lifeboat", "--lifeboat"],
    ] as const
  )
    .filter(([k]) => opts[k] !== undefined)
    .map(([, o]) => o);
}

function recoveryTarget(disk: string, opts: ScheduleOpts): TargetOptions {
  return { disk, ...(opts.luksKeyFile ? { luksKeyFile: opts.luksKeyFile } : {}) };
}

/**
 * The `--disk` of an `--in-recovery` command, or its usage error: not offered
 * `--via-service`, none of the systemd path's options, `--disk` given.
 */
function inRecoveryDisk(
  ctx: CliContext,
  command: string,
  opts: ScheduleOpts,
  why: string,
): string | ExitCodeValue {
  if (ctx.viaService) return usage(ctx, command, "--in-recovery is not offered --via-service");
  const local = systemdOnlyOptions(opts);
  if (local.length > 0)
    return usage(
      ctx,
      command,
      `--in-recovery takes --disk <device|image>, not ${local.join(", ")}${why}`,
    );
  if (!opts.disk) return usage(ctx, command, "give --disk <device|image> with --in-recovery");
  return opts.disk;
}

/** `lifeboat reset schedule --in-recovery --disk …`: the reset runs in the recovery environment. */
async function scheduleInRecovery(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  const command = "reset schedule";
  const disk = inRecoveryDisk(ctx, command, opts, " (those are for the systemd path)");
  if (typeof disk !== "string") return disk;
  const kind = opts.mode ?? "reset-keep-home";
  if (!(SCHEDULABLE_KINDS as readonly string[]).includes(kind))
    return usage(ctx, command, `--mode must be ${SCHEDULABLE_KINDS.join(", ")}`);
  const request = { kind, stamp: opts.stamp ?? stampOf(new Date()) } as ScheduledResetRequest;
  return guarded(ctx, command, () =>
    withTarget(ctx.runner, recoveryTarget(disk, opts), { recoveryWritable: true }, async (t) => {
      if (!t.recoveryRoot)
        return fail(
          ctx,
          command,
          lifeboatError(
            "PRECONDITION_FAILED",
            `${disk} has no mountable recovery partition: run \`lifeboat provision\` first. Nothing was changed.`,
            { precondition: "a provisioned recovery partition" },
          ),
        );
      const m = await machineState(ctx.runner, t, { trustedKeys: [], measureSizes: false });
      const done = must(
        await scheduleResetInRecovery(t.recoveryRoot, m.state, { runner: ctx.runner, request }),
      );
      return succeed(
        ctx,
        command,
        { runsIn: "recovery-environment", disk, ...done } satisfies RecoveryScheduleDoc,
        renderScheduledInRecovery,
      );
    }),
  );
}

/** `lifeboat reset unschedule --in-recovery --disk …`. */
async function unscheduleInRecovery(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  const command = "reset unschedule";
  const disk = inRecoveryDisk(ctx, command, opts, "");
  if (typeof disk !== "string") return disk;
  return guarded(ctx, command, () =>
    withTarget(ctx.runner, recoveryTarget(disk, opts), { recoveryWritable: true }, async (t) => {
      if (!t.recoveryRoot)
        return succeed(ctx, command, { removed: [] as string[] }, renderUnscheduled);
      const r = must(await cancelRecoverySchedule(t.recoveryRoot));
      return succeed(ctx, command, { removed: r.removed }, renderUnscheduled);
    }),
  );
}

async function schedule(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  if (opts.inRecovery) return scheduleInRecovery(ctx, opts);
  if (ctx.viaService) return scheduleViaService(ctx, opts);
  if (opts.disk !== undefined)
    return usage(
      ctx,
      "reset schedule",
      "--disk is for --via-service; on the machine itself give --system-root and --boot",
    );
  const kind = opts.mode ?? "reset-keep-home";
  if (!(SCHEDULABLE_KINDS as readonly string[]).includes(kind))
    return usage(ctx, "reset schedule", `--mode must be ${SCHEDULABLE_KINDS.join(", ")}`);
  if (opts.grubMenu !== undefined && !["auto", "bls", "custom-cfg"].includes(opts.grubMenu))
    return usage(ctx, "reset schedule", "--grub-menu must be auto, bls or custom-cfg");
  const systemRoot = path.resolve(opts.systemRoot ?? "/");
  const boot = path.resolve(opts.boot ?? "/boot");
  const request = { kind, stamp: opts.stamp ?? stampOf(new Date()) } as ScheduledResetRequest;
  return guarded(ctx, "reset schedule", () =>
    withTopOf(ctx, systemRoot, async (top) => {
      const state = await withTarget(
        ctx.runner,
        { top, boot },
        { mount: false },
        async (t) =>
          (await machineState(ctx.runner, t, { trustedKeys: [], measureSizes: false })).state,
      );
      const done = await scheduleResetOn(
        ctx.runner,
        { top, boot, state },
        {
          request,
          systemRoot,
          baseEntry: opts.entry,
          lifeboat: opts.lifeboat,
          grubenv: opts.grubenv,
          grubMenu: opts.grubMenu as "auto" | "bls" | "custom-cfg" | undefined,
        },
      );
      if (
        done.isErr() &&
        done.error.code === "PRECONDITION_FAILED" &&
        done.error.message.startsWith("There is no boot entry")
      )
        return usage(ctx, "reset schedule", `no boot entry in ${boot}/loader/entries`);
      const d0 = must(done);
      return succeed(
        ctx,
        "reset schedule",
        scheduleDoc({
          ...d0,
          unit: d0.unitPath,
          bootEntry: d0.entryPath,
          menuFile: d0.menuFile ?? null,
          grubenv: d0.grubenv ?? null,
          nextEntry: RESET_ENTRY_ID,
        }),
        renderScheduled,
      );
    }),
  );
}

async function unschedule(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  if (opts.inRecovery) return unscheduleInRecovery(ctx, opts);
  if (ctx.viaService) return unscheduleViaService(ctx, opts);
  if (opts.disk !== undefined)
    return usage(
      ctx,
      "reset unschedule",
      "--disk is for --via-service; on the machine itself give --system-root and --boot",
    );
  const systemRoot = path.resolve(opts.systemRoot ?? "/");
  const boot = path.resolve(opts.boot ?? "/boot");
  return guarded(ctx, "reset unschedule", () =>
    withTopOf(ctx, systemRoot, async (top) => {
      const r = must(
        await cancelScheduledReset(ctx.runner, { top, boot, systemRoot, grubenv: opts.grubenv }),
      );
      return succeed(ctx, "reset unschedule", { removed: r.removed }, renderUnscheduled);
    }),
  );
}

/** What the unit runs, on the boot with `systemd.factory_reset=1`: `runScheduledReset` on the system's top level. */
async function runScheduled(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  if (!opts.digest) return usage(ctx, "reset run-scheduled", "give --digest sha256:<hex>");
  const digest = opts.digest;
  const systemRoot = path.resolve(opts.systemRoot ?? "/");
  const boot = path.resolve(opts.boot ?? "/boot");
  return guarded(ctx, "reset run-scheduled", () =>
    withTopOf(ctx, systemRoot, async (top) => {
      const started = Date.now();
      const progress = executorProgress(ctx);
      const r = await runScheduledReset(
        { runner: ctx.runner, top, boot },
        {
          digest,
          grubenv: opts.grubenv,
          onProgress: progress.onProgress,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          onEvent: (e) => {
            if (e.kind === "resuming")
              note(ctx, pc.yellow("An interrupted reset was found: resuming it from its journal."));
            else if (e.kind === "planned")
              note(ctx, `Plan ${e.planKind}: ${e.steps} steps, digest ${e.digest}`);
            else {
              progress.stop();
              note(ctx, pc.yellow(`The reset entry was not removed: ${e.error.message}`));
            }
          },
        },
      );
      progress.stop();
      if (r.isErr()) return fail(ctx, "reset run-scheduled", r.error);
      const done = r.value;
      if (done.action === "nothing-scheduled")
        return fail(ctx, "reset run-scheduled", {
          code: "CLI_USAGE",
          message: `no scheduled request at ${SCHEDULED_REQUEST} on the top level: nothing was done`,
        });
      const words =
        done.action === "resumed"
          ? "LIFEBOAT-SCHEDULED resumed and finished in"
          : "LIFEBOAT-SCHEDULED reset done in";
      return succeed(
        ctx,
        "reset run-scheduled",
        { action: done.action, planDigest: done.planDigest, durationMs: Date.now() - started },
        (d) => pc.green(`${words} ${formatDuration(d.durationMs)}.`),
      );
    }),
  );
}

function placeOptions(cmd: Command): Command {
  return cmd
    .option("--system-root <dir>", "the running system's root (default /)")
    .option("--boot <dir>", "/boot, mounted (default /boot)")
    .option(
      "--grubenv <file>",
      "GRUB's environment block, relative to /boot (default grubenv in grub2/, else grub/)",
    );
}

/** `lifeboat reset schedule|unschedule|run-scheduled`: the reset at next boot (`systemd.factory_reset=1`). */
export function registerResetSchedule(program: Command, wrap: Wrap): void {
  const reset = program
    .command("reset")
    .description("a reset at the next boot, asked for from the running system");
  placeOptions(reset.command("schedule"))
    .description(
      "schedule a reset for the next boot (request with digest on the Btrfs top level, unit, GRUB entry taken once)",
    )
    .option("--mode <mode>", "reset-keep-home (default) | full-restore | reset-user-data")
    .option("--stamp <stamp>", "time stamp naming this reset's subvolumes (default now)")
    .option(
      "--entry <file>",
      "the BLS entry the reset entry is made from (default: the running kernel's)",
    )
    .option(
      "--grub-menu <how>",
      "auto (default) | bls | custom-cfg: where GRUB finds the reset entry",
    )
    .option("--lifeboat <path>", "the lifeboat program the unit runs (default /usr/bin/lifeboat)")
    .option(
      "--in-recovery",
      "run it unattended in the recovery environment instead (request and GRUB fragment on the recovery partition of --disk; works when the system no longer boots)",
    )
    .option(
      "--disk <device>",
      "with --in-recovery: the disk or image; with --via-service: the whole-disk block device lifeboatd schedules on",
    )
    .option("--luks-key-file <file>", "with --in-recovery: key file of the LUKS container")
    .action(wrap(schedule));
  placeOptions(reset.command("unschedule"))
    .description("cancel a scheduled reset (request, unit, GRUB entry, next boot)")
    .option(
      "--in-recovery",
      "cancel a reset scheduled in the recovery environment (on the recovery partition of --disk)",
    )
    .option(
      "--disk <device>",
      "with --in-recovery: the disk or image; with --via-service: the whole-disk block device lifeboatd unschedules on",
    )
    .option("--luks-key-file <file>", "with --in-recovery: key file of the LUKS container")
    .action(wrap(unschedule));
  placeOptions(reset.command("run-scheduled"))
    .description(
      "run the scheduled reset (what the unit runs on the boot with systemd.factory_reset=1)",
    )
    .option("--digest <sha256:hex>", "the request's SHA-256, as the unit was written with")
    .action(wrap(runScheduled));
}
