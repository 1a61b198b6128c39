import path from "node:path";
import { err, ok, type Result, ResultAsync } from "neverthrow";
import { runSteps } from "./_internal/run-steps.js";
import type {
  ConfirmationMismatchError,
  ConfirmationRequiredError,
  InvalidArgumentError,
  LifeboatError,
  PlanTamperedError,
  UnknownStepError,
} from "./errors.js";
import type {
  ExecuteOptions,
  ExecutionSummary,
  ExecutorError,
  ResumeOptions,
  StepHandlers,
} from "./executor-types.js";
import { type JournalRecord, readJournal } from "./journal.js";
import { acquireLock } from "./lock.js";
import { computePlanDigest, isDestructive, type Plan } from "./plan.js";

/** The plan's content still gives its digest, and every step kind has a handler. */
function checkPlan(
  plan: Plan,
  handlers: StepHandlers,
): Result<void, PlanTamperedError | UnknownStepError | InvalidArgumentError> {
  const actual = computePlanDigest(plan).match(
    (digest) => digest,
    (e) => `invalid: ${e.message}`,
  );
  if (actual !== plan.digest) {
    return err({
      code: "PLAN_TAMPERED",
      message:
        "This plan was changed after it was made (its content no longer matches its digest); make a new plan.",
      recorded: plan.digest,
      actual,
    });
  }
  const seen = new Set<string>();
  for (const step of plan.steps) {
    if (seen.has(step.id)) {
      return err({
        code: "INVALID_ARGUMENT",
        message: `Two steps of the plan have the id ${JSON.stringify(step.id)}; step ids must be unique.`,
        argument: "plan.steps",
      });
    }
    seen.add(step.id);
    if (!Object.hasOwn(handlers, step.kind)) {
      return err({
        code: "UNKNOWN_STEP",
        message: `No handler for step ${JSON.stringify(step.id)} of kind ${JSON.stringify(step.kind)}; nothing was run.`,
        stepId: step.id,
        kind: step.kind,
      });
    }
  }
  return ok(undefined);
}

function checkConfirmation(
  plan: Plan,
  confirm: string | undefined,
): Result<void, ConfirmationRequiredError | ConfirmationMismatchError> {
  if (!isDestructive(plan)) return ok(undefined);
  if (confirm === undefined) {
    return err({
      code: "CONFIRMATION_REQUIRED",
      message: "This plan destroys data: show it to the user and pass its digest as `confirm`.",
      planDigest: plan.digest,
    });
  }
  if (confirm !== plan.digest) {
    return err({
      code: "CONFIRMATION_MISMATCH",
      message:
        "The confirmation is not this plan's digest: the plan differs from the one the user accepted.",
      planDigest: plan.digest,
      given: confirm,
    });
  }
  return ok(undefined);
}

/** Run `work` holding the lock; always release it. */
function withLock<T, E extends LifeboatError>(
  lockPath: string,
  work: () => Promise<Result<T, ExecutorError<E>>>,
): ResultAsync<T, ExecutorError<E>> {
  return acquireLock(lockPath).andThen(
    (lock) =>
      new ResultAsync(
        (async (): Promise<Result<T, ExecutorError<E>>> => {
          try {
            return await work();
          } finally {
            await lock.release();
          }
        })(),
      ),
  );
}

/**
 * Run a plan's steps in order, journaled, under a lock.
 *
 * Before anything runs it refuses: a plan whose content does not give its
 * digest (`PLAN_TAMPERED`), a destructive plan without `confirm` equal to its
 * digest (`CONFIRMATION_REQUIRED` / `CONFIRMATION_MISMATCH`), a step kind with
 * no handler (`UNKNOWN_STEP`), and a target another executor is working on
 * (`LOCK_HELD`). The journal is written atomically (and fsynced) before the
 * first step and after each step; the write after a step also names the next
 * step current. If the journal shows this plan done, nothing runs; if it shows it
 * unfinished, the run continues like {@link resume}; a journal of another
 * plan gives `JOURNAL_PLAN_MISMATCH`.
 *
 * @example
 * ```ts
 * const r = await execute(plan, { "btrfs.snapshot": snapshotHandler }, {
 *   confirm: acceptedDigest,
 *   journalPath: "/mnt/top/.lifeboat/reset.journal",
 *   onProgress: (e) => ui.show(e),
 * });
 * if (r.isErr()) ui.fail(formatError(r.error));
 * ```
 */
export function execute<E extends LifeboatError = LifeboatError>(
  plan: Plan,
  handlers: StepHandlers<E>,
  options: ExecuteOptions,
): ResultAsync<ExecutionSummary, ExecutorError<E>> {
  const checked = checkPlan(plan, handlers).andThen(() => checkConfirmation(plan, options.confirm));
  if (checked.isErr()) return new ResultAsync(Promise.resolve(err(checked.error)));
  const { journalPath } = options;
  return withLock(options.lockPath ?? `${journalPath}.lock`, async () => {
    const existing = await readJournal(journalPath);
    let journal: JournalRecord | undefined;
    if (existing.isErr()) {
      if (existing.error.code !== "JOURNAL_NOT_FOUND") return err(existing.error);
    } else {
      journal = existing.value;
      if (journal.planDigest !== plan.digest || journal.plan.digest !== plan.digest) {
        return err({
          code: "JOURNAL_PLAN_MISMATCH",
          message: `Another plan's run (${journal.planDigest}, ${journal.status}) is journaled on this target (${path.basename(path.dirname(journalPath))}/${path.basename(journalPath)}); finish it first (resume), or give it up (abandon) when it had not yet replaced anything.`,
          journalPath,
        });
      }
    }
    return runSteps(plan, handlers, journalPath, journal, options);
  });
}

/**
 * Finish a run that was interrupted (crash, power loss, kill, failed step):
 * read the plan from the journal, check its digest again, skip the steps the
 * journal has done, run the interrupted step again (handlers are idempotent),
 * and go on to the end. A journal that says `done` returns at once.
 *
 * No `confirm` is asked: the user confirmed this exact plan (its digest is in
 * the journal, and the plan is re-checked against it) when the run started,
 * and after a power cut the recovery environment must finish unattended.
 * Stopping half-way would leave the machine in between.
 *
 * @example
 * ```ts
 * const j = await readJournal(journalPath);
 * if (j.isOk() && j.value.status !== "done") await resume(journalPath, handlers, { onProgress });
 * ```
 */
export function resume<E extends LifeboatError = LifeboatError>(
  journalPath: string,
  handlers: StepHandlers<E>,
  options: ResumeOptions = {},
): ResultAsync<ExecutionSummary, ExecutorError<E>> {
  return withLock(options.lockPath ?? `${journalPath}.lock`, async () => {
    const read = await readJournal(journalPath);
    if (read.isErr()) return err(read.error);
    const journal = read.value;
    if (journal.planDigest !== journal.plan.digest) {
      return err({
        code: "PLAN_TAMPERED",
        message: "The journal's plan does not carry the digest the run was confirmed with.",
        recorded: journal.planDigest,
        actual: journal.plan.digest,
      });
    }
    const checked = checkPlan(journal.plan, handlers);
    if (checked.isErr()) return err(checked.error);
    return runSteps(journal.plan, handlers, journalPath, journal, {
      ...options,
      journalPath,
    });
  });
}
