import { mkdir } from "node:fs/promises";
import path from "node:path";
import { err, ok, type Result, ResultAsync } from "neverthrow";
import {
  type AbortedError,
  abortedError,
  type HandlerThrewError,
  ioError,
  type LifeboatError,
  type StepFailedError,
} from "../errors.js";
import type {
  ExecuteOptions,
  ExecutionSummary,
  ExecutorError,
  ExecutorEvent,
  StepContext,
  StepHandlers,
} from "../executor-types.js";
import { type JournalRecord, journaledError } from "../journal.js";
import type { Plan } from "../plan.js";
import { createSlotWriter } from "./journal-slots.js";

const never = new AbortController().signal;

/** Run the handler, turning a thrown exception (a broken contract) into an error value. */
async function callHandler<E extends LifeboatError>(
  handler: NonNullable<StepHandlers<E>[string]>,
  step: Plan["steps"][number],
  ctx: StepContext,
): Promise<Result<void, E | HandlerThrewError>> {
  try {
    return await handler(step, ctx);
  } catch (e) {
    return err({
      code: "HANDLER_THREW",
      message: `The handler for ${step.kind} threw instead of returning an error: ${e instanceof Error ? e.message : String(e)}`,
      cause: e,
      kind: step.kind,
    });
  }
}

/**
 * The executor's loop, shared by execute and resume. The caller holds the
 * lock and has checked the plan. `journal` is the existing record, if any.
 */
