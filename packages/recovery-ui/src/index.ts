/**
 * The guided recovery front end: a full-screen, keyboard-only terminal UI
 * (Ink) that leads a person from a diagnosis of the machine to a confirmed,
 * journaled reset. Built only on the public API of `@lifeboat/reset` and
 * `@lifeboat/core`. The message catalog's shape (for translators) is in
 * `@lifeboat/recovery-ui/messages`.
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
export { LOCALES, type Locale, localeFromCmdline } from "./messages/index.js";
export { type RunRecoveryUiOptions, runRecoveryUi } from "./run.js";
