import type { BtrfsError } from "@lifeboat/btrfs";
import type {
  AbortedError,
  CommandError,
  ConfirmationMismatchError,
  ConfirmationRequiredError,
  ErrorBase,
  InvalidArgumentError,
  IoFailedError,
  ParseFailedError,
  PlanEncodingError,
  PlanTamperedError,
  UnsafePathError,
} from "@lifeboat/core";
import type { GptError } from "@lifeboat/gpt";
import type { GrubError } from "@lifeboat/grub";
import type { ImageError } from "@lifeboat/image";

/** The target cannot hold the image. */
export interface FactoryTargetTooSmallError extends ErrorBase<"FACTORY_TARGET_TOO_SMALL"> {
  readonly target: string;
  readonly targetBytes: number;
  readonly imageBytes: number;
}

/** What was read back from the target is not what was written. */
export interface FactoryVerifyFailedError extends ErrorBase<"FACTORY_VERIFY_FAILED"> {
  readonly target: string;
  readonly expectedSha256: string;
  readonly actualSha256: string;
}

/** The copied disk does not have the layout a deployment needs (GPT, ESP, /boot, Btrfs). */
export interface FactoryUnsupportedLayoutError extends ErrorBase<"FACTORY_UNSUPPORTED_LAYOUT"> {
  readonly reason: string;
}

/** The media target is not what it was when the plan was made (other size, other partitions). */
export interface FactoryTargetChangedError extends ErrorBase<"FACTORY_TARGET_CHANGED"> {
  readonly target: string;
}

/** Errors of `@lifeboat/factory`. */
export type FactoryError =
  | FactoryTargetTooSmallError
  | FactoryVerifyFailedError
  | FactoryUnsupportedLayoutError
  | FactoryTargetChangedError
  | ConfirmationRequiredError
  | ConfirmationMismatchError
  | PlanTamperedError
  | PlanEncodingError
  | InvalidArgumentError
  | GptError
  | GrubError
  | ImageError
  | BtrfsError
  | CommandError
  | IoFailedError
  | ParseFailedError
  | UnsafePathError
  | AbortedError;
