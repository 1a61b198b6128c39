import {
  type ExecutorEvent,
  execute,
  isDestructive,
  type Plan,
  type StepHandlers,
} from "@lifeboat/core";
import pc from "picocolors";
import { type CliContext, fail, note, say, succeed } from "./context.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { confirmByTyping } from "./ui/confirm.js";
import { formatDuration } from "./ui/format.js";
import { renderPlan, shortDigest } from "./ui/plan-render.js";
import { type ByteProgress, startProgress } from "./ui/progress.js";

/** How the person confirmed: `--yes` must come with `--confirm <digest>`. */
export interface ConfirmFlags {
  readonly yes?: boolean;
  readonly confirm?: string;
}

/** Options for {@link runPlan}. */
export interface RunPlanOptions extends ConfirmFlags {
  readonly command: string;
  readonly journalPath: string;
  /** The word a person types to confirm a destructive plan (default `RESET`). */
  readonly word?: string;
  /** Only show the plan (`--dry-run`). */
  readonly dryRun?: boolean;
}

/**
 * Show a plan, get the confirmation it needs, run it with progress, report.
 * A destructive plan runs only with the digest of the plan that was shown:
 * typed confirmation on a terminal, or `--yes --confirm <digest>` in scripts.
 */
export async function runPlan(
  ctx: CliContext,
  plan: Plan,
  handlers: StepHandlers,
  options: RunPlanOptions,
): Promise<ExitCodeValue> {
  if (!ctx.json) say(ctx, renderPlan(plan));
  if (options.dryRun) {
    return succeed(ctx, options.command, { plan, executed: false }, () =>
      pc.dim(`\nDry run: nothing was changed. Digest ${plan.digest}`),
    );
  }
  let confirm: string | undefined;
  if (options.yes) {
    if (!options.confirm) {
      return fail(ctx, options.command, {
        code: "CLI_USAGE",
        message:
          "--yes needs --confirm <digest>: the digest of the plan you reviewed (see `lifeboat plan`).",
      });
    }
    confirm = options.confirm;
  } else if (isDestructive(plan)) {
    say(ctx);
    const word = options.word ?? "RESET";
    const typed = await confirmByTyping(ctx, word, `run plan ${shortDigest(plan.digest)}`);
    if (typed.isErr()) return fail(ctx, options.command, typed.error);
    confirm = plan.digest;
  }
  const bars = new Map<string, ByteProgress>();
  const started = Date.now();
  const onProgress = (event: ExecutorEvent) => {
    if (ctx.json) return;
    switch (event.type) {
      case "step-started":
        note(
          ctx,
          `${pc.cyan("▶")} [${event.stepIndex + 1}/${event.totalSteps}] ${event.title}${event.rerun ? pc.yellow(" (re-run after interruption)") : ""}`,
        );
        break;
      case "step-progress": {
        let bar = bars.get(event.stepId);
        if (!bar) {
          bar = startProgress(ctx, "  copying", event.bytesTotal ?? 0);
          bars.set(event.stepId, bar);
        }
        bar.update(event.bytesDone, event.bytesTotal);
        break;
      }
      case "step-finished":
        bars.get(event.stepId)?.stop();
        note(ctx, `  ${pc.green("✓")} ${pc.dim(formatDuration(event.durationMs))}`);
        break;
      case "step-skipped":
        note(ctx, `  ${pc.dim(`skipped step ${event.stepIndex + 1}: already done`)}`);
        break;
      default:
        break;
    }
  };
  const result = await execute(plan, handlers, {
    journalPath: options.journalPath,
    onProgress,
    signal: ctx.signal,
    ...(confirm === undefined ? {} : { confirm }),
  });
  for (const bar of bars.values()) bar.stop();
  if (result.isErr()) {
    const code = fail(ctx, options.command, result.error);
    if (code !== ExitCode.NotConfirmed)
      note(
        ctx,
        pc.yellow(
          `The journal is at ${options.journalPath}; \`lifeboat resume\` finishes or reports the interrupted step.`,
        ),
      );
    return code;
  }
  return succeed(
    ctx,
    options.command,
    { plan, executed: true, summary: result.value, durationMs: Date.now() - started },
    () => pc.green(`\nDone in ${formatDuration(Date.now() - started)}.`),
  );
}
