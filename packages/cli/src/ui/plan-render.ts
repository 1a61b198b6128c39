import type { Plan } from "@lifeboat/core";
import pc from "picocolors";
import { formatBytes } from "./format.js";

/** The first 12 hex digits of a plan digest: what a person compares. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

/** Render a plan for a person: steps in order, and in red everything it destroys. */
export function renderPlan(plan: Plan): string {
  const lines: string[] = [];
  lines.push(pc.bold(plan.title));
  lines.push(
    pc.dim(`target ${plan.target} · plan ${shortDigest(plan.digest)} · ${plan.steps.length} steps`),
  );
  for (const warning of plan.warnings) lines.push(pc.bold(pc.yellow(`⚠ ${warning}`)));
  lines.push("");
  plan.steps.forEach((step, i) => {
    const tag =
      step.destroys.length > 0
        ? pc.red("destroys")
        : step.reversible
          ? pc.dim("safe")
          : pc.yellow("one-way");
    lines.push(`${String(i + 1).padStart(3)}. ${step.title}  ${tag}`);
  });
  const losses = plan.steps.flatMap((s) => s.destroys);
  lines.push("");
  if (losses.length === 0) {
    lines.push(pc.green("This plan destroys nothing."));
  } else {
    lines.push(pc.bold(pc.red("This plan DESTROYS:")));
    for (const loss of losses) {
      const size = loss.bytes === undefined ? "" : ` (${formatBytes(loss.bytes)})`;
      const detail = loss.detail ? ` — ${loss.detail}` : "";
      const text = `  ✖ ${loss.what}${size}${detail}`;
      lines.push(loss.loud ? pc.bold(pc.red(pc.inverse(text))) : pc.red(text));
    }
  }
  return lines.join("\n");
}
