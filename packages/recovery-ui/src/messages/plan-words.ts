import type { DataLoss } from "@lifeboat/core";
import type { PlanStepView } from "@lifeboat/reset";

/** A data-loss entry in words: what is lost and anything else to know. */
export interface LossWords {
  readonly what: string;
  readonly detail?: string;
}

/**
 * A plan's words in one language, rendered from its kind and its steps'
 * typed parameters (`planStepViews` of `@lifeboat/reset`); the plan and its
 * digest stay as they are. A catalog without it shows the SDK's English words.
 */
export interface PlanWords {
  /** A plan's title by its request kind (`reset-keep-home`, …); undefined: the plan's own. */
  readonly planTitle: (kind: string) => string | undefined;
  /** A step's title. */
  readonly step: (view: PlanStepView) => string;
  /** The `index`th data-loss entry of a step. */
  readonly loss: (view: PlanStepView, loss: DataLoss, index: number) => LossWords;
}

/** The SDK's own words (English): the plan's title, step titles and data loss as planned. */
export const sdkPlanWords: PlanWords = {
  planTitle: () => undefined,
  step: (view) => view.title,
  loss: (_view, loss) => ({ what: loss.what, ...(loss.detail ? { detail: loss.detail } : {}) }),
};
