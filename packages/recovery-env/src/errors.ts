import type { BtrfsError } from "@lifeboat/btrfs";
import type { CoreError, ErrorBase } from "@lifeboat/core";

/** Something the build needs is not on this machine (kernel, its modules, node, busybox, a tool, the CLI bundle, the zstd addon beside it). */
export interface RecoveryEnvInputMissingError extends ErrorBase<"RECOVERY_ENV_INPUT_MISSING"> {
  readonly input:
    | "kernel"
    | "modules"
    | "node"
    | "busybox"
    | "tool"
    | "cli-bundle"
    | "zstd-addon"
    | "compiler";
  /** The path or program name that was looked for. */
  readonly path: string;
  /** How to get it, when known (e.g. `apt-get install -y busybox-static`). */
  readonly installHint: string | undefined;
}

/** A kernel module the environment needs is neither a module nor built into the kernel. */
export interface RecoveryEnvModuleNotFoundError extends ErrorBase<"RECOVERY_ENV_MODULE_NOT_FOUND"> {
  readonly module: string;
  readonly kernelVersion: string;
}

/** A recovery environment's file is missing or differs from its record (`environment.json`). */
export interface RecoveryEnvDamagedError extends ErrorBase<"RECOVERY_ENV_DAMAGED"> {
  /** The environment's folder. */
  readonly dir: string;
  /** The file that is missing or differs (or `environment.json` itself). */
  readonly file: string;
}

/** The recovery partition has no room for the new environment beside the one in use. */
export interface RecoveryEnvInsufficientSpaceError
  extends ErrorBase<"RECOVERY_ENV_INSUFFICIENT_SPACE"> {
  readonly root: string;
  readonly neededBytes: number;
  readonly availableBytes: number;
}

/**
 * Every error the recovery environment's functions can return: its own, core's
 * and those of the Btrfs helpers' build (`@lifeboat/btrfs`). A closed union.
 */
export type RecoveryEnvError =
  | RecoveryEnvInputMissingError
  | RecoveryEnvModuleNotFoundError
  | RecoveryEnvDamagedError
  | RecoveryEnvInsufficientSpaceError
  | CoreError
  | BtrfsError;

export function damaged(dir: string, file: string, what: string): RecoveryEnvDamagedError {
  return {
    code: "RECOVERY_ENV_DAMAGED",
    message: `The recovery environment in ${dir}: ${file} ${what}.`,
    dir,
    file,
  };
}

export function inputMissing(
  input: RecoveryEnvInputMissingError["input"],
  path: string,
  installHint?: string,
): RecoveryEnvInputMissingError {
  return {
    code: "RECOVERY_ENV_INPUT_MISSING",
    message: `The recovery environment needs ${input} ${path}, which is not there${installHint ? `; ${/^(apt-get|dnf) /.test(installHint) ? `install it with: ${installHint}` : installHint}` : ""}. Nothing was changed.`,
    input,
    path,
    installHint,
  };
}
