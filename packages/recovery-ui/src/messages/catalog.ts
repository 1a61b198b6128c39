/**
 * Every string the recovery front end shows. A locale is a complete
 * {@link Messages} object, so the compiler refuses a locale with a missing string.
 *
 * @module
 */
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

/** A message catalog: every string of every screen, in one language. */
export interface Messages {
  /** The language's own name, as the language screen lists it. */
  readonly languageName: string;
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
  readonly confirmDigest: (digest: string) => string;
  /** The word a person types to confirm a plan that destroys data. */
  readonly confirmWordErase: string;
  /** The word a person types to confirm a plan that destroys nothing. */
  readonly confirmWordGo: string;
  readonly confirmPrompt: (word: string) => string;
  readonly confirmWrongWord: (word: string) => string;
  readonly progressTitle: (title: string) => string;
  readonly progressStep: (n: number, of: number, title: string) => string;
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
  /** Plain words for error codes a person may meet; others show the SDK's message. */
  readonly errors: Readonly<Record<string, string>>;
}
