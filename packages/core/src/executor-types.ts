import type { ResultAsync } from "neverthrow";
import type {
  AbortedError,
  ConfirmationMismatchError,
  ConfirmationRequiredError,
  HandlerThrewError,
  InvalidArgumentError,
  IoFailedError,
  JournalError,
  LifeboatError,
  LockHeldError,
  PlanEncodingError,
  PlanTamperedError,
  StepFailedError,
  UnknownStepError,
} from "./errors.js";
import type { Plan, PlanStep } from "./plan.js";

/** What a step handler gets besides its step. */
export interface StepContext {
  /** Fires when the caller cancels; stop soon and return an `ABORTED` error. */
  readonly signal: AbortSignal;
  /** Report bytes done (and the total, when known); becomes a `step-progress` event. */
  reportBytes(done: number, total?: number): void;
  /** The plan being run. */
  readonly plan: Plan;
  /** Position of the step in the plan (0-based). */
  readonly stepIndex: number;
  /** The journal file, and its directory (on the target: a place for a handler's own state). */
  readonly journalPath: string;
  readonly journalDir: string;
  /** 1 for the first run, +1 for each resume. */
  readonly attempt: number;
  /**
   * True when the interrupted run had this step current (crash, power loss,
   * failure): the handler must cope with its own half-done work. The journal
   * names the next step current in the same write that records the previous
   * one done, so this is also true when the run stopped just before the step
   * began.
   */
  readonly rerun: boolean;
}

/**
 * Runs one kind of step. Contract: IDEMPOTENT. After a crash the executor
 * runs the interrupted step again from the start, so running it twice, or
 * after a half-done first run, must give the same end state as running it
 * once (check before acting: "snapshot exists already? done").
 */
export type StepHandler<E extends LifeboatError = LifeboatError> = (
  step: PlanStep,
  ctx: StepContext,
) => ResultAsync<void, E>;

/** Handlers by step `kind`; `E` is the error type they return (a package's closed union). */
export type StepHandlers<E extends LifeboatError = LifeboatError> = Readonly<
  Record<string, StepHandler<E>>
>;

/** A progress event from the executor. */
export type ExecutorEvent =
  | {
      readonly type: "plan-started";
      readonly planDigest: string;
      readonly totalSteps: number;
      readonly attempt: number;
      /** True when continuing a journal (resume, or execute over an unfinished journal). */
      readonly resumed: boolean;
    }
  | {
      readonly type: "step-started";
      readonly stepId: string;
      readonly stepIndex: number;
      readonly totalSteps: number;
      readonly kind: string;
      readonly title: string;
      readonly rerun: boolean;
    }
  | {
      readonly type: "step-progress";
      readonly stepId: string;
      readonly stepIndex: number;
      readonly bytesDone: number;
      readonly bytesTotal: number | undefined;
    }
  | {
      readonly type: "step-skipped";
      readonly stepId: string;
      readonly stepIndex: number;
      readonly reason: "already-done";
    }
  | {
      readonly type: "step-finished";
      readonly stepId: string;
      readonly stepIndex: number;
      readonly durationMs: number;
    }
  | {
      readonly type: "plan-finished";
      readonly planDigest: string;
      readonly durationMs: number;
      /** True when the journal said the plan was done already: nothing ran. */
      readonly alreadyDone: boolean;
    }
  | {
      readonly type: "plan-failed";
      readonly planDigest: string;
      readonly stepId: string | undefined;
      readonly error: LifeboatError;
    };

/** Options of {@link execute}. */
export interface ExecuteOptions {
  /** The digest of the plan the user saw and accepted; required for a destructive plan. */
  readonly confirm?: string | undefined;
  /** The journal file (put it on the target, so it survives with the work). */
  readonly journalPath: string;
  /** The lock file; default `journalPath + ".lock"`. */
  readonly lockPath?: string | undefined;
  readonly onProgress?: ((event: ExecutorEvent) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link resume}: no `confirm` (the run was confirmed when it started). */
export type ResumeOptions = Omit<ExecuteOptions, "confirm" | "journalPath">;

/** What a finished run reports. */
export interface ExecutionSummary {
  readonly planDigest: string;
  /** Steps run by this call, in order. */
  readonly ranStepIds: readonly string[];
  /** Steps skipped because the journal had them done. */
  readonly skippedStepIds: readonly string[];
  readonly attempt: number;
  readonly durationMs: number;
  /** True when the plan was done already and nothing ran. */
  readonly alreadyDone: boolean;
}

/**
 * Errors of {@link execute} and {@link resume}. `E` is the handlers' error
 * type: a failed step is a `STEP_FAILED` whose `cause` is an `E` (or
 * `HANDLER_THREW` when a handler broke its contract and threw).
 */
export type ExecutorError<E extends LifeboatError = LifeboatError> =
  | PlanTamperedError
  | ConfirmationRequiredError
  | ConfirmationMismatchError
  | UnknownStepError
  | LockHeldError
  | JournalError
  | IoFailedError
  | PlanEncodingError
  | StepFailedError<E | HandlerThrewError>
  | AbortedError
  | InvalidArgumentError;
