/**
 * Plans sealed by digest, the journaled executor, the command runner, typed errors and file helpers every other package builds on.
 *
 * @module @lifeboat/core
 */

/**
 * The result types every Lifeboat function returns (from neverthrow, which
 * each package depends on): a caller can name them without a dependency of
 * its own, e.g. `ResultAsync<SystemState, ResetError>`.
 *
 * @example
 * ```ts
 * import type { ResultAsync } from "@lifeboat/core";
 * const r = await inspect(runner, { disk });
 * r.match(
 *   (state) => show(state),
 *   (e) => console.error(`${e.code}: ${e.message}`),
 * );
 * ```
 */
export type { Err, Ok, Result, ResultAsync } from "neverthrow";
export { fsyncDirectory, writeFileAtomic } from "./atomic-file.js";
export { parseBlkidExport } from "./blkid.js";
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
  HandlerThrewError,
  InvalidArgumentError,
  IoFailedError,
  JournalError,
  LifeboatError,
  LockHeldError,
  ParseFailedError,
  PermissionDeniedError,
  PlanEncodingError,
  PlanTamperedError,
  PreconditionFailedError,
  StepFailedError,
  UnknownStepError,
  UnsafePathError,
} from "./errors.js";
export { abortedError, formatError, ioError, isLifeboatError, lifeboatError } from "./errors.js";
export { createExecaRunner, type ExecaRunnerOptions } from "./execa-runner.js";
export { execute, resume } from "./executor.js";
export type {
  ExecuteOptions,
  ExecutionSummary,
  ExecutorError,
  ExecutorEvent,
  ResumeOptions,
  StepContext,
  StepHandler,
  StepHandlers,
} from "./executor-types.js";
export { type HeldFileLock, lockFile } from "./file-lock.js";
export {
  FINDMNT_COLUMNS,
  type FindmntOptions,
  findMountOf,
  listMounts,
  type Mount,
  parseFindmnt,
} from "./findmnt.js";
export { type FormatBytesOptions, formatBytes } from "./format.js";
export { installHint } from "./install-hints.js";
export {
  type JournaledError,
  type JournalRecord,
  type JournalStatus,
  journalFiles,
  readJournal,
} from "./journal.js";
export { acquireLock, type ExecutorLock, type LockInfo } from "./lock.js";
export {
  type BlockDevice,
  flattenBlockDevices,
  type ListBlockDevicesOptions,
  listBlockDevices,
  parseLsblk,
} from "./lsblk.js";
export { type MountinfoEntry, parseMountinfo, readMountinfo } from "./mountinfo.js";
export { joinInside, resolveInside } from "./paths.js";
export type {
  DataLoss,
  JsonValue,
  Plan,
  PlanDraft,
  PlanStep,
  PlanWarningCode,
} from "./plan.js";
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
