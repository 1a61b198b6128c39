/**
 * Where Lifeboat keeps its things on the Btrfs top level (subvolid=5): the
 * factory snapshot, the journal, the subvolume names a reset creates. All
 * paths are relative to the top level. Kept out of the package root: a front
 * end plans and inspects through `@lifeboat/reset`; a test or a tool that
 * looks at the disk itself imports these.
 *
 * @example
 * ```ts
 * import { FACTORY_ROOT, JOURNAL_FILE } from "@lifeboat/reset/layout";
 * const hasFactory = existsSync(path.join(top, FACTORY_ROOT));
 * const journal = path.join(top, JOURNAL_FILE);
 * ```
 *
 * @module @lifeboat/reset/layout
 */

/** The directory of Lifeboat's state on the Btrfs top level. */
export const LIFEBOAT_DIR = ".lifeboat";
/** The read-only factory snapshot of `root`. */
export const FACTORY_ROOT = ".lifeboat/factory/root";
/** The read-only subvolume holding the factory /boot payload (kernel, initramfs, BLS entries). */
export const FACTORY_BOOT = ".lifeboat/factory/boot";
/** The factory manifest (JSON). */
export const FACTORY_MANIFEST = ".lifeboat/factory/manifest.json";
/** The reset journal, on the target filesystem so a reboot into recovery can resume. */
export const JOURNAL_FILE = ".lifeboat/journal.json";
/** The executor lock. */
export const LOCK_FILE = ".lifeboat/lock";
/** The marker written into a new root: tells a re-run which subvolume is the new one. */
export const RESET_MARKER = "var/lib/lifeboat/reset.json";
/** The root subvolume's name (Fedora's). */
export const ROOT_SUBVOLUME = "root";
/** The home subvolume's name (Fedora's). */
export const HOME_SUBVOLUME = "home";

/** Where a scheduled request is kept, relative to the Btrfs top level. */
export const SCHEDULED_REQUEST = `${LIFEBOAT_DIR}/scheduled-reset.json`;
/** The GRUB menu entry id of the reset entry (BLS id and `menuentry --id`). */
export const RESET_ENTRY_ID = "lifeboat-factory-reset";
/**
 * The grubenv variable that keeps the system's own `saved_entry` while a
 * scheduled reset holds `saved_entry` (from `reset schedule` until
 * `run-scheduled` starts), so that it can be put back.
 */
export const SAVED_ENTRY_KEPT = "lifeboat_saved_entry";
/**
 * The targets the unit is enabled for: `sysinit.target`, because systemd
 * before v258 has nothing that starts `factory-reset.target` from
 * `systemd.factory_reset=1` (the unit's condition then decides);
 * `factory-reset-now.target`, which v258's `systemd-factory-reset-generator`
 * starts on such a boot; and `factory-reset.target` (the earlier name).
 */
export const RESET_UNIT_WANTED_BY = [
  "sysinit.target",
  "factory-reset.target",
  "factory-reset-now.target",
] as const;

/** The files of a Lifeboat recovery image set. */
export const RECOVERY_FILES = {
  root: "root.squashfs",
  boot: "boot.squashfs",
  factory: "factory.json",
} as const;

/** Metadata headroom a snapshot-based reset (or an unpack) needs on the Btrfs. */
export const SNAPSHOT_HEADROOM_BYTES = 256 * 1024 ** 2;

/** The name of the new root while it is prepared. */
export const newRootName = (stamp: string): string => `root.new-${stamp}`;
/** The name the replaced root is kept under until `cleanup`. */
export const oldRootName = (stamp: string): string => `root.old-${stamp}`;
/** The name of a root being unpacked from the recovery image (not yet complete). */
export const partialRootName = (stamp: string): string => `root.partial-${stamp}`;
/** The name of the fresh, empty home while it is prepared. */
export const newHomeName = (stamp: string): string => `home.new-${stamp}`;
/** The name of the replaced home until it is deleted. */
export const oldHomeName = (stamp: string): string => `home.old-${stamp}`;
/** The read-only snapshot of home a rescue copies from. */
export const rescueSnapshotName = (stamp: string): string => `${LIFEBOAT_DIR}/rescue-${stamp}`;
/** The directory in /boot where the factory payload is staged before it is moved into place. */
export const bootStagingDir = (stamp: string): string => `.lifeboat-staged-${stamp}`;

/**
 * Where a reset keeps the /boot payload the old root booted with (a
 * subvolume holding the files and `manifest.json`), beside `root.old-<stamp>`,
 * so "undo the last reset" can bring both back.
 */
export const keptBootName = (stamp: string): string => `${LIFEBOAT_DIR}/boot.old-${stamp}`;
/** The list of files in a kept /boot payload (relative to {@link keptBootName}). */
export const KEPT_BOOT_MANIFEST = "manifest.json";

/** Where the recovered /boot payload is unpacked before it is staged. */
export const recoveredBootDir = (stamp: string): string => `${LIFEBOAT_DIR}/boot-${stamp}`;

/** The subvolumes a plan with this time stamp may create: none may exist before it is planned. */
export function stampedSubvolumes(stamp: string): string[] {
  return [
    newRootName(stamp),
    oldRootName(stamp),
    partialRootName(stamp),
    newHomeName(stamp),
    oldHomeName(stamp),
    rescueSnapshotName(stamp),
    recoveredBootDir(stamp),
    keptBootName(stamp),
  ];
}

/** True for a time stamp the planner accepts (`20261125T200000Z`). */
export function isValidStamp(stamp: string): boolean {
  return /^[0-9]{8}T[0-9]{6}Z$/.test(stamp);
}

/** A stamp from a date: `2026-11-25T20:00:00.123Z` gives `20261125T200000Z`. */
export function stampOf(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
}
