import { type DataLoss, type Plan, planDataLoss } from "@lifeboat/core";
import { type PlanWarningView, planStepViews, planWarningViews } from "@lifeboat/reset";
import type { Messages } from "./messages/catalog.js";

/** A plan as the confirmation and progress screens show it, in the catalog's language. */
export interface ShownPlan {
  readonly title: string;
  /** Step titles, in the plan's order. */
  readonly steps: readonly string[];
  /** Every data-loss entry, in the plan's order, with its words. */
  readonly losses: readonly DataLoss[];
  /** The plan's warnings, in its order, in the catalog's words (never left out). */
  readonly warnings: readonly string[];
}

/** A plan warning in the catalog's words; one it has no words for: the plan's text and its code. */
export function warningWords(view: PlanWarningView, t: Messages): string {
  if (view.code === undefined) return t.unknownWarning(view.text, view.unknownCode);
  // The code and its parameters come from one view, so they match.
  const words = t.warnings[view.code] as (params: unknown) => string;
  return words(view.params);
}

/**
 * The plan's title, steps and data loss in the catalog's language, from the
 * steps' typed parameters; the SDK's own (English) words when the plan's
 * steps are not the reset's (or do not say what their parameters do).
 */
export function shownPlan(plan: Plan, t: Messages): ShownPlan {
  const warnings = planWarningViews(plan).map((w) => warningWords(w, t));
  const own: ShownPlan = {
    title: plan.title,
    steps: plan.steps.map((s) => s.title),
    losses: planDataLoss(plan),
    warnings,
  };
  const words = t.plan;
  const views = planStepViews(plan);
  if (views.isErr()) return own;
  return {
    title: words.planTitle(plan.kind) ?? plan.title,
    steps: views.value.map((v) => words.step(v)),
    losses: views.value.flatMap((v) =>
      v.destroys.map((l, i) => {
        const w = words.loss(v, l, i);
        const { detail: _detail, ...rest } = l;
        return { ...rest, what: w.what, ...(w.detail === undefined ? {} : { detail: w.detail }) };
      }),
    ),
    warnings,
  };
}

/** A plan's title by its kind in the catalog's language (an interrupted plan's), else `fallback`. */
export function shownPlanTitle(kind: string, fallback: string, t: Messages): string {
  return t.plan.planTitle(kind) ?? fallback;
}
