import { canonicalJson, type Plan, type PlanStep } from "@lifeboat/core";
import { err, ok, Result } from "neverthrow";
import type { PlanTextError } from "./errors.js";
import { isStepKind, parseStep, STEP_CATALOGUE } from "./steps/catalogue.js";
import type { StepText } from "./steps/define.js";

const FIELDS = ["title", "destroys", "reversible", "preconditions"] as const;

function same(a: unknown, b: unknown): boolean {
  const x = canonicalJson(a);
  const y = canonicalJson(b);
  return x.isOk() && y.isOk() && x.value === y.value;
}

function checkStep(step: PlanStep): Result<PlanStep, PlanTextError> {
  if (!isStepKind(step.kind))
    return err({
      code: "UNKNOWN_STEP",
      message: `Step ${step.id} has the kind ${JSON.stringify(step.kind)}, which no reset step has.`,
      stepId: step.id,
      kind: step.kind,
    });
  return parseStep(step, STEP_CATALOGUE[step.kind]).andThen(({ text }) => {
    const fields = FIELDS.filter((f) => !same(step[f], text[f]));
    if (fields.length > 0)
      return err({
        code: "RESET_PLAN_TEXT_MISMATCH",
        message: `Step ${step.id} (${step.kind}) says "${step.title}" but its parameters do: "${text.title}" (${fields.join(", ")} differ); make a new plan.`,
        stepId: step.id,
        kind: step.kind,
        fields,
        expectedTitle: text.title,
        planTitle: step.title,
      } as const);
    return ok(withText(step, text));
  });
}

function withText(step: PlanStep, text: StepText): PlanStep {
  return { ...step, ...text };
}

/**
 * Check that a plan says what it does: every step's kind is one of the
 * reset's, its parameters fit the kind's schema, and its title, data loss,
 * reversibility and preconditions are exactly what those parameters give.
 * A plan file whose parameters were edited (and whose digest was computed
 * again) fails here, so it is never shown with words that are not its own.
 * Returns the plan with the words derived from the parameters.
 *
 * @example
 * ```ts
 * const checked = checkPlanText(JSON.parse(await readFile("plan.json", "utf8")));
 * if (checked.isErr()) console.error(checked.error.code); // RESET_PLAN_TEXT_MISMATCH, RESET_BAD_STEP_PARAMS, UNKNOWN_STEP
 * else console.log(renderPlan(checked.value));
 * ```
 */
export function checkPlanText(plan: Plan): Result<Plan, PlanTextError> {
  return Result.combine(plan.steps.map(checkStep)).map((steps) => ({ ...plan, steps }));
}
