import type { ExecutorEvent, Plan } from "@lifeboat/core";
import type { ProgressState } from "./screens/progress.js";

/**
 * The next progress state after an executor event at time `at` (ms): the
 * step, its bytes, whether stopping is still safe (every step so far can be
 * undone; unknown without the plan), and, for a step that reports bytes,
 * the seconds left at the rate so far.
 */
export function advance(
  p: ProgressState,
  e: ExecutorEvent,
  plan: Plan | undefined,
  at: number,
): ProgressState {
  switch (e.type) {
    case "plan-started":
      return { ...p, totalSteps: e.totalSteps };
    case "step-started": {
      const safe = plan
        ? plan.steps.slice(0, e.stepIndex + 1).every((s) => s.reversible)
        : undefined;
      return {
        title: p.title,
        stepIndex: e.stepIndex,
        totalSteps: e.totalSteps,
        stepTitle: e.title,
        stepStartedAt: at,
        ...(safe === undefined ? {} : { safeToStop: safe }),
      };
    }
    case "step-progress": {
      const { etaSeconds: _old, ...rest } = p;
      const elapsed = p.stepStartedAt === undefined ? 0 : at - p.stepStartedAt;
      const eta =
        e.bytesTotal !== undefined && e.bytesDone > 0 && elapsed > 0
          ? ((elapsed / e.bytesDone) * (e.bytesTotal - e.bytesDone)) / 1000
          : undefined;
      return {
        ...rest,
        bytesDone: e.bytesDone,
        ...(e.bytesTotal === undefined ? {} : { bytesTotal: e.bytesTotal }),
        ...(eta === undefined ? {} : { etaSeconds: eta }),
      };
    }
    default:
      return p;
  }
}
