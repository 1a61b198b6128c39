import type { DataLoss, Plan, PlanStep } from "@lifeboat/core";
import type { Result } from "neverthrow";
import type { PlanTextError } from "./errors.js";
import { checkPlanText } from "./plan-text.js";
import { STEP_CATALOGUE, type StepKind, type StepParams } from "./steps/catalogue.js";

/**
 * One step of a reset plan as data a front end can put into words of its
 * own (another language): its kind, its parameters as the kind's schema
 * gives them (typed by kind), and the data-loss entries its parameters give,
 * in the plan's order. The plan itself (and so its digest) is unchanged.
 */
export type PlanStepView = {
  readonly [K in StepKind]: {
    readonly id: string;
    readonly kind: K;
    readonly params: StepParams<K>;
    /** The step's title in the SDK's (English) words, as in the plan. */
    readonly title: string;
    /** The step's `destroys`, as in the plan. */
    readonly destroys: readonly DataLoss[];
    /** Whether the step can be undone, as in the plan. */
    readonly reversible: boolean;
  };
}[StepKind];

function viewOf(step: PlanStep): PlanStepView {
  const definition = STEP_CATALOGUE[step.kind as StepKind];
  // checkPlanText parsed these parameters with this schema already.
  const params = definition.schema.parse(step.params);
  return {
    id: step.id,
    kind: step.kind,
    params,
    title: step.title,
    destroys: step.destroys,
    reversible: step.reversible,
  } as PlanStepView;
}

/**
 * The steps of a reset plan as typed data (kind and parameters), for a
 * front end that renders them from its own message catalog instead of the
 * plan's English titles. The plan is checked first (`checkPlanText`): its
 * words must be what its parameters give. Nothing in the plan changes, so
 * its digest is the one to confirm.
 *
 * @example
 * ```ts
 * const views = planStepViews(p);
 * if (views.isOk())
 *   for (const v of views.value)
 *     if (v.kind === "reset.exchange") console.log(`${v.params.a} ⇄ ${v.params.b}`);
 * ```
 */
export function planStepViews(plan: Plan): Result<readonly PlanStepView[], PlanTextError> {
  return checkPlanText(plan).map((checked) => checked.steps.map(viewOf));
}
