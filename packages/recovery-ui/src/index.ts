/**
 * The guided recovery front end: a full-screen, keyboard-only terminal UI
 * (Ink) that leads a person from a diagnosis of the machine to a confirmed,
 * journaled reset. Built only on the public API of `@lifeboat/reset` and
 * `@lifeboat/core`.
 *
 * @module @lifeboat/recovery-ui
 */
export {
  type HostAction,
  RecoveryApp,
  type RecoveryAppProps,
  type RecoveryStart,
} from "./app.js";
export {
  type AskPassphrase,
  type MachineBackendOptions,
  machineBackend,
  type OnProgress,
  type RecoveryBackend,
  type RecoveryMachine,
} from "./backend.js";
export {
  type ChoiceId,
  type ChoiceText,
  type ErrorNext,
  type ErrorSafety,
  type ErrorText,
  EXPLAINED_ERROR_CODES,
  type ExplainedErrorCode,
  type Messages,
  type WarningWords,
} from "./messages/catalog.js";
export { LOCALES, type Locale, localeFromCmdline } from "./messages/index.js";
export { type LossWords, type PlanWords, sdkPlanWords } from "./messages/plan-words.js";
export { type RunRecoveryUiOptions, runRecoveryUi } from "./run.js";
