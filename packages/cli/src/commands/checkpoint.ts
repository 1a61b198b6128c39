import {
  type CheckpointState,
  createCheckpoint,
  executeReset,
  listCheckpoints,
  plan as makePlan,
  planPrune,
  resetJournalPaths,
  stampOf,
} from "@lifeboat/reset";
import type { Command } from "commander";
import pc from "picocolors";
import { checkpointCreated } from "../checkpoint-created.js";
import { type CliContext, say, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { machineState } from "../machine-state.js";
import { runPlan } from "../run-plan.js";
import { type OpenedTarget, withTarget } from "../target.js";
import { formatBytes, table } from "../ui/format.js";
import { renderPlan } from "../ui/plan-render.js";
import {
  checkpointCreateViaService,
  checkpointRollbackViaService,
} from "../via-service-commands.js";
import {
  collect,
  confirmOptions,
  guarded,
  must,
  targetOf,
  targetOptions,
  usage,
} from "./_shared.js";
import type { Wrap } from "./index.js";

interface CheckpointOpts {
  disk?: string;
  top?: string;
  boot?: string;
  recoveryRoot?: string;
  name?: string;
  reason?: string;
  stamp?: string;
  keepLast?: string;
  id?: string[];
  yes?: boolean;
  confirm?: string;
  dryRun?: boolean;
}

/** A checkpoint as `checkpoint list` and `inspect` print it. */
export function checkpointJson(c: CheckpointState) {
  return {
    id: c.id,
    factory: c.factory,
    reason: c.reason,
    createdAt: c.createdAt,
    rootPath: c.rootPath,
    bootPath: c.bootPath,
    kernelVersions: [...c.kernelVersions],
    parent: c.parent ?? null,
    bytes: c.bytes ?? null,
    intact: c.intact,
  };
}

/** The human table of checkpoints (factory first). */
export function renderCheckpoints(list: readonly ReturnType<typeof checkpointJson>[]): string {
  return table(
    ["id", "taken", "kernels", "size", "state", "reason"],
    list.map((c) => [
      c.factory ? `${c.id} ${pc.dim("(factory)")}` : c.id,
      c.createdAt.replace(/\.\d+Z$/, "Z"),
      c.kernelVersions.join(", "),
      c.bytes === null ? "" : formatBytes(c.bytes),
      c.intact ? pc.green("intact") : pc.red("DAMAGED"),
      c.reason,
    ]),
  );
}

function open(
  ctx: CliContext,
  command: string,
  opts: CheckpointOpts,
  body: (t: OpenedTarget & { top: string }) => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  const target = targetOf(opts);
  if (!target.disk && !target.top)
    return Promise.resolve(
      usage(ctx, command, "give --disk <image|device>, or --top (and --boot)"),
    );
  return guarded(ctx, command, () =>
    withTarget(ctx.runner, target, {}, async (t) => {
      if (!t.top) return usage(ctx, command, "no Btrfs filesystem found");
      return body({ ...t, top: t.top });
    }),
  );
}

async function createCommand(ctx: CliContext, opts: CheckpointOpts): Promise<ExitCodeValue> {
  if (ctx.viaService) return checkpointCreateViaService(ctx, opts);
  if (!opts.reason) return usage(ctx, "checkpoint create", 'give --reason "<why>"');
  return open(ctx, "checkpoint create", opts, async (t) => {
    if (!t.boot) return usage(ctx, "checkpoint create", "no /boot found (give --boot)");
    const m = must(
      await createCheckpoint(
        ctx.runner,
        { top: t.top, boot: t.boot },
        { reason: opts.reason ?? "", ...(opts.name ? { name: opts.name } : {}) },
      ),
    );
    return checkpointCreated(ctx, "checkpoint create", m);
  });
}

async function listCommand(ctx: CliContext, opts: CheckpointOpts): Promise<ExitCodeValue> {
  return open(ctx, "checkpoint list", opts, async (t) => {
    const list = must(await listCheckpoints(ctx.runner, { top: t.top })).map(checkpointJson);
    return succeed(ctx, "checkpoint list", { checkpoints: list }, (d) =>
      d.checkpoints.length
        ? renderCheckpoints(d.checkpoints)
        : pc.yellow(
            "No checkpoints (run `lifeboat provision`, then `lifeboat checkpoint create`).",
          ),
    );
  });
}

async function rollbackCommand(
  ctx: CliContext,
  id: string,
  opts: CheckpointOpts,
): Promise<ExitCodeValue> {
  if (ctx.viaService) return checkpointRollbackViaService(ctx, id, opts);
  return open(ctx, "checkpoint rollback", opts, async (t) => {
    const m = await machineState(ctx.runner, t, { trustedKeys: [], signal: ctx.signal });
    const p = must(
      makePlan(m.state, {
        kind: "rollback",
        checkpoint: id,
        stamp: opts.stamp ?? stampOf(new Date()),
      }),
    );
    const env = { runner: ctx.runner, top: t.top, ...(t.boot ? { boot: t.boot } : {}) };
    return runPlan(
      ctx,
      p,
      {},
      {
        command: "checkpoint rollback",
        journalPath: resetJournalPaths(t.top).journalPath,
        word: "ROLLBACK",
        ...(opts.yes ? { yes: true } : {}),
        ...(opts.confirm ? { confirm: opts.confirm } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
        executeWith: ({ confirm, onProgress, signal }) =>
          executeReset(env, p, {
            onProgress,
            signal,
            ...(confirm === undefined ? {} : { confirm }),
          }),
      },
    );
  });
}

async function pruneCommand(ctx: CliContext, opts: CheckpointOpts): Promise<ExitCodeValue> {
  const ids = opts.id ?? [];
  if ((opts.keepLast === undefined) === (ids.length === 0))
    return usage(ctx, "checkpoint prune", "give either --keep-last <n> or --id <id> (repeatable)");
  const keepLast = Number(opts.keepLast);
  if (opts.keepLast !== undefined && !(Number.isInteger(keepLast) && keepLast >= 0))
    return usage(ctx, "checkpoint prune", "--keep-last takes a whole number, 0 or more");
  return open(ctx, "checkpoint prune", opts, async (t) => {
    const m = await machineState(ctx.runner, t, { trustedKeys: [], signal: ctx.signal });
    const pruned = must(planPrune(m.state, ids.length ? { ids } : { keepLast }));
    const extra = { deleted: [...pruned.deleted], kept: [...pruned.kept] };
    if (pruned.plan.steps.length === 0) {
      if (!ctx.json) say(ctx, renderPlan(pruned.plan));
      return succeed(
        ctx,
        "checkpoint prune",
        { plan: pruned.plan, executed: false, ...extra },
        () => pc.dim("\nNothing to delete."),
      );
    }
    const env = { runner: ctx.runner, top: t.top, ...(t.boot ? { boot: t.boot } : {}) };
    return runPlan(
      ctx,
      pruned.plan,
      {},
      {
        command: "checkpoint prune",
        journalPath: resetJournalPaths(t.top).journalPath,
        word: "DELETE",
        ...(opts.yes ? { yes: true } : {}),
        ...(opts.confirm ? { confirm: opts.confirm } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
        extra: async () => extra,
        executeWith: ({ confirm, onProgress, signal }) =>
          executeReset(env, pruned.plan, {
            onProgress,
            signal,
            ...(confirm === undefined ? {} : { confirm }),
          }),
      },
    );
  });
}

/** `lifeboat checkpoint create|list|rollback|prune`. */
export function registerCheckpoint(program: Command, wrap: Wrap): void {
  const cp = program
    .command("checkpoint")
    .description("checkpoints of root and /boot before risky changes; roll back; retention");
  targetOptions(cp.command("create"))
    .description("take a read-only checkpoint of root and the /boot payload")
    .requiredOption("--reason <text>", 'why, e.g. "before dnf system-upgrade to Fedora 41"')
    .option("--name <id>", "the checkpoint's id (default: the time stamp)")
    .action(wrap(createCommand));
  targetOptions(cp.command("list"))
    .description("list the checkpoints, the factory snapshot first")
    .action(wrap(listCommand));
  confirmOptions(targetOptions(cp.command("rollback <id>")))
    .description(
      "roll root and /boot back to a checkpoint (atomic swap; old root kept; /home untouched)",
    )
    .option("--stamp <stamp>", "time stamp naming this rollback's subvolumes (default now)")
    .action(wrap(rollbackCommand));
  confirmOptions(targetOptions(cp.command("prune")))
    .description("delete old checkpoints (never the factory one, nor one in use)")
    .option("--keep-last <n>", "keep the newest n checkpoints besides the factory one")
    .option("--id <id>", "delete this checkpoint (repeatable)", collect)
    .action(wrap(pruneCommand));
}
