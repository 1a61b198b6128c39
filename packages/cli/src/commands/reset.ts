import { readFile, statfs, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Plan } from "@lifeboat/core";
import { type RollbackRecord, recordRollback } from "@lifeboat/image";
import { ROLLBACK_LOG_FILE } from "@lifeboat/image/layout";
import {
  abandonReset,
  checkPlanText,
  executeReset,
  plan as makePlan,
  RESET_REQUEST_KINDS,
  type ResetRequest,
  resetJournalPaths,
  resumeReset,
  type SystemState,
  stampOf,
} from "@lifeboat/reset";
import type { Command } from "commander";
import { okAsync } from "neverthrow";
import pc from "picocolors";
import { type CliContext, fail, note, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { machineState, resetEnvironment } from "../machine-state.js";
import { executorProgress, runPlan } from "../run-plan.js";
import { type OpenedTarget, withTarget } from "../target.js";
import { formatDuration } from "../ui/format.js";
import { renderPlan } from "../ui/plan-render.js";
import {
  abandonViaService,
  applyViaService,
  planViaService,
  rescueViaService,
  resumeViaService,
} from "../via-service-commands.js";
import {
  allowRollbackOption,
  collect,
  confirmOptions,
  guarded,
  journalTarget,
  loadMinimumEpoch,
  loadTrustedKeys,
  must,
  targetOf,
  targetOptions,
  usage,
} from "./_shared.js";
import type { Wrap } from "./index.js";

type Mode = (typeof RESET_REQUEST_KINDS)[number];

interface ResetOpts {
  disk?: string;
  top?: string;
  boot?: string;
  recoveryRoot?: string;
  mode?: string;
  stamp?: string;
  out?: string;
  trustedKey?: string[];
  to?: string;
  checkpoint?: string;
  path?: string[];
  format?: "tree" | "send-stream";
  yes?: boolean;
  confirm?: string;
  dryRun?: boolean;
  allowRollback?: string;
}

async function requestOf(opts: ResetOpts, mode: Mode): Promise<ResetRequest> {
  const stamp = opts.stamp ?? stampOf(new Date());
  if (mode === "cleanup") return { kind: "cleanup" };
  if (mode === "rollback") return { kind: "rollback", stamp, checkpoint: opts.checkpoint ?? "" };
  if (mode === "rescue" || (mode === "reset-user-data" && opts.to)) {
    const dir = path.resolve(opts.to ?? "");
    const st = await statfs(dir);
    const target = { directory: dir, freeBytes: st.bavail * st.bsize };
    if (mode === "reset-user-data") return { kind: mode, stamp, rescueTo: target };
    return {
      kind: "rescue",
      stamp,
      target,
      ...(opts.path?.length ? { paths: opts.path } : {}),
      ...(opts.format ? { format: opts.format } : {}),
    };
  }
  if (
    (mode === "reset-from-recovery" || mode === "full-restore") &&
    opts.allowRollback !== undefined
  )
    return { kind: mode, stamp, allowRollback: { reason: opts.allowRollback } };
  return { kind: mode, stamp } as ResetRequest;
}

/** The override to record when the plan unpacks a set below the floor with `--allow-rollback`. */
function rollbackRecord(
  state: SystemState,
  reason: string | undefined,
  minimumEpoch: number | undefined,
): RollbackRecord | undefined {
  const r = state.recovery;
  const floor = r?.epochFloor;
  const epoch = r?.securityEpoch ?? 0;
  if (reason === undefined || r === undefined || floor === undefined || epoch >= floor)
    return undefined;
  return {
    time: new Date().toISOString(),
    action: "reset",
    fromEpoch: floor,
    floorSource: floor === minimumEpoch ? "minimum" : "recorded",
    toEpoch: epoch,
    product: r.product ?? "",
    version: r.build ?? "",
    setDigest: r.digest ?? "",
    reason,
  };
}

/** Inspect the opened machine and plan `mode` on it. */
async function planOn(ctx: CliContext, t: OpenedTarget, opts: ResetOpts, mode: Mode) {
  const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
  const minimumEpoch = await loadMinimumEpoch(opts.trustedKey ?? []);
  const m = await machineState(ctx.runner, t, { trustedKeys, minimumEpoch, signal: ctx.signal });
  const p = must(makePlan(m.state, await requestOf(opts, mode)));
  return {
    plan: p,
    machine: m,
    rollback: rollbackRecord(m.state, opts.allowRollback, minimumEpoch),
  };
}

function checkMode(
  ctx: CliContext,
  command: string,
  mode: string | undefined,
): Mode | ExitCodeValue {
  const m = mode ?? "reset-keep-home";
  if (!(RESET_REQUEST_KINDS as readonly string[]).includes(m))
    return usage(ctx, command, `--mode must be one of ${RESET_REQUEST_KINDS.join(", ")}`);
  return m as Mode;
}

function needsTarget(ctx: CliContext, command: string, opts: ResetOpts): ExitCodeValue | undefined {
  const t = targetOf(opts);
  if (!t.disk && !t.top)
    return usage(ctx, command, "give --disk <image|device>, or --top (and --boot)");
  return undefined;
}

async function planCommand(ctx: CliContext, opts: ResetOpts): Promise<ExitCodeValue> {
  if (ctx.viaService) return planViaService(ctx, opts);
  const mode = checkMode(ctx, "plan", opts.mode);
  if (typeof mode === "number") return mode;
  const missing = needsTarget(ctx, "plan", opts);
  if (missing !== undefined) return missing;
  return guarded(ctx, "plan", () =>
    withTarget(ctx.runner, targetOf(opts), {}, async (t) => {
      const { plan } = await planOn(ctx, t, opts, mode);
      if (opts.out) await writeFile(opts.out, `${JSON.stringify(plan, null, 2)}\n`);
      return succeed(ctx, "plan", { plan, digest: plan.digest, savedTo: opts.out ?? null }, (d) =>
        [
          renderPlan(d.plan),
          "",
          `Digest: ${pc.bold(d.digest)}`,
          pc.dim(
            `Run it: lifeboat apply ${d.savedTo ?? `--mode ${mode} --stamp ${(d.plan.steps[0]?.params.stamp as string | undefined) ?? opts.stamp ?? "<stamp>"}`} … (type the word, or --yes --confirm ${d.digest})`,
          ),
        ].join("\n"),
      );
    }),
  );
}

async function applyCommand(
  ctx: CliContext,
  planFile: string | undefined,
  opts: ResetOpts,
): Promise<ExitCodeValue> {
  if (ctx.viaService) return applyViaService(ctx, planFile, opts);
  const mode = checkMode(ctx, "apply", opts.mode);
  if (typeof mode === "number") return mode;
  const missing = needsTarget(ctx, "apply", opts);
  if (missing !== undefined) return missing;
  const needs = opts.allowRollback === undefined ? {} : { recoveryWritable: true };
  return guarded(ctx, "apply", () =>
    withTarget(ctx.runner, targetOf(opts), needs, async (t) => {
      const fresh = await planOn(ctx, t, opts, mode);
      let plan: Plan = fresh.plan;
      if (planFile) {
        // Shown with the words its parameters give; a file whose words say otherwise is refused.
        plan = must(checkPlanText(JSON.parse(await readFile(planFile, "utf8")) as Plan));
      }
      const env = resetEnvironment(
        ctx.runner,
        { ...t, top: t.top as string },
        fresh.machine.recovery,
      );
      const word = plan.kind === "full-restore" ? "ERASE" : "RESET";
      return runPlan(
        ctx,
        plan,
        {},
        {
          command: "apply",
          journalPath: resetJournalPaths(env.top).journalPath,
          word,
          target: journalTarget(opts),
          ...(opts.yes ? { yes: true } : {}),
          ...(opts.confirm ? { confirm: opts.confirm } : {}),
          ...(opts.dryRun ? { dryRun: true } : {}),
          executeWith: ({ confirm, onProgress, signal }) => {
            const rollback = fresh.rollback;
            // Recorded before anything is unpacked (and only for the confirmed plan): no unrecorded rollback.
            const recorded =
              rollback && confirm === plan.digest && t.recoveryRoot
                ? recordRollback(t.recoveryRoot, rollback).map(() =>
                    note(
                      ctx,
                      pc.yellow(
                        `Rollback allowed (security epoch ${rollback.fromEpoch} → ${rollback.toEpoch}): recorded in ${ROLLBACK_LOG_FILE} on the recovery partition (reason: ${rollback.reason}).`,
                      ),
                    ),
                  )
                : okAsync(undefined);
            return recorded.andThen(() =>
              executeReset(env, plan, {
                onProgress,
                signal,
                ...(confirm === undefined ? {} : { confirm }),
              }),
            );
          },
        },
      );
    }),
  );
}

async function resumeCommand(ctx: CliContext, opts: ResetOpts): Promise<ExitCodeValue> {
  if (ctx.viaService) return resumeViaService(ctx, opts);
  const missing = needsTarget(ctx, "resume", opts);
  if (missing !== undefined) return missing;
  return guarded(ctx, "resume", async () => {
    const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
    return withTarget(ctx.runner, targetOf(opts), {}, async (t) => {
      if (!t.top) return usage(ctx, "resume", "no Btrfs filesystem found");
      const m = await machineState(ctx.runner, t, { trustedKeys, measureSizes: false });
      const progress = executorProgress(ctx);
      const started = Date.now();
      const r = await resumeReset(resetEnvironment(ctx.runner, { ...t, top: t.top }, m.recovery), {
        onProgress: progress.onProgress,
        signal: ctx.signal,
      });
      progress.stop();
      if (r.isErr()) return fail(ctx, "resume", r.error);
      return succeed(ctx, "resume", { summary: r.value, durationMs: Date.now() - started }, (d) =>
        d.summary.alreadyDone
          ? "Nothing to resume: the last plan had finished."
          : pc.green(`Resumed and finished in ${formatDuration(d.durationMs)}.`),
      );
    });
  });
}

function abandonedText(d: {
  readonly planDigest?: string | undefined;
  readonly removed: readonly string[];
  readonly archivedAs?: string | undefined;
}): string {
  return d.planDigest === undefined
    ? "Nothing to abandon: no run was left unfinished."
    : [
        `Abandoned plan ${d.planDigest}.`,
        d.removed.length ? `Removed what it had made: ${d.removed.join(", ")}.` : "",
        `Its journal is kept as ${d.archivedAs} on the disk's Btrfs. A new plan can run now.`,
      ]
        .filter(Boolean)
        .join("\n");
}

async function abandonCommand(ctx: CliContext, opts: ResetOpts): Promise<ExitCodeValue> {
  if (ctx.viaService) return abandonViaService(ctx, opts, abandonedText);
  const missing = needsTarget(ctx, "abandon", opts);
  if (missing !== undefined) return missing;
  return guarded(ctx, "abandon", () =>
    withTarget(ctx.runner, targetOf(opts), {}, async (t) => {
      if (!t.top) return usage(ctx, "abandon", "no Btrfs filesystem found");
      const r = await abandonReset(resetEnvironment(ctx.runner, { ...t, top: t.top }, undefined));
      if (r.isErr()) return fail(ctx, "abandon", r.error);
      return succeed(ctx, "abandon", r.value, abandonedText);
    }),
  );
}

async function rescueCommand(ctx: CliContext, opts: ResetOpts): Promise<ExitCodeValue> {
  if (!opts.to) return usage(ctx, "rescue", "give --to <dir> (a mounted external disk)");
  if (ctx.viaService) return rescueViaService(ctx, opts);
  return applyCommand(ctx, undefined, { ...opts, mode: "rescue" });
}

function modeOptions(cmd: Command): Command {
  return targetOptions(cmd)
    .option("--mode <mode>", `${RESET_REQUEST_KINDS.join(" | ")} (default reset-keep-home)`)
    .option(
      "--stamp <stamp>",
      "time stamp naming this reset's subvolumes, e.g. 20261125T200000Z (default now)",
    )
    .option(
      "--trusted-key <pem>",
      "public key the recovery image must be signed with (repeatable)",
      collect,
    )
    .option("--to <dir>", "rescue target: a mounted directory on external media")
    .option("--checkpoint <id>", "rollback: the checkpoint to go back to (see `checkpoint list`)");
}

function modeAndRollbackOptions(cmd: Command): Command {
  return allowRollbackOption(modeOptions(cmd));
}

/** `lifeboat plan|apply|resume|rescue`. */
export function registerReset(program: Command, wrap: Wrap): void {
  modeAndRollbackOptions(program.command("plan"))
    .description("show what a reset would do and destroy, and the plan's digest")
    .option("--out <file>", "save the plan as JSON (for `lifeboat apply <file>`)")
    .action(wrap(planCommand));
  confirmOptions(modeAndRollbackOptions(program.command("apply [plan-file]")))
    .description("run a reset plan (typed confirmation, or --yes --confirm <digest>)")
    .action(wrap(applyCommand));
  targetOptions(program.command("resume"))
    .description("finish an interrupted reset from its journal")
    .option("--trusted-key <pem>", "public key of the recovery image (repeatable)", collect)
    .action(wrap(resumeCommand));
  targetOptions(program.command("abandon"))
    .description(
      "undo an unfinished run that had not yet replaced anything (e.g. a failed rescue), so a new plan can run",
    )
    .action(wrap(abandonCommand));
  confirmOptions(targetOptions(program.command("rescue")))
    .description("copy user data (home) out to external media")
    .requiredOption("--to <dir>", "a mounted directory on the external disk")
    .option("--path <rel>", "a path inside home to copy (repeatable; default all)", collect)
    .option("--format <format>", "tree (plain files, default) or send-stream")
    .option("--stamp <stamp>", "time stamp")
    .action(wrap(rescueCommand));
}
