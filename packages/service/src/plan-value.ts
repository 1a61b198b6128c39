import { Variant } from "@jellybrick/dbus-next";
import type { Plan } from "@lifeboat/core";

/** The D-Bus signature of {@link planValue}'s steps: id, kind, title, reversible. */
export const PLAN_STEPS_SIGNATURE = "a(sssb)";
/** The D-Bus signature of {@link planValue}'s data-loss list: step id, kind, what, bytes (0: unknown), detail, loud. */
export const PLAN_DESTROYS_SIGNATURE = "a(ssstsb)";

/**
 * A plan as a D-Bus `a{sv}`, for clients that would rather not parse JSON:
 * `digest`, `kind`, `title`, `target` (s), `steps` ({@link PLAN_STEPS_SIGNATURE})
 * and `destroys` ({@link PLAN_DESTROYS_SIGNATURE}). The canonical JSON stays
 * the full record (parameters, preconditions); this is what a UI shows.
 *
 * @example
 * ```ts
 * const value = planValue(plan);
 * value.digest?.value === plan.digest; // true
 * ```
 */
export function planValue(plan: Plan): Record<string, Variant> {
  return {
    digest: new Variant("s", plan.digest),
    kind: new Variant("s", plan.kind),
    title: new Variant("s", plan.title),
    target: new Variant("s", plan.target),
    steps: new Variant(
      PLAN_STEPS_SIGNATURE,
      plan.steps.map((s) => [s.id, s.kind, s.title, s.reversible]),
    ),
    destroys: new Variant(
      PLAN_DESTROYS_SIGNATURE,
      plan.steps.flatMap((s) =>
        s.destroys.map((d) => [
          s.id,
          d.kind,
          d.what,
          BigInt(Math.max(0, Math.floor(d.bytes ?? 0))),
          d.detail ?? "",
          d.loud ?? false,
        ]),
      ),
    ),
  };
}
