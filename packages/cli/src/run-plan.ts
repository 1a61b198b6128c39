import {
  type ConfirmationMismatchError,
  type ExecutionSummary,
  type ExecutorError,
  type ExecutorEvent,
  execute,
  isDestructive,
  type LifeboatError,
  type Plan,
  type StepHandlers,
} from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
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
  /**
   * Confirm even though no step destroys anything: the plan writes a disk
   * (a partition table), so a script must still pass `--yes --confirm <digest>`
   * and a person must still type `word`.
   */
  readonly confirmWrites?: boolean;
  /** Only show the plan (`--dry-run`). */
  readonly dryRun?: boolean;
  /** The executor lock file (default: none). */
  readonly lockPath?: string;
  /**
   * Run the plan another way than core's `execute` with `handlers` (e.g.
   * `executeReset`, which also archives a finished journal).
   */
  readonly executeWith?: (options: {
    readonly confirm: string | undefined;
    readonly onProgress: (event: ExecutorEvent) => void;
    readonly signal: AbortSignal;
  }) => ResultAsync<ExecutionSummary, ExecutorError | LifeboatError>;
  /**
   * How a person names this machine again (`--disk laptop.img`): the failure
   * note says how to resume or abandon with it, and where the journal lives for
   * real (not in a mount directory that is gone when the command ends).
   */
  readonly target?: { readonly args: string; readonly journalWhere: string };
  /** Extra fields for the JSON document's `data`. */
  readonly extra?: () => Promise<Record<string, unknown>>;
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
    const extra = options.extra ? await options.extra() : {};
    return succeed(ctx, options.command, { plan, executed: false, ...extra }, () =>
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
    // The executor checks the digest of destructive plans only; a confirmed write is checked here.
    if (!isDestructive(plan) && options.confirmWrites && confirm !== plan.digest) {
      const mismatch: ConfirmationMismatchError = {
        code: "CONFIRMATION_MISMATCH",
        message:
          "The confirmation is not this plan's digest: the plan differs from the one you reviewed.",
        planDigest: plan.digest,
        given: confirm,
      };
      return fail(ctx, options.command, mismatch);
    }
  } else if (isDestructive(plan) || options.confirmWrites) {
    say(ctx);
    const word = options.word ?? "RESET";
    const typed = await confirmByTyping(ctx, word, `run plan ${shortDigest(plan.digest)}`);
    if (typed.isErr()) return fail(ctx, options.command, typed.error);
    confirm = plan.digest;
  }
  const started = Date.now();
  const progress = executorProgress(ctx);
  const onProgress = progress.onProgress;
  const result = options.executeWith
    ? await options.executeWith({ confirm, onProgress, signal: ctx.signal })
    : await execute(plan, handlers, {
        journalPath: options.journalPath,
        onProgress,
        signal: ctx.signal,
        ...(options.lockPath ? { lockPath: options.lockPath } : {}),
        ...(confirm === undefined ? {} : { confirm }),
      });
  progress.stop();
  if (result.isErr()) {
    const code = fail(ctx, options.command, result.error);
    if (code !== ExitCode.NotConfirmed) note(ctx, pc.yellow(journalNote(options)));
    return code;
  }
  const extra = options.extra ? await options.extra() : {};
  return succeed(
    ctx,
    options.command,
    { plan, executed: true, summary: result.value, durationMs: Date.now() - started, ...extra },
    () => pc.green(`\nDone in ${formatDuration(Date.now() - started)}.`),
  );
}

function journalNote(options: RunPlanOptions): string {
  if (options.target === undefined)
    return `The journal is at ${options.journalPath}; \`lifeboat resume\` finishes or reports the interrupted step.`;
  const { args, journalWhere } = options.target;
  return `The run's journal is kept ${journalWhere}. \`lifeboat resume ${args}\` finishes the run; \`lifeboat abandon ${args}\` undoes what it made when it had not yet replaced anything.`;
}

/**
 * Show executor events to a person: one line per step, a progress bar with
 * rate and ETA for steps that report bytes. Nothing in `--json` mode.
 */
export function executorProgress(ctx: CliContext): {
  onProgress: (event: ExecutorEvent) => void;
  stop: () => void;
} {
  const bars = new Map<string, ByteProgress>();
  const onProgress = (event: ExecutorEvent): void => {
    if (ctx.progressJson) ctx.stderr.write(`${JSON.stringify(event)}\n`);
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
  return {
    onProgress,
    stop: () => {
      for (const bar of bars.values()) bar.stop();
    },
  };
}
