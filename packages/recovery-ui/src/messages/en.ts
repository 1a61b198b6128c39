import type { Messages } from "./catalog.js";
import { sdkPlanWords } from "./plan-words.js";

/** English. */
export const en: Messages = {
  languageName: "English",
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
  confirmDigest: (digest) => `Plan ${digest.slice(0, 23)}`,
  confirmWordErase: "ERASE",
  confirmWordGo: "YES",
  confirmPrompt: (word) => `Type ${word} and press Enter to start, or Esc to go back:`,
  confirmWrongWord: (word) => `That is not ${word}. Nothing was done.`,
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
    LOCK_HELD: "Another program is working on this disk right now. Wait for it, then try again.",
    RESET_DISK_IN_USE: "The disk is in use by something else. Nothing was changed.",
    RESET_NOT_A_DISK: "The disk that was given is not a disk.",
    RESET_ENCRYPTED_LOCKED:
      "The disk is encrypted and stays locked without its passphrase. Nothing was changed.",
    RESET_LUKS_WRONG_KEY: "The passphrase did not open the encrypted disk. Nothing was changed.",
    RESET_NO_FACTORY_SNAPSHOT: "The factory state is missing or damaged.",
    RESET_INSUFFICIENT_SPACE: "There is not enough free space for this.",
    RESET_IMAGE_NOT_VERIFIED: "The recovery image could not be checked, so it is not used.",
    RESET_TARGET_BUSY: "Parts of the system are still in use.",
    RESET_UNSUPPORTED_LAYOUT: "This disk is not laid out the way Lifeboat expects.",
    RESET_IMAGE_CHANGED: "The recovery image changed since the plan was made. Start again.",
    RESET_VERIFY_FAILED: "A check after a step failed: the result was not what it should be.",
    STEP_FAILED: "A step of the reset failed.",
    IO_FAILED: "A file could not be read or written.",
    COMMAND_FAILED: "A system program failed.",
    ABORTED: "It was stopped.",
  },
};
