import { formatBytes } from "@lifeboat/core";
import type { Messages } from "./catalog.js";
import { sdkPlanWords } from "./plan-words.js";

/** English. */
export const en: Messages = {
  languageName: "English",
  languageWord: "Language",
  title: "Lifeboat recovery",
  keysMenu: "Up/Down: choose   Enter: select",
  keysContinue: "Enter: continue",
  keysBack: "Esc: back",
  languageQuestion: "Choose your language:",
  opening: "Looking at this computer's disk. This can take a minute...",
  passphraseTitle: "The disk is encrypted",
  passphrasePrompt: (device) =>
    `Type the passphrase of the encrypted disk (${device}). Nothing is shown as you type.`,
  passphraseRetry: (attempt, of) =>
    `That passphrase did not open the disk. Try ${attempt} of ${of}.`,
  passphraseKeys: "Enter: unlock   Esc: give up",
  diagnosisTitle: "What we found",
  rootPresent: (subvolume) => `The system is there (Btrfs subvolume "${subvolume}").`,
  rootMissing: "No installed system was found on the disk.",
  factoryIntact: (product, build) => `The factory state is intact (${product} ${build}).`,
  factoryDamaged: "The factory state on the disk is damaged.",
  factoryMissing: "There is no factory state on the disk.",
  recoveryVerified: (product, build) =>
    `The recovery image is complete and signed (${product} ${build}).`,
  recoveryNotVerified: (problem) => `The recovery image could not be checked: ${problem}`,
  recoveryMissing: "There is no recovery image on this computer.",
  encrypted: (device) => `The disk is encrypted (${device}) and unlocked.`,
  freeSpace: (free, total) => `Free space: ${free} of ${total}.`,
  unfinished: (title) => `An earlier reset was interrupted: "${title}". Finish it first.`,
  otherOs: (name, size) => `Another operating system is installed: ${name} (${size}).`,
  snapshots: (count) =>
    count === 1
      ? "There is 1 saved snapshot of the system."
      : `There are ${count} saved snapshots of the system.`,
  keptRoot: (when) =>
    `The system as it was before the reset of ${when} is kept; the reset can be undone.`,
  choicesTitle: "What would you like to do?",
  choices: {
    resume: {
      label: "Finish the interrupted reset",
      keeps: "what the interrupted reset keeps",
      loses: "what the interrupted reset was confirmed to remove",
      time: "about as long as the rest of that reset",
    },
    "reset-keep-home": {
      label: "Reset the system, keep my files",
      keeps: "your files and settings in /home; the old system is kept aside",
      loses: "programs and system changes made since the factory",
      time: "about a minute",
    },
    "reset-from-recovery": {
      label: "Restore from the recovery image, keep my files",
      keeps: "your files and settings in /home",
      loses: "programs and system changes; use this when the factory state is damaged",
      time: "several minutes (the system is unpacked from the image)",
    },
    rescue: {
      label: "Save my files to a USB drive first",
      keeps: "everything: this only copies /home to the drive and checks the copy",
      loses: "nothing",
      time: "depends on how much is in /home and on the drive",
    },
    "reset-user-data": {
      label: "Erase my files only",
      keeps: "the system and its programs",
      loses: "everything in /home: all files and settings of every user",
      time: "about a minute",
    },
    "full-restore": {
      label: "Erase everything and restore the factory state",
      keeps: "only the recovery image",
      loses: "all files, all settings, the system, snapshots, and any other system on this disk",
      time: "several minutes",
    },
    "undo-reset": {
      label: "Undo the last reset (back to the system before it)",
      keeps:
        "your files in /home; the system as it is now is kept aside, so this can be undone too",
      loses:
        "nothing for good: the system of the last reset is set aside, its programs and changes stop being used",
      time: "about a minute",
    },
    shell: {
      label: "Open an expert shell",
      keeps: "everything",
      loses: "nothing by itself",
      time: "-",
    },
    restart: { label: "Restart the computer", keeps: "everything", loses: "nothing", time: "-" },
    "power-off": { label: "Power off", keeps: "everything", loses: "nothing", time: "-" },
  },
  keepsLabel: "Keeps:",
  losesLabel: "Loses:",
  timeLabel: "Takes:",
  estimate: (minutes, size) =>
    minutes <= 1
      ? `about a minute (${size} to copy)`
      : `about ${minutes} minutes (${size} to copy)`,
  unavailable: (reason) => `Not possible now: ${reason}`,
  rescueTitle: "Save my files to a USB drive",
  rescuePrompt: "Folder on the USB drive to copy to:",
  rescueNeeded: (size) => `Space needed: ${size}`,
  rescueAvailable: (size) => `Space available there: ${size}`,
  rescueKeys: "Enter: check the folder / continue   Esc: back",
  confirmTitle: (title) => `Please check: ${title}`,
  confirmSteps: "What will be done:",
  confirmLosses: "What will be removed (read this carefully):",
  confirmNoLoss: "Nothing will be lost.",
  confirmWarnings: "Read this first:",
  warnings: {
    "other-os-kept": (p) =>
      `${p.name} (${partitions(p.partitions)}) is on this disk too; this is not touched.`,
    "other-os-erased": (p) =>
      `${p.name} WILL BE ERASED (${formatBytes(p.bytes)} on ${partitions(p.partitions)}).`,
    "encrypted-volume": (p) =>
      `Partition ${p.partition.number} is encrypted (LUKS${p.luksVersion}, ${p.open ? "unlocked" : "locked"}); the work is done inside it and it stays encrypted.`,
    "rollback-allowed": (p) =>
      `An older recovery image is used on purpose (security level ${p.securityEpoch}, lower than ${p.floorEpoch}); reason given: ${p.reason}.`,
    "factory-damaged": () => "The factory state is damaged; the recovery image is used instead.",
    "home-erased": (p) =>
      `All files of every user in /home will be erased${p.bytes === undefined ? "" : ` (${formatBytes(p.bytes)})`}. Save what you need to a USB drive first.`,
  },
  unknownWarning: (text, code) => (code ? `${text} [${code}]` : text),
  confirmDigest: (digest) => `Plan ${digest.slice(0, 23)}`,
  confirmWordErase: "ERASE",
  confirmWordGo: "YES",
  confirmPrompt: (word) => `Type ${word} and press Enter to start, or Esc to go back:`,
  confirmWrongWord: (word) => `That is not ${word}. Nothing was done.`,
  confirmReadFirst:
    "Read to the end first: press PgDn or Down until nothing more is below. Nothing was done.",
  moreBelow: "more below",
  moreAbove: "more above",
  keysScroll: "PgUp/PgDn, Up/Down: scroll",
  keysScrollPages: "PgUp/PgDn: scroll",
  bytes: (n) => formatBytes(n),
  progressTitle: (title) => `Working: ${title}`,
  progressStep: (n, of, title) => `Step ${n} of ${of}: ${title}`,
  progressBytes: (done, total) => `${done} of ${total}`,
  progressEta: (minutes) =>
    minutes <= 1
      ? "About a minute left for this step."
      : `About ${minutes} minutes left for this step.`,
  progressSafe: "It is still safe to stop: nothing that matters has been changed yet.",
  progressUnsafe: "Do not turn the computer off now.",
  doneTitle: "Done",
  doneText: "Everything went well. Restart the computer to use it.",
  doneRescue: (directory) => `Your files were copied to ${directory} and the copy was checked.`,
  failedTitle: "It did not work",
  failedSafe:
    "What was done so far is recorded. You can try again now, or finish it later from this screen.",
  errorTitle: "Something is wrong",
  errorDetail: "Details:",
  actionRestart: "Restart now",
  actionRetry: "Try again",
  actionLater: "Finish later (power off)",
  actionMenu: "Back to the choices",
  plan: sdkPlanWords,
  errors: {
    LOCK_HELD: {
      what: "Another program is working on this disk right now.",
      safe: "nothing-changed",
      next: "wait",
    },
    RESET_DISK_IN_USE: {
      what: "The disk is in use by something else.",
      safe: "nothing-changed",
      next: "wait",
    },
    RESET_NOT_A_DISK: {
      what: "The disk that was given is not a disk.",
      safe: "nothing-changed",
      next: "support",
    },
    RESET_ENCRYPTED_LOCKED: {
      what: "The disk is encrypted and stays locked without its passphrase.",
      safe: "nothing-changed",
      next: "passphrase",
    },
    RESET_LUKS_WRONG_KEY: {
      what: "The passphrase did not open the encrypted disk.",
      safe: "nothing-changed",
      next: "passphrase",
    },
    RESET_UNSUPPORTED_LAYOUT: {
      what: "This disk is not laid out the way Lifeboat expects.",
      safe: "nothing-changed",
      next: "support",
    },
    RESET_NO_FACTORY_SNAPSHOT: {
      what: "The factory state is missing or damaged.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    RESET_INSUFFICIENT_SPACE: {
      what: "There is not enough free space for this.",
      safe: "nothing-changed",
      next: "free-space",
    },
    RESET_IMAGE_NOT_VERIFIED: {
      what: "The recovery image could not be checked, so it is not used.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    RESET_IMAGE_ROLLBACK: {
      what: "The recovery image is older than the system allows (an older image may have known security holes).",
      safe: "nothing-changed",
      next: "support",
    },
    RESET_IMAGE_CHANGED: {
      what: "The recovery image changed since the plan was made.",
      safe: "recorded",
      next: "new-plan",
    },
    RESET_TARGET_BUSY: {
      what: "Parts of the system are still in use.",
      safe: "nothing-changed",
      next: "wait",
    },
    RESET_WRONG_TARGET: {
      what: "The plan was made for a different disk.",
      safe: "nothing-changed",
      next: "new-plan",
    },
    RESET_UNEXPECTED_STATE: {
      what: "The disk is not in the state the plan expects.",
      safe: "recorded",
      next: "new-plan",
    },
    RESET_VERIFY_FAILED: {
      what: "A check after a step failed: the result was not what it should be.",
      safe: "recorded",
      next: "retry",
    },
    RESET_BAD_REQUEST: {
      what: "This choice cannot be made the way it was asked.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    RESET_NO_CHECKPOINT: {
      what: "The saved state this needs is not there.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    RESET_CANNOT_ABANDON: {
      what: "The interrupted reset has gone too far to be dropped; it must be finished.",
      safe: "recorded",
      next: "resume",
    },
    RESET_PLAN_TEXT_MISMATCH: {
      what: "The plan's words do not match what it would do, so it is not run.",
      safe: "nothing-changed",
      next: "new-plan",
    },
    PLAN_TAMPERED: {
      what: "The plan was changed after it was made, so it is not run.",
      safe: "nothing-changed",
      next: "new-plan",
    },
    CONFIRMATION_MISMATCH: {
      what: "What was confirmed is not the plan that was about to run.",
      safe: "nothing-changed",
      next: "new-plan",
    },
    PRECONDITION_FAILED: {
      what: "A step found the disk not ready for it.",
      safe: "recorded",
      next: "retry",
    },
    STEP_FAILED: { what: "A step of the reset failed.", safe: "recorded", next: "retry" },
    JOURNAL_NOT_FOUND: {
      what: "There is no record of an interrupted reset to finish.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    JOURNAL_CORRUPT: {
      what: "The record of the interrupted reset cannot be read.",
      safe: "recorded",
      next: "support",
    },
    JOURNAL_PLAN_MISMATCH: {
      what: "The record of the interrupted reset belongs to a different plan.",
      safe: "recorded",
      next: "support",
    },
    IMAGE_HASH_MISMATCH: {
      what: "The recovery image is damaged: its contents do not match its signature.",
      safe: "recorded",
      next: "other-choice",
    },
    IMAGE_BAD_SIGNATURE: {
      what: "The recovery image's signature is not valid.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    IMAGE_UNTRUSTED_KEY: {
      what: "The recovery image is signed by a key this computer does not trust.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    IMAGE_FILE_MISSING: {
      what: "A file of the recovery image is missing.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    IMAGE_MANIFEST_INVALID: {
      what: "The recovery image's list of contents cannot be read.",
      safe: "nothing-changed",
      next: "other-choice",
    },
    BTRFS_RECEIVE_FAILED: {
      what: "Unpacking the system from the recovery image failed.",
      safe: "recorded",
      next: "retry",
    },
    IO_FAILED: {
      what: "A file could not be read or written.",
      safe: "recorded",
      next: "retry",
    },
    PERMISSION_DENIED: {
      what: "Lifeboat was not allowed to do this.",
      safe: "nothing-changed",
      next: "support",
    },
    UNSAFE_PATH: {
      what: "That folder cannot be used (it leads outside where it should).",
      safe: "nothing-changed",
      next: "other-folder",
    },
    COMMAND_FAILED: { what: "A system program failed.", safe: "recorded", next: "retry" },
    COMMAND_NOT_FOUND: {
      what: "A system program this needs is missing.",
      safe: "nothing-changed",
      next: "support",
    },
    COMMAND_TIMED_OUT: {
      what: "A system program took too long and was stopped.",
      safe: "recorded",
      next: "retry",
    },
    ABORTED: { what: "It was stopped.", safe: "recorded", next: "resume" },
  },
  errorSafe: {
    "nothing-changed": "Nothing on the disk was changed.",
    recorded:
      "What was done so far is recorded on the disk, and the computer still starts (the old system or the new one).",
    "copy-only": "Only the copy on the USB drive is unfinished; the disk is as it was.",
  },
  errorNext: {
    retry: "Try again. If it fails again, finish later or ask for help.",
    resume: 'Finish it: choose "Finish the interrupted reset" (now or after a restart).',
    passphrase: "Restart and type the passphrase again.",
    wait: "Wait until the other work is done, then try again.",
    "free-space": "Free some space (or save your files to a USB drive first), then try again.",
    "other-choice": "Go back and pick another choice.",
    "new-plan": "Go back to the choices: a new plan is made from the disk as it is now.",
    "other-folder": "Type another folder on the USB drive.",
    support: "Open the expert shell or ask for help; the details below say what happened.",
  },
  unexpectedError: (code, message) => `Unexpected error ${code}: ${message}`,
  errorSafeLabel: "Safe:",
  errorNextLabel: "Next:",
};

/** `partition 3` or `partitions 3, 2, 4`. */
function partitions(numbers: readonly number[]): string {
  return `${numbers.length === 1 ? "partition" : "partitions"} ${numbers.join(", ")}`;
}
