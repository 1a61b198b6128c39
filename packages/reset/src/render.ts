import { type Plan, planDataLoss } from "@lifeboat/core";
import { formatBytes } from "./planner/words.js";

/**
 * Render a plan as plain text for a person: warnings first, then what is
 * destroyed (with sizes), then the steps. Front ends may draw their own; the
 * CLI and the inline-snapshot tests use this.
 *
 * @example
 * ```ts
 * const text = renderPlan(plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrap());
 * ```
 */
export function renderPlan(plan: Plan): string {
  const lines = [plan.title, `target: ${plan.target}`];
  if (plan.warnings.length) {
    lines.push("", "WARNINGS:");
    for (const w of plan.warnings) lines.push(`  ! ${w}`);
  }
  const losses = planDataLoss(plan);
  lines.push("", losses.length ? "This destroys:" : "This destroys nothing.");
  for (const l of losses) {
    const size = l.bytes === undefined ? "" : `, ${formatBytes(l.bytes)}`;
    lines.push(`  ${l.loud ? "!! " : "- "}${l.what}${size}${l.detail ? ` (${l.detail})` : ""}`);
  }
  lines.push("", "Steps:");
  plan.steps.forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.title}${s.destroys.length ? "  [destroys]" : ""}`);
  });
  return lines.join("\n");
}
