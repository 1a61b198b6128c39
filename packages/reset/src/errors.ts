import type { BtrfsError } from "@lifeboat/btrfs";
import type {
  CoreError,
  ErrorBase,
  ExecutorError,
  PlanEncodingError,
  UnknownStepError,
} from "@lifeboat/core";
import type { GptError } from "@lifeboat/gpt";
import type { GrubError } from "@lifeboat/grub";
import type { ImageError } from "@lifeboat/image";
import type { RecoveryEnvError } from "@lifeboat/recovery-env";

/** The factory snapshot the plan needs is not there (or not what the manifest says). */
export interface NoFactorySnapshotError extends ErrorBase<"RESET_NO_FACTORY_SNAPSHOT"> {
  /** Where the snapshot was looked for, from the Btrfs top level. */
  readonly expectedPath: string;
  /** `"missing"` or `"damaged"` (UUID or read-only flag differs from the manifest). */
  readonly reason: "missing" | "damaged";
}

/** There is not enough free space for the plan. */
export interface InsufficientSpaceError extends ErrorBase<"RESET_INSUFFICIENT_SPACE"> {
  /** Which filesystem: `"btrfs"`, `"boot"` or `"rescue-target"`. */
  readonly where: string;
  readonly neededBytes: number;
  readonly availableBytes: number;
}

/** The recovery image set is missing or was not verified in this session. */
export interface ImageNotVerifiedError extends ErrorBase<"RESET_IMAGE_NOT_VERIFIED"> {
  readonly reason: string;
}

/**
 * The verified recovery image set is older (lower signed security epoch) than
 * the floor: the recovery partition's record of the highest epoch installed,
 * or the OEM minimum. Override with `allowRollback` on the request.
 */
export interface ImageRollbackPlanError extends ErrorBase<"RESET_IMAGE_ROLLBACK"> {
  /** The set's security epoch. */
  readonly securityEpoch: number;
  readonly floorEpoch: number;
}

/** Something the plan would change is in use (mounted, open files). */
export interface TargetBusyError extends ErrorBase<"RESET_TARGET_BUSY"> {
  readonly paths: readonly string[];
}

/** The machine does not have what the request needs (no Btrfs, no /boot, no home, …). */
export interface UnsupportedLayoutError extends ErrorBase<"RESET_UNSUPPORTED_LAYOUT"> {
  readonly missing: string;
}

/** The Btrfs filesystem is inside a LUKS container that is not open. */
export interface EncryptedLockedError extends ErrorBase<"RESET_ENCRYPTED_LOCKED"> {
  readonly device: string;
}

/** A key given for a LUKS container opens none of its key slots (nothing was changed). */
export interface LuksWrongKeyError extends ErrorBase<"RESET_LUKS_WRONG_KEY"> {
  /** The container's partition device. */
  readonly device: string;
}

/** The request itself is malformed (bad time stamp, empty path list, unsafe path). */
export interface BadRequestError extends ErrorBase<"RESET_BAD_REQUEST"> {
  readonly field: string;
}

/** A step found the disk in a state that is neither "before" nor "after" it. */
export interface UnexpectedStateError extends ErrorBase<"RESET_UNEXPECTED_STATE"> {
  readonly stepKind: string;
  readonly detail: string;
}

/** The factory manifest is missing or does not parse. */
export interface ManifestInvalidError extends ErrorBase<"RESET_MANIFEST_INVALID"> {
  readonly path: string;
  readonly issues: readonly string[];
}

/** A copy did not read back identical (rescue, boot payload). */
export interface VerifyFailedError extends ErrorBase<"RESET_VERIFY_FAILED"> {
  readonly path: string;
  readonly expected: string;
  readonly actual: string;
}

/** A test-only fault hook stopped the run at a step boundary. */
export interface FaultInjectedError extends ErrorBase<"RESET_FAULT_INJECTED"> {
  readonly stepId: string;
  readonly at: "before" | "after";
}

/** A checkpoint name that is not a plain, safe name (empty, too long, `..`, `/`, `factory`, …). */
export interface BadCheckpointNameError extends ErrorBase<"RESET_BAD_CHECKPOINT_NAME"> {
  readonly name: string;
  /** The rule it broke, in words. */
  readonly rule: string;
}

/** A complete checkpoint with this id exists already (ids are never reused). */
export interface CheckpointExistsError extends ErrorBase<"RESET_CHECKPOINT_EXISTS"> {
  readonly id: string;
  readonly createdAt: string;
}

/** The checkpoint asked for is not there, or no longer matches its manifest. */
export interface NoCheckpointError extends ErrorBase<"RESET_NO_CHECKPOINT"> {
  readonly id: string;
  readonly reason: "missing" | "damaged";
}

/** Retention was asked to delete a checkpoint it must keep. */
export interface CheckpointProtectedError extends ErrorBase<"RESET_CHECKPOINT_PROTECTED"> {
  readonly id: string;
  /** `"factory"`, `"running-root"` (the running root came from it) or `"unfinished-plan"`. */
  readonly reason: "factory" | "running-root" | "unfinished-plan";
}

