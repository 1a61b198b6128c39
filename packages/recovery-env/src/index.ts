/**
 * The recovery environment Lifeboat installs on the recovery partition: a
 * kernel and an initramfs that run the Lifeboat CLI with Node.js, find the
 * machine's disk and run a reset interactively or unattended.
 *
 * @module
 */

export { parseLdd, parseShowDepends } from "./_internal/closure.js";
export { RECOVERY_PARTITION_TYPE, renderInit } from "./_internal/init-script.js";
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
} from "./build.js";
export type {
  RecoveryEnvError,
  RecoveryEnvInputMissingError,
  RecoveryEnvModuleNotFoundError,
} from "./errors.js";
export {
  type InstalledProgram,
  type InstallProgramOptions,
  installProgram,
} from "./install-program.js";
