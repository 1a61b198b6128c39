/**
 * Every string the recovery front end shows. A locale is a complete
 * {@link Messages} object, so the compiler refuses a locale with a missing string.
 *
 * @module
 */
import type { PlanWarningKind, PlanWarningParams } from "@lifeboat/reset";
import type { PlanWords } from "./plan-words.js";

/** The choices the front end offers, in the order it shows them. */
export type ChoiceId =
  | "resume"
  | "reset-keep-home"
  | "reset-from-recovery"
  | "rescue"
  | "reset-user-data"
  | "full-restore"
  | "undo-reset"
  | "shell"
  | "restart"
  | "power-off";

/** What a choice keeps, what it loses, how long it takes, in words. */
export interface ChoiceText {
  readonly label: string;
  readonly keeps: string;
  readonly loses: string;
  readonly time: string;
}

/** A plan warning in words, from its code's parameters (`planWarningViews` of `@lifeboat/reset`). */
export type WarningWords = {
  readonly [K in PlanWarningKind]: (params: PlanWarningParams<K>) => string;
};

/**
 * The error codes the front end can meet and explains in plain words, each
 * with what is still safe and what to do next: opening the disk (lock,
 * LUKS), planning, the rescue target, running and resuming a plan, the
 * recovery image. Any other code is shown as {@link Messages.unexpectedError}.
 *
 * @example
 * ```ts
 * const known = (EXPLAINED_ERROR_CODES as readonly string[]).includes(error.code);
 * const what = known ? LOCALES.de.errors[error.code as ExplainedErrorCode].what
 *                    : LOCALES.de.unexpectedError(error.code, error.message);
 * ```
 */
export const EXPLAINED_ERROR_CODES = [
  "LOCK_HELD",
  "RESET_DISK_IN_USE",
  "RESET_NOT_A_DISK",
  "RESET_ENCRYPTED_LOCKED",
  "RESET_LUKS_WRONG_KEY",
  "RESET_UNSUPPORTED_LAYOUT",
  "RESET_NO_FACTORY_SNAPSHOT",
  "RESET_INSUFFICIENT_SPACE",
  "RESET_IMAGE_NOT_VERIFIED",
  "RESET_IMAGE_ROLLBACK",
  "RESET_IMAGE_CHANGED",
  "RESET_TARGET_BUSY",
  "RESET_WRONG_TARGET",
  "RESET_UNEXPECTED_STATE",
  "RESET_VERIFY_FAILED",
  "RESET_BAD_REQUEST",
  "RESET_NO_CHECKPOINT",
  "RESET_CANNOT_ABANDON",
  "RESET_PLAN_TEXT_MISMATCH",
  "PLAN_TAMPERED",
  "CONFIRMATION_MISMATCH",
  "PRECONDITION_FAILED",
  "STEP_FAILED",
  "JOURNAL_NOT_FOUND",
  "JOURNAL_CORRUPT",
  "JOURNAL_PLAN_MISMATCH",
  "IMAGE_HASH_MISMATCH",
  "IMAGE_BAD_SIGNATURE",
  "IMAGE_UNTRUSTED_KEY",
  "IMAGE_FILE_MISSING",
  "IMAGE_MANIFEST_INVALID",
  "BTRFS_RECEIVE_FAILED",
  "IO_FAILED",
  "PERMISSION_DENIED",
  "UNSAFE_PATH",
  "COMMAND_FAILED",
  "COMMAND_NOT_FOUND",
  "COMMAND_TIMED_OUT",
  "ABORTED",
] as const;

/** A code of {@link EXPLAINED_ERROR_CODES}. */
export type ExplainedErrorCode = (typeof EXPLAINED_ERROR_CODES)[number];

/** What is still safe after an error, in one of a few plain statements. */
export type ErrorSafety =
  /** Nothing on the disk was changed. */
  | "nothing-changed"
  /** Steps ran; the journal records them, the machine boots the old or the new system. */
  | "recorded"
  /** Only the copy on the USB drive is incomplete; the disk is as it was. */
  | "copy-only";

/** What a person can do next, in one of a few plain statements. */
export type ErrorNext =
  | "retry"
  | "resume"
  | "passphrase"
  | "wait"
  | "free-space"
  | "other-choice"
  | "new-plan"
  | "other-folder"
  | "support";

/** An error code in words: what happened, what is still safe, what to do next. */
export interface ErrorText {
  readonly what: string;
  readonly safe: ErrorSafety;
  readonly next: ErrorNext;
}

