import type { Plan } from "@lifeboat/core";
import type { Result } from "neverthrow";
import type { ResetPlanError } from "./errors.js";
import { planCleanup } from "./planner/cleanup.js";
import { planFromRecovery } from "./planner/from-recovery.js";
import { planFullRestore } from "./planner/full-restore.js";
import { planKeepHome } from "./planner/keep-home.js";
import { planRescue } from "./planner/rescue.js";
import { planRollback } from "./planner/rollback.js";
import { planUndoReset } from "./planner/undo.js";
import { planUserData } from "./planner/user-data.js";
import type { ResetRequest } from "./requests.js";
import type { SystemState } from "./state.js";

/**
 * Plan a request against a machine's state. Pure: it reads only its
 * arguments. The plan lists, step by step, what it does and what it
 * destroys (with sizes), and carries a digest the executor asks back.
 * When a precondition fails the result is a typed {@link ResetPlanError}.
 *
 * @example
 * ```ts
 * const state = (await inspect(runner, { ... }))._unsafeUnwrap();
 * const result = plan(state, { kind: "reset-keep-home", stamp: stampOf(new Date()) });
 * if (result.isErr()) console.error(result.error.code); // e.g. RESET_NO_FACTORY_SNAPSHOT
 * else for (const loss of planDataLoss(result.value)) console.log(loss.what);
 * ```
 */
export function plan(state: SystemState, request: ResetRequest): Result<Plan, ResetPlanError> {
  switch (request.kind) {
    case "reset-keep-home":
      return planKeepHome(state, request);
    case "reset-from-recovery":
      return planFromRecovery(state, request);
    case "full-restore":
      return planFullRestore(state, request);
    case "reset-user-data":
      return planUserData(state, request);
    case "rescue":
      return planRescue(state, request);
    case "cleanup":
      return planCleanup(state);
    case "rollback":
      return planRollback(state, request);
    case "undo-reset":
      return planUndoReset(state, request);
  }
}
