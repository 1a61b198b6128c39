import { createPlan, type Plan, type PlanStep } from "@lifeboat/core";
import { err, type Result } from "neverthrow";
import type { CheckpointProtectedError, ResetPlanError } from "../errors.js";
import { ROOT_SUBVOLUME } from "../layout.js";
import { requireBtrfs, subvolume } from "../planner/common.js";
import { count } from "../planner/words.js";
import type { CheckpointState, SystemState } from "../state.js";
import { makeStep } from "../steps/catalogue.js";
import { checkpointDir, FACTORY_CHECKPOINT_ID } from "./layout.js";

/** Options of {@link planPrune}: keep the newest `keepLast`, or delete the named `ids`. */
export interface PruneOptions {
  /** Keep this many of the newest checkpoints (the factory one is never counted, never deleted). */
  readonly keepLast?: number;
  /** Delete exactly these checkpoints (refused with a typed reason when one must be kept). */
  readonly ids?: readonly string[];
}

/** Why retention keeps a checkpoint. */
export type KeepReason = CheckpointProtectedError["reason"] | "recent";

/** A checkpoint retention keeps, and why. */
export interface KeptCheckpoint {
  readonly id: string;
  readonly reason: KeepReason;
}

/** The plan that deletes checkpoints, and what it keeps. */
export interface PrunePlan {
  /** Runs with `executeReset` like every reset plan; no steps when nothing is to be deleted. */
  readonly plan: Plan;
  /** The ids it deletes, oldest first. */
  readonly deleted: readonly string[];
  readonly kept: readonly KeptCheckpoint[];
}

/** Why `cp` must be kept whatever was asked, or undefined. */
function protection(
  state: SystemState,
  cp: CheckpointState,
): CheckpointProtectedError["reason"] | undefined {
  if (cp.factory || cp.id === FACTORY_CHECKPOINT_ID) return "factory";
  const root = state.btrfs ? subvolume(state.btrfs, ROOT_SUBVOLUME) : undefined;
  if (root?.parentUuid !== undefined && root.parentUuid === cp.rootUuid) return "running-root";
  const dir = checkpointDir(cp.id);
  if (state.unfinishedPlan?.paths.some((p) => p === dir || p.startsWith(`${dir}/`)))
    return "unfinished-plan";
  return undefined;
}

const WHY: Record<KeepReason, string> = {
  factory: "the factory snapshot is never deleted",
  "running-root": "the running system was rolled back to it",
  "unfinished-plan": "an unfinished reset plan uses it",
  recent: "one of the newest",
};

/**
 * Plan retention of checkpoints: keep the newest `keepLast` (or delete the
 * named `ids`), never the factory snapshot, never the checkpoint the running
 * root came from (its root's parent), never one an unfinished journaled plan
 * refers to. Pure; the plan lists each deletion with its size and runs with
 * `executeReset`. Asking for a protected id by name is refused
 * (`RESET_CHECKPOINT_PROTECTED` with the reason).
 *
 * @example
 * ```ts
 * const pruned = planPrune(state, { keepLast: 3 });
 * if (pruned.isOk()) {
 *   for (const k of pruned.value.kept) console.log(k.id, k.reason);
 *   await executeReset(env, pruned.value.plan, { confirm: pruned.value.plan.digest });
 * }
 * ```
 */
export function planPrune(
  state: SystemState,
  options: PruneOptions,
): Result<PrunePlan, ResetPlanError> {
  return requireBtrfs(state).andThen((btrfs) => {
    const all = state.checkpoints ?? [];
    const others = all.filter((c) => !c.factory);
    const kept: KeptCheckpoint[] = all
      .filter((c) => c.factory)
      .map((c) => ({ id: c.id, reason: "factory" }));
    let doomed: CheckpointState[] = [];
    if (options.ids !== undefined) {
      for (const id of options.ids) {
        const cp = all.find((c) => c.id === id);
        if (cp === undefined && id !== FACTORY_CHECKPOINT_ID)
          return err<PrunePlan, ResetPlanError>({
            code: "RESET_NO_CHECKPOINT",
            message: `There is no checkpoint ${JSON.stringify(id)} to delete.`,
            id,
            reason: "missing",
          });
        const why = cp ? protection(state, cp) : "factory";
        if (why !== undefined)
          return err<PrunePlan, ResetPlanError>({
            code: "RESET_CHECKPOINT_PROTECTED",
            message: `Checkpoint ${id} is kept: ${WHY[why]}.`,
            id,
            reason: why,
          });
        if (cp && !doomed.includes(cp)) doomed.push(cp);
      }
    } else {
      const keepLast = options.keepLast;
      if (keepLast === undefined || !Number.isInteger(keepLast) || keepLast < 0)
        return err<PrunePlan, ResetPlanError>({
          code: "RESET_BAD_REQUEST",
          message:
            "Say how many checkpoints to keep (keepLast: a whole number, 0 or more) or which ids to delete.",
          field: "keepLast",
        });
      const newestFirst = [...others].reverse();
      newestFirst.forEach((cp, i) => {
        const why: KeepReason | undefined = i < keepLast ? "recent" : protection(state, cp);
        if (why === undefined) doomed.push(cp);
        else kept.push({ id: cp.id, reason: why });
      });
      doomed = doomed.reverse();
    }
    const steps: PlanStep[] = doomed.map((cp) =>
      makeStep(`drop-${cp.id}`, "reset.drop-checkpoint", {
        id: cp.id,
        dir: checkpointDir(cp.id),
        root: cp.rootPath,
        rootUuid: cp.rootUuid,
        boot: cp.bootPath,
        createdAt: cp.createdAt,
        reason: cp.reason,
        ...(cp.bytes === undefined ? {} : { bytes: cp.bytes }),
      }),
    );
    return createPlan({
      kind: "prune-checkpoints",
      title: doomed.length
        ? `Delete ${count(doomed.length, "checkpoint")} (${kept.length} kept)`
        : `Nothing to delete (${count(kept.length, "checkpoint")} kept)`,
      target: `btrfs:${btrfs.fsUuid}`,
      warnings: kept
        .filter((k) => k.reason !== "recent")
        .map((k) => `Checkpoint ${k.id} is kept: ${WHY[k.reason]}.`),
      steps: steps.length
        ? [makeStep("check", "reset.check", { fsUuid: btrfs.fsUuid }), ...steps]
        : [],
    }).map((plan) => ({ plan, deleted: doomed.map((c) => c.id), kept }));
  });
}
