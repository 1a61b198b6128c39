import type { CoreError, ErrorBase } from "@lifeboat/core";

/** Something the build needs is not on this machine (kernel, its modules, node, busybox, a tool, the CLI bundle). */
export interface RecoveryEnvInputMissingError extends ErrorBase<"RECOVERY_ENV_INPUT_MISSING"> {
  readonly input: "kernel" | "modules" | "node" | "busybox" | "tool" | "cli-bundle";
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

/** Every error {@link buildRecoveryEnvironment} can return. */
export type RecoveryEnvError =
  | RecoveryEnvInputMissingError
  | RecoveryEnvModuleNotFoundError
  | CoreError;

export function inputMissing(
  input: RecoveryEnvInputMissingError["input"],
  path: string,
  installHint?: string,
): RecoveryEnvInputMissingError {
  return {
    code: "RECOVERY_ENV_INPUT_MISSING",
    message: `The recovery environment needs ${input} ${path}, which is not there${installHint ? `; install it with: ${installHint}` : ""}.`,
    input,
    path,
    installHint,
  };
}
