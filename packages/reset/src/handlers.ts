import type { StepHandler, StepHandlers } from "@lifeboat/core";
import { errAsync, okAsync } from "neverthrow";
import { faultHookOf } from "./_internal/fault-hook.js";
import type { FaultInjectedError, ResetError } from "./errors.js";
import { parseStep, STEP_CATALOGUE, STEP_KINDS, type StepKind } from "./steps/catalogue.js";
import type { ResetEnvironment } from "./steps/context.js";
import type { StepDefinition } from "./steps/define.js";

/** The step kinds the reset's plans use. */
export const RESET_STEP_KINDS: readonly string[] = STEP_KINDS;

function fault(stepId: string, at: "before" | "after"): FaultInjectedError {
  return {
    code: "RESET_FAULT_INJECTED",
    message: `Test fault injected ${at} step ${stepId}.`,
    stepId,
    at,
  };
}

/** The handler of one kind: parse the parameters with its schema, then run the body. */
function handlerOf(
  definition: StepDefinition<string, unknown>,
  env: ResetEnvironment,
): StepHandler<ResetError> {
  const faultHook = faultHookOf(env);
  return (step, ctx) => {
    if (faultHook?.(step.id, "before")) return errAsync(fault(step.id, "before"));
    const parsed = parseStep(step, definition);
    if (parsed.isErr()) return errAsync(parsed.error);
    return parsed.value
      .run(step, ctx, env)
      .andThen(() =>
        faultHook?.(step.id, "after")
          ? errAsync(fault(step.id, "after"))
          : okAsync<void, FaultInjectedError>(undefined),
      );
  };
}

/**
 * The step handlers for core's `execute`/`resume`, bound to an environment
 * (runner, mounted Btrfs top level, mounted /boot, recovery image access).
 * One per kind of the step catalogue; each parses its step's parameters with
 * the kind's schema before it acts (`RESET_BAD_STEP_PARAMS` otherwise).
 * Every handler is idempotent and decides "already done" from the disk.
 *
 * @example
 * ```ts
 * import { execute } from "@lifeboat/core";
 * const handlers = createResetHandlers({ runner, top: "/mnt/top", boot: "/mnt/boot" });
 * await execute(plan, handlers, { confirm: plan.digest, journalPath: "/mnt/top/.lifeboat/journal.json" });
 * ```
 */
export function createResetHandlers(env: ResetEnvironment): StepHandlers<ResetError> {
  const handlers: { [K in StepKind]: StepHandler<ResetError> } = {
    "reset.check": handlerOf(STEP_CATALOGUE["reset.check"], env),
    "reset.snapshot": handlerOf(STEP_CATALOGUE["reset.snapshot"], env),
    "reset.create-subvolume": handlerOf(STEP_CATALOGUE["reset.create-subvolume"], env),
    "reset.exchange": handlerOf(STEP_CATALOGUE["reset.exchange"], env),
    "reset.rename": handlerOf(STEP_CATALOGUE["reset.rename"], env),
    "reset.delete-subvolume": handlerOf(STEP_CATALOGUE["reset.delete-subvolume"], env),
    "reset.prepare-root": handlerOf(STEP_CATALOGUE["reset.prepare-root"], env),
    "reset.stage-boot": handlerOf(STEP_CATALOGUE["reset.stage-boot"], env),
    "reset.install-boot": handlerOf(STEP_CATALOGUE["reset.install-boot"], env),
    "reset.keep-boot": handlerOf(STEP_CATALOGUE["reset.keep-boot"], env),
    "reset.verify-image": handlerOf(STEP_CATALOGUE["reset.verify-image"], env),
    "reset.unpack": handlerOf(STEP_CATALOGUE["reset.unpack"], env),
    "reset.rescue-copy": handlerOf(STEP_CATALOGUE["reset.rescue-copy"], env),
    "reset.rescue-verify": handlerOf(STEP_CATALOGUE["reset.rescue-verify"], env),
    "reset.remove-partitions": handlerOf(STEP_CATALOGUE["reset.remove-partitions"], env),
    "reset.drop-checkpoint": handlerOf(STEP_CATALOGUE["reset.drop-checkpoint"], env),
  };
  return handlers;
}