/** A message catalog: every string of every screen, in one language. */
export interface Messages {
  /** The language's own name, as the language screen lists it. */
  readonly languageName: string;
  /** The word "language" in this language (the language screen's title joins them all). */
  readonly languageWord: string;
  readonly title: string;
  readonly keysMenu: string;
  readonly keysContinue: string;
  readonly keysBack: string;
  readonly languageQuestion: string;
  readonly opening: string;
  readonly passphraseTitle: string;
  readonly passphrasePrompt: (device: string) => string;
  readonly passphraseRetry: (attempt: number, of: number) => string;
  readonly passphraseKeys: string;
  readonly diagnosisTitle: string;
  readonly rootPresent: (subvolume: string) => string;
  readonly rootMissing: string;
  readonly factoryIntact: (product: string, build: string) => string;
  readonly factoryDamaged: string;
  readonly factoryMissing: string;
  readonly recoveryVerified: (product: string, build: string) => string;
  readonly recoveryNotVerified: (problem: string) => string;
  readonly recoveryMissing: string;
  readonly encrypted: (device: string) => string;
  readonly freeSpace: (free: string, total: string) => string;
  readonly unfinished: (title: string) => string;
  readonly otherOs: (name: string, size: string) => string;
  readonly snapshots: (count: number) => string;
  /** The system from before a reset is kept (`when`: the reset's time) and can be brought back. */
  readonly keptRoot: (when: string) => string;
  readonly choicesTitle: string;
  readonly choices: Readonly<Record<ChoiceId, ChoiceText>>;
  readonly keepsLabel: string;
  readonly losesLabel: string;
  readonly timeLabel: string;
  /** A duration estimated from a size (`size` formatted, e.g. "2.1 GiB"). */
  readonly estimate: (minutes: number, size: string) => string;
  readonly unavailable: (reason: string) => string;
  readonly rescueTitle: string;
  readonly rescuePrompt: string;
  readonly rescueNeeded: (size: string) => string;
  readonly rescueAvailable: (size: string) => string;
  readonly rescueKeys: string;
  readonly confirmTitle: (title: string) => string;
  readonly confirmSteps: string;
  readonly confirmLosses: string;
  readonly confirmNoLoss: string;
  readonly confirmWarnings: string;
  /** The plan's warnings, by code. */
  readonly warnings: WarningWords;
  /** A warning this catalog has no words for: the plan's (English) text and its code, if any. */
  readonly unknownWarning: (text: string, code: string | undefined) => string;
  readonly confirmDigest: (digest: string) => string;
  /** The word a person types to confirm a plan that destroys data. */
  readonly confirmWordErase: string;
  /** The word a person types to confirm a plan that destroys nothing. */
  readonly confirmWordGo: string;
  readonly confirmPrompt: (word: string) => string;
  readonly confirmWrongWord: (word: string) => string;
  /** The word was typed before the end of the list was shown: nothing was done. */
  readonly confirmReadFirst: string;
  /** Marks a screen whose text goes on below what is shown (an arrow follows it). */
  readonly moreBelow: string;
  /** Marks a screen whose text begins above what is shown (an arrow follows it). */
  readonly moreAbove: string;
  /** The keys of a screen that scrolls. */
  readonly keysScroll: string;
  /** The keys of a screen that scrolls by pages only (its Up/Down move a menu). */
  readonly keysScrollPages: string;
  readonly progressTitle: (title: string) => string;
  readonly progressStep: (n: number, of: number, title: string) => string;
  /** A byte count in this language's number format ("1.5 GiB", "1,5 GiB"). */
  readonly bytes: (bytes: number | bigint) => string;
  readonly progressBytes: (done: string, total: string) => string;
  /** Minutes left in a long step (0 or 1: about a minute). */
  readonly progressEta: (minutes: number) => string;
  readonly progressSafe: string;
  readonly progressUnsafe: string;
  readonly doneTitle: string;
  readonly doneText: string;
  readonly doneRescue: (directory: string) => string;
  readonly failedTitle: string;
  readonly failedSafe: string;
  readonly errorTitle: string;
  readonly errorDetail: string;
  readonly actionRestart: string;
  readonly actionRetry: string;
  readonly actionLater: string;
  readonly actionMenu: string;
  /**
   * A reset plan's title, steps and data loss in this language, from the
   * steps' parameters (English: the SDK's own words, `sdkPlanWords`).
   */
  readonly plan: PlanWords;
  /** Plain words for the error codes a person may meet, with what is safe and what to do next. */
  readonly errors: Readonly<Record<ExplainedErrorCode, ErrorText>>;
  /** What is still safe, by {@link ErrorSafety}. */
  readonly errorSafe: Readonly<Record<ErrorSafety, string>>;
  /** What to do next, by {@link ErrorNext}. */
  readonly errorNext: Readonly<Record<ErrorNext, string>>;
  /** Any other error: its code and the SDK's (English) message. */
  readonly unexpectedError: (code: string, message: string) => string;
  /** Label of the line that says what is still safe. */
  readonly errorSafeLabel: string;
  /** Label of the line that says what to do next. */
  readonly errorNextLabel: string;
}