/**
 * The disk is in use by something other than Lifeboat: attached as a loop
 * device, mounted, or held by another program. Nothing was attached or changed.
 */
export interface DiskInUseError extends ErrorBase<"RESET_DISK_IN_USE"> {
  readonly disk: string;
  /** What uses it, in words (`"/dev/loop3 (whole disk)"`, `"/dev/nvme0n1p3 mounted at /mnt"`). */
  readonly users: readonly string[];
}

/** A plan made for another machine's Btrfs was given to this one; nothing was written. */
export interface WrongTargetError extends ErrorBase<"RESET_WRONG_TARGET"> {
  /** The filesystem UUID the plan was made for. */
  readonly planned: string;
}

/** A run cannot be abandoned: it is past the point where the old system can come back. */
export interface CannotAbandonError extends ErrorBase<"RESET_CANNOT_ABANDON"> {
  /** The step that made the change for good. */
  readonly stepId: string;
}

/** What was given as a disk is neither a disk image file nor a whole-disk block device. */
export interface NotADiskError extends ErrorBase<"RESET_NOT_A_DISK"> {
  readonly disk: string;
}

/** A step's parameters do not fit its kind's schema (a hand-edited or foreign plan). */
export interface BadStepParamsError extends ErrorBase<"RESET_BAD_STEP_PARAMS"> {
  readonly stepId: string;
  readonly kind: string;
  /** The schema's complaints, `path: message` each. */
  readonly issues: readonly string[];
}

/**
 * What a plan says about a step (title, data loss, reversibility,
 * preconditions) is not what the step's parameters give: the plan was
 * edited (and perhaps re-sealed) so that its words no longer tell what it does.
 */
export interface PlanTextMismatchError extends ErrorBase<"RESET_PLAN_TEXT_MISMATCH"> {
  readonly stepId: string;
  readonly kind: string;
  /** The fields that differ: `"title"`, `"destroys"`, `"reversible"`, `"preconditions"`. */
  readonly fields: readonly string[];
  /** The title the parameters give. */
  readonly expectedTitle: string;
  /** The title the plan shows. */
  readonly planTitle: string;
}

/** The recovery image set at hand is not the one the plan was made for. */
export interface ImageChangedError extends ErrorBase<"RESET_IMAGE_CHANGED"> {
  /** The set the plan names (`sha256:` of its signed manifest). */
  readonly expected: string;
  /** The set at hand. */
  readonly actual: string;
}

/** Why `checkPlanText` refused a plan. */
export type PlanTextError = BadStepParamsError | PlanTextMismatchError | UnknownStepError;

/** Why `plan()` refused a request. */
export type ResetPlanError =
  | NoFactorySnapshotError
  | InsufficientSpaceError
  | ImageNotVerifiedError
  | ImageRollbackPlanError
  | TargetBusyError
  | UnsupportedLayoutError
  | EncryptedLockedError
  | BadRequestError
  | NoCheckpointError
  | CheckpointProtectedError
  | PlanEncodingError;

/**
 * Every error of `@lifeboat/reset`: its own errors and the closed unions of
 * the packages it calls (core, btrfs, gpt, grub, image, recovery-env). The
 * union is closed, so a `switch` on `code` can be exhaustive and a misspelt
 * code does not compile.
 *
 * @example
 * ```ts
 * import type { ResetError } from "@lifeboat/reset";
 *
 * function advice(e: ResetError): string {
 *   switch (e.code) {
 *     case "RESET_INSUFFICIENT_SPACE":
 *       return `free ${e.neededBytes - e.availableBytes} bytes on ${e.where}`;
 *     case "PERMISSION_DENIED":
 *       return "run as root";
 *     default:
 *       return e.message;
 *   }
 * }
 * ```
 */
export type ResetError =
  | ResetPlanError
  | UnexpectedStateError
  | ManifestInvalidError
  | VerifyFailedError
  | FaultInjectedError
  | BadCheckpointNameError
  | CheckpointExistsError
  | LuksWrongKeyError
  | BadStepParamsError
  | PlanTextMismatchError
  | ImageChangedError
  | DiskInUseError
  | NotADiskError
  | WrongTargetError
  | CannotAbandonError
  | CoreError
  | BtrfsError
  | GptError
  | GrubError
  | ImageError
  | RecoveryEnvError;

/**
 * Why `executeReset` or `resumeReset` stopped: the executor's errors, where a
 * failed step (`STEP_FAILED`) carries the step's own {@link ResetError} as
 * `cause` (or `HANDLER_THREW`, a bug), so a `switch` on `cause.code` can be
 * exhaustive too.
 *
 * @example
 * ```ts
 * import type { ResetExecutionError } from "@lifeboat/reset";
 *
 * function why(e: ResetExecutionError): string {
 *   if (e.code !== "STEP_FAILED") return e.message;
 *   const cause = e.cause;
 *   return cause.code === "RESET_INSUFFICIENT_SPACE"
 *     ? `step ${e.stepId}: ${cause.neededBytes - cause.availableBytes} bytes short`
 *     : `step ${e.stepId}: ${cause.code}`;
 * }
 * ```
 */
export type ResetExecutionError = ExecutorError<ResetError>;
