import type { DataLoss } from "@lifeboat/core";
import type { PlanStepView } from "@lifeboat/reset";
import type { Messages } from "./catalog.js";

/** A data-loss entry in words: what is lost and anything else to know. */
export interface LossWords {
  readonly what: string;
  readonly detail?: string;
}

/**
 * A plan's words in one language, rendered from its kind and its steps'
 * typed parameters (`planStepViews` of `@lifeboat/reset`); the plan and its
 * digest stay as they are. Each catalog ({@link Messages}) has one; English
 * uses {@link sdkPlanWords}.
 *
 * @example
 * ```ts
 * const words: PlanWords = {
 *   ...sdkPlanWords,
 *   step: (v) => (v.kind === "reset.exchange" ? `${v.params.a} ⇄ ${v.params.b}` : v.title),
 * };
 * ```
 */
export interface PlanWords {
  /** A plan's title by its request kind (`reset-keep-home`, …); undefined: the plan's own. */
  readonly planTitle: (kind: string) => string | undefined;
  /** A step's title. */
  readonly step: (view: PlanStepView) => string;
  /** The `index`th data-loss entry of a step. */
  readonly loss: (view: PlanStepView, loss: DataLoss, index: number) => LossWords;
}

/**
 * The SDK's own words (English): the plan's title, step titles and data
 * loss as planned.
 *
 * @example
 * ```ts
 * const title = sdkPlanWords.planTitle("reset-keep-home"); // undefined: the plan's own title
 * ```
 */
export const sdkPlanWords: PlanWords = {
  planTitle: () => undefined,
  step: (view) => view.title,
  loss: (_view, loss) => ({ what: loss.what, ...(loss.detail ? { detail: loss.detail } : {}) }),
};
