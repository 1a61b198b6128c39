import type { StepHandler, StepHandlers } from "@lifeboat/core";
import { errAsync, okAsync } from "neverthrow";
import type { FaultInjectedError } from "./errors.js";
import { installBootStep, stageBootStep } from "./steps/boot-steps.js";
import { dropCheckpointStep } from "./steps/checkpoint-steps.js";
import type { ResetEnvironment, ResetStepBody } from "./steps/context.js";
import { unpackStep, verifyImageStep } from "./steps/image-steps.js";
import { removePartitionsStep } from "./steps/partition-steps.js";
import { rescueCopyStep, rescueVerifyStep } from "./steps/rescue-steps.js";
import { prepareRootStep } from "./steps/root-steps.js";
import {
  checkStep,
  createSubvolumeStep,
  deleteSubvolumeStep,
  exchangeStep,
  renameStep,
  snapshotStep,
} from "./steps/subvolume-steps.js";

const BODIES: Readonly<Record<string, ResetStepBody>> = {
  "reset.check": checkStep,
  "reset.snapshot": snapshotStep,
  "reset.create-subvolume": createSubvolumeStep,
  "reset.exchange": exchangeStep,
  "reset.rename": renameStep,
  "reset.delete-subvolume": deleteSubvolumeStep,
  "reset.prepare-root": prepareRootStep,
  "reset.stage-boot": stageBootStep,
  "reset.install-boot": installBootStep,
  "reset.verify-image": verifyImageStep,
  "reset.unpack": unpackStep,
  "reset.rescue-copy": rescueCopyStep,
  "reset.rescue-verify": rescueVerifyStep,
  "reset.remove-partitions": removePartitionsStep,
  "reset.drop-checkpoint": dropCheckpointStep,
};

/** The step kinds the reset's plans use. */
export const RESET_STEP_KINDS: readonly string[] = Object.keys(BODIES);

function fault(stepId: string, at: "before" | "after"): FaultInjectedError {
  return {
    code: "RESET_FAULT_INJECTED",
    message: `Test fault injected ${at} step ${stepId}.`,
    stepId,
    at,
  };
}

/**
 * The step handlers for core's `execute`/`resume`, bound to an environment
 * (runner, mounted Btrfs top level, mounted /boot, recovery image access).
 * Every handler is idempotent and decides "already done" from the disk.
 *
 * @example
 * ```ts
 * import { execute } from "@lifeboat/core";
 * const handlers = createResetHandlers({ runner, top: "/mnt/top", boot: "/mnt/boot" });
 * await execute(plan, handlers, { confirm: plan.digest, journalPath: "/mnt/top/.lifeboat/journal.json" });
 * ```
 */
export function createResetHandlers(env: ResetEnvironment): StepHandlers {
  const handlers: Record<string, StepHandler> = {};
  for (const [kind, body] of Object.entries(BODIES)) {
    handlers[kind] = (step, ctx) => {
      if (env.faultHook?.(step.id, "before")) return errAsync(fault(step.id, "before"));
      return body(step, ctx, env).andThen(() =>
        env.faultHook?.(step.id, "after")
          ? errAsync(fault(step.id, "after"))
          : okAsync<void, FaultInjectedError>(undefined),
      );
    };
  }
  return handlers;
}
