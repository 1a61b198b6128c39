/**
 * The recovery environment Lifeboat installs on the recovery partition: a
 * kernel (by default the target system's own, signed by its distribution)
 * and an initramfs that run the Lifeboat CLI with Node.js, find the
 * machine's disk and run a reset interactively or unattended; with the
 * static helpers `lifeboat-exch` and `lifeboat-btrfs-agent`. Built with
 * {@link prepareRecoveryEnvironment}, installed atomically with
 * {@link installRecoveryEnvironment} (`lifeboat provision` does both).
 *
 * @module @lifeboat/recovery-env
 */

export {
  type BuildRecoveryEnvironmentOptions,
  buildRecoveryEnvironment,
  DEFAULT_CLI_ARGUMENTS,
  DEFAULT_MODULES,
  DEFAULT_TOOLS,
  LUKS_MODULES,
  type RecoveryCliArguments,
  type RecoveryEnvironment,
  type RecoveryEnvProgress,
  renderCliArgumentFiles,
} from "./build.js";
export type {
  RecoveryEnvDamagedError,
  RecoveryEnvError,
  RecoveryEnvInputMissingError,
  RecoveryEnvInsufficientSpaceError,
  RecoveryEnvModuleNotFoundError,
} from "./errors.js";
export {
  type InstalledRecoveryEnvironment,
  type InstallRecoveryEnvironmentOptions,
  type InstallRecoveryEnvProgress,
  installRecoveryEnvironment,
  readInstalledRecoveryEnvironment,
} from "./install.js";
export {
  type InstalledProgram,
  type InstallProgramOptions,
  installProgram,
} from "./install-program.js";
export {
  type PrepareRecoveryEnvironmentOptions,
  type PrepareRecoveryEnvProgress,
  prepareRecoveryEnvironment,
} from "./prepare.js";
export {
  type RecoveryEnvironmentFile,
  type RecoveryEnvironmentRecord,
  type VerifiedRecoveryEnvironment,
  verifyRecoveryEnvironment,
} from "./record.js";
