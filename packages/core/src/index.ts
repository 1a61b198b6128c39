export { fsyncDirectory, writeFileAtomic } from "./atomic-file.js";
export type {
  AbortedError,
  CommandError,
  CommandFailedError,
  CommandNotFoundError,
  CommandTimedOutError,
  ConfirmationMismatchError,
  ConfirmationRequiredError,
  CoreError,
  ErrorBase,
  InvalidArgumentError,
  IoFailedError,
  JournalError,
  LifeboatError,
  LockHeldError,
  ParseFailedError,
  PermissionDeniedError,
  PlanTamperedError,
  PreconditionFailedError,
  StepFailedError,
  UnknownStepError,
  UnsafePathError,
} from "./errors.js";
export { abortedError, formatError, ioError, isLifeboatError, lifeboatError } from "./errors.js";
export { createExecaRunner, type ExecaRunnerOptions } from "./execa-runner.js";
export { installHint } from "./install-hints.js";
export { joinInside, resolveInside } from "./paths.js";
export type { DataLoss, JsonValue, Plan, PlanDraft, PlanStep } from "./plan.js";
export {
  canonicalJson,
  computePlanDigest,
  createPlan,
  isDestructive,
  planDataLoss,
} from "./plan.js";
export {
  createRecordingRunner,
  type RecordedCall,
  type RecordedResponse,
  type RecordingRunner,
} from "./recording-runner.js";
export type {
  CommandRunner,
  RunBytesResult,
  RunningCommand,
  RunOptions,
  RunResult,
  SpawnOptions,
  StreamRunResult,
} from "./runner.js";
export { tail } from "./runner.js";
