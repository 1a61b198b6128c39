/**
 * Inspect a machine, plan a reset (keep home, from the recovery image, full restore, erase user data, rescue, rollback), execute and resume it; provision the factory snapshot and the recovery partition.
 *
 * @module @lifeboat/reset
 */
export { type AbandonSummary, abandonReset } from "./abandon.js";
export { describeBootPayload, isBootPayloadFile } from "./boot-payload.js";
export {
  type CheckpointMachine,
  type CreateCheckpointOptions,
  createCheckpoint,
} from "./checkpoint/create.js";
export { checkCheckpointName } from "./checkpoint/layout.js";
export { listCheckpoints } from "./checkpoint/list.js";
export type { CheckpointManifest } from "./checkpoint/manifest.js";
export {
  type KeepReason,
  type KeptCheckpoint,
  type PruneOptions,
  type PrunePlan,
  planPrune,
} from "./checkpoint/prune.js";
export type {
  BadCheckpointNameError,
  BadRequestError,
  BadStepParamsError,
  CannotAbandonError,
  CheckpointExistsError,
  CheckpointProtectedError,
  DiskInUseError,
  EncryptedLockedError,
  FaultInjectedError,
  ImageChangedError,
  ImageNotVerifiedError,
  ImageRollbackPlanError,
  InsufficientSpaceError,
  LuksWrongKeyError,
  ManifestInvalidError,
  NoCheckpointError,
  NoFactorySnapshotError,
  NotADiskError,
  PlanTextError,
  PlanTextMismatchError,
  ResetError,
  ResetExecutionError,
  ResetPlanError,
  TargetBusyError,
  UnexpectedStateError,
  UnsupportedLayoutError,
  VerifyFailedError,
  WrongTargetError,
} from "./errors.js";
export {
  type ExecuteResetOptions,
  executeReset,
  resetJournalPaths,
  resumeReset,
} from "./execute.js";
export { type ExplicitDisk, type InspectOptions, inspect } from "./inspect.js";
export {
  type InspectedMachine,
  type InspectMachineOptions,
  inspectMachine,
} from "./inspect-machine.js";
export { isValidStamp, stampOf } from "./layout.js";
export {
  checkLuksKey,
  type LuksKey,
  type LuksMapping,
  lockLuks,
  luksContainerToUnlock,
  type UnlockLuksOptions,
  unlockLuks,
} from "./luks.js";
export type { LuksKeySource } from "./machine/luks.js";
export {
  type Machine,
  type MachineDeviceRole,
  type OpenMachineOptions,
  openMachine,
} from "./machine/open.js";
export type { FactoryManifest } from "./manifest.js";
export { plan } from "./plan.js";
export { checkPlanText } from "./plan-text.js";
export { formatBytes } from "./planner/words.js";
export {
  type ProvisionOptions,
  type ProvisionResult,
  provision,
} from "./provision.js";
export type {
  GrubIntegration,
  GrubSkipReason,
  ProvisionGrubOptions,
} from "./provision-grub.js";
export {
  type ProvisionedRecovery,
  type ProvisionProgress,
  type ProvisionRecoveryOptions,
  provisionRecovery,
  type RecoveryEnvironmentSource,
  type RecoveryProvisionOptions,
} from "./provision-recovery.js";
export {
  type ProvisionedService,
  type ProvisionedServiceFile,
  type ProvisionServiceOptions,
  provisionService,
} from "./provision-service.js";
export {
  type BuildRecoveryOptions,
  buildRecoveryImageSet,
  imageSetDigest,
  type OpenRecoveryOptions,
  openRecoveryImageSet,
  type RecoveryAccessOptions,
  recoveryAccess,
} from "./recovery.js";
export { renderPlan } from "./render.js";
export type {
  AllowRollback,
  CleanupRequest,
  FullRestoreRequest,
  RescueRequest,
  RescueTarget,
  ResetFromRecoveryRequest,
  ResetKeepHomeRequest,
  ResetRequest,
  ResetUserDataRequest,
  RollbackRequest,
  UndoResetRequest,
} from "./requests.js";
export { RESET_REQUEST_KINDS } from "./requests.js";
export { describeRescueTarget } from "./rescue-target.js";
export {
  type RunScheduledResetOptions,
  runScheduledReset,
  type ScheduledRunEvent,
  type ScheduledRunOutcome,
} from "./run-scheduled.js";
export {
  type CancelScheduledResetOptions,
  cancelScheduledReset,
  findBaseEntry,
  grubMenuFileFor,
  parseScheduledRequest,
  type ResetScheduledOn,
  type ResetUnitOptions,
  readScheduledReset,
  renderResetUnit,
  SCHEDULABLE_KINDS,
  type ScheduledReset,
  type ScheduledResetFound,
  type ScheduledResetRequest,
  type ScheduleResetOnOptions,
  type ScheduleResetOptions,
  type ScheduleTarget,
  scheduleReset,
  scheduleResetOn,
  type UnscheduleResetOptions,
  unscheduleReset,
} from "./schedule.js";
export {
  cancelRecoverySchedule,
  type RecoveryResetScheduled,
  type RecoveryScheduledPlan,
  type RecoveryScheduleFound,
  readRecoverySchedule,
  type ScheduleResetInRecoveryOptions,
  scheduleResetInRecovery,
} from "./schedule-recovery.js";
export type {
  BootFile,
  BtrfsState,
  CheckpointState,
  DiskState,
  FactoryState,
  KeptRootState,
  LuksInfo,
  OtherOs,
  PartitionRole,
  PartitionState,
  RecoveryState,
  RootMount,
  SubvolumeState,
  SystemState,
  UnfinishedPlanState,
} from "./state.js";
export { type PlanStepView, planStepViews } from "./step-view.js";
export type { StepKind, StepParams } from "./steps/catalogue.js";
export type { RecoveryImageAccess, ResetEnvironment } from "./steps/context.js";
export { type PayloadOrigin, payloadOrigin } from "./steps/words.js";
export {
  type PlanWarningKind,
  type PlanWarningParams,
  type PlanWarningView,
  planWarningViews,
} from "./warnings.js";