export async function runSteps<E extends LifeboatError>(
  plan: Plan,
  handlers: StepHandlers<E>,
  journalPath: string,
  journal: JournalRecord | undefined,
  options: Omit<ExecuteOptions, "confirm">,
): Promise<Result<ExecutionSummary, ExecutorError<E>>> {
  const t0 = Date.now();
  const emit = (event: ExecutorEvent): void => {
    try {
      options.onProgress?.(event);
    } catch {
      // A broken progress callback must not stop a half-done reset.
    }
  };
  if (journal?.status === "done") {
    emit({ type: "plan-finished", planDigest: plan.digest, durationMs: 0, alreadyDone: true });
    return ok({
      planDigest: plan.digest,
      ranStepIds: [],
      skippedStepIds: plan.steps.map((s) => s.id),
      attempt: journal.attempt,
      durationMs: 0,
      alreadyDone: true,
    });
  }
  const signal = options.signal ?? never;
  // One writer per run: the first write replaces the journal atomically, later ones alternate slots.
  const journalWriter = createSlotWriter(journalPath);
  const now = () => new Date().toISOString();
  const completed = new Set(journal?.completedStepIds ?? []);
  const interrupted = journal?.currentStepId ?? undefined;
  let record: JournalRecord = {
    version: 1,
    plan,
    planDigest: plan.digest,
    status: "running",
    completedStepIds: [...(journal?.completedStepIds ?? [])],
    // The first write already names the first step to run (one write fewer).
    currentStepId:
      journal?.currentStepId ?? plan.steps.find((s) => !completed.has(s.id))?.id ?? null,
    attempt: (journal?.attempt ?? 0) + 1,
    startedAt: journal?.startedAt ?? now(),
    updatedAt: now(),
    finishedAt: null,
    lastError: journal?.lastError ?? null,
  };
  const ran: string[] = [];
  const skipped: string[] = [];

  const fail = async (
    error: ExecutorError<E>,
    stepId: string | undefined,
  ): Promise<Result<never, ExecutorError<E>>> => {
    record = { ...record, status: "failed", updatedAt: now(), lastError: journaledError(error) };
    // The step's error is what matters; a journal that cannot be written now
    // still says "running" with this step current, which resumes the same way.
    await journalWriter.write(record);
    emit({ type: "plan-failed", planDigest: plan.digest, stepId, error });
    return err(error);
  };

  const first = await ResultAsync.fromPromise(
    mkdir(path.dirname(journalPath), { recursive: true }),
    (e) => ioError(e, path.dirname(journalPath), "create the journal directory"),
  ).andThen(() => journalWriter.write(record));
  if (first.isErr()) return fail(first.error, undefined);
  emit({
    type: "plan-started",
    planDigest: plan.digest,
    totalSteps: plan.steps.length,
    attempt: record.attempt,
    resumed: journal !== undefined,
  });

  for (const [stepIndex, step] of plan.steps.entries()) {
    if (completed.has(step.id)) {
      skipped.push(step.id);
      emit({ type: "step-skipped", stepId: step.id, stepIndex, reason: "already-done" });
      continue;
    }
    if (signal.aborted) return fail(abortedError(`before step ${step.id}`), step.id);
    if (record.currentStepId !== step.id) {
      // Every step was named current by the write before it (the first write,
      // or the one that recorded its predecessor done), so this only runs
      // for a journal that stopped between steps in an older format.
      record = { ...record, currentStepId: step.id, updatedAt: now() };
      const before = await journalWriter.write(record);
      if (before.isErr()) return fail(before.error, step.id);
    }
    const rerun = interrupted === step.id;
    emit({
      type: "step-started",
      stepId: step.id,
      stepIndex,
      totalSteps: plan.steps.length,
      kind: step.kind,
      title: step.title,
      rerun,
    });
    const ctx: StepContext = {
      signal,
      reportBytes: (bytesDone, bytesTotal) =>
        emit({ type: "step-progress", stepId: step.id, stepIndex, bytesDone, bytesTotal }),
      plan,
      stepIndex,
      journalPath,
      journalDir: path.dirname(journalPath),
      attempt: record.attempt,
      rerun,
    };
    const started = Date.now();
    // checkPlan verified that every kind has a handler.
    const result = await callHandler(handlers[step.kind]!, step, ctx);
    if (result.isErr()) {
      const cause = result.error;
      if (cause.code === "ABORTED" || signal.aborted) {
        // A code names one interface: a handler's ABORTED is core's AbortedError.
        return fail(
          cause.code === "ABORTED"
            ? (cause as LifeboatError as AbortedError)
            : abortedError(`step ${step.id}`, cause),
          step.id,
        );
      }
      const failed: StepFailedError<E | HandlerThrewError> = {
        code: "STEP_FAILED",
        message: `Step ${stepIndex + 1} (${step.title}) failed: ${cause.message}`,
        stepId: step.id,
        stepIndex,
        cause,
      };
      return fail(failed, step.id);
    }
    completed.add(step.id);
    ran.push(step.id);
    // The step is recorded done and the next one to run named current in the
    // same write: a crash after it resumes that next step as a re-run, which
    // every handler must cope with anyway (idempotent, decides from the disk).
    // After the last step, that write is the one that says the plan is done.
    const next = plan.steps.slice(stepIndex + 1).find((s) => !completed.has(s.id));
    const at = now();
    record = {
      ...record,
      completedStepIds: [...record.completedStepIds, step.id],
      currentStepId: next?.id ?? null,
      updatedAt: at,
      ...(next === undefined ? { status: "done" as const, finishedAt: at, lastError: null } : {}),
    };
    const after = await journalWriter.write(record);
    if (after.isErr()) return fail(after.error, step.id);
    emit({ type: "step-finished", stepId: step.id, stepIndex, durationMs: Date.now() - started });
  }

  if (record.status !== "done") {
    // Every step was done already (a journal of a finished run that still said "running").
    const end = now();
    record = { ...record, status: "done", updatedAt: end, finishedAt: end, lastError: null };
    const done = await journalWriter.write(record);
    if (done.isErr()) return fail(done.error, undefined);
  }
  const durationMs = Date.now() - t0;
  emit({ type: "plan-finished", planDigest: plan.digest, durationMs, alreadyDone: false });
  return ok({
    planDigest: plan.digest,
    ranStepIds: ran,
    skippedStepIds: skipped,
    attempt: record.attempt,
    durationMs,
    alreadyDone: false,
  });
}
