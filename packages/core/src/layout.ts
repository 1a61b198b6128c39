/**
 * The on-disk layout: facts of Lifeboat's on-disk format that several
 * packages need (the recovery partition's type GUID, the recovery
 * environment's file names, the schedule's paths), declared once here and
 * kept out of the package root.
 *
 * @example
 * ```ts
 * import { RECOVERY_PARTITION_TYPE_GUID } from "@lifeboat/core/layout";
 * const isRecovery = partition.typeGuid.toLowerCase() === RECOVERY_PARTITION_TYPE_GUID;
 * ```
 *
 * @module @lifeboat/core/layout
 */

/**
 * The GPT partition type GUID of a Lifeboat recovery partition (lower case),
 * as DESIGN.md fixes it: the one definition. `@lifeboat/gpt`'s type table
 * (which `@lifeboat/reset`'s disk probe reads), `@lifeboat/grub`'s grub.d
 * script, the recovery environment's init, the CLI and the factory's media
 * all use this one.
 *
 * @example
 * ```ts
 * partition.typeGuid.toLowerCase() === RECOVERY_PARTITION_TYPE_GUID; // a recovery partition
 * ```
 */
export const RECOVERY_PARTITION_TYPE_GUID = "d999c366-3126-4451-b3c1-be31e091158c";

/** The symbolic link naming the installed environment: `environment -> environments/<id>`. */
export const RECOVERY_ENVIRONMENT_LINK = "environment";

/** The files of a recovery environment, by role. */
export const RECOVERY_ENVIRONMENT_FILES = {
  /** The kernel (the target system's own, signed by its distribution). */
  kernel: "vmlinuz",
  /** The zstd-compressed cpio initramfs. */
  initrd: "initrd.img",
  /** The static `lifeboat-exch` helper (atomic subvolume exchange). */
  exchangeHelper: "lifeboat-exch",
  /** The static `lifeboat-btrfs-agent` helper. */
  agentHelper: "lifeboat-btrfs-agent",
} as const;

/**
 * The paths GRUB boots on the recovery partition: `/environment/vmlinuz`, `/environment/initrd.img`
 * (what `lifeboat provision` installs, through the link).
 *
 * @example
 * ```ts
 * renderLifeboatGrubdScript({ recoveryKernel: RECOVERY_ENVIRONMENT_BOOT.kernel });
 * ```
 */
export const RECOVERY_ENVIRONMENT_BOOT = {
  kernel: `/${RECOVERY_ENVIRONMENT_LINK}/${RECOVERY_ENVIRONMENT_FILES.kernel}`,
  initrd: `/${RECOVERY_ENVIRONMENT_LINK}/${RECOVERY_ENVIRONMENT_FILES.initrd}`,
} as const;

/**
 * A reset scheduled to run unattended in the recovery environment at the
 * next boot, on the recovery partition: the request (`{ kind, stamp }`) and
 * the GRUB fragment that Lifeboat's GRUB entries source when it is there
 * (it sets {@link RECOVERY_SCHEDULE}`.digestVariable` to the request's
 * SHA-256 and so adds the entry `entryId` as the default). The recovery
 * environment removes both before it acts, so the schedule runs once.
 *
 * @example
 * ```ts
 * path.join(recoveryRoot, RECOVERY_SCHEDULE.request); // <mount>/schedule/request.json
 * ```
 */
export const RECOVERY_SCHEDULE = {
  /** The directory on the recovery partition. */
  directory: "schedule",
  /** The request, as the recovery environment reads it (`lifeboat.request=/schedule/request.json`). */
  request: "schedule/request.json",
  /** The GRUB fragment whose presence makes the next boot run the request. */
  grubFragment: "schedule/next-boot.cfg",
  /** The GRUB variable the fragment sets to the request's `sha256:` digest. */
  digestVariable: "lifeboat_scheduled_digest",
  /** The GRUB menu entry id of the scheduled, unattended reset. */
  entryId: "lifeboat-scheduled-reset",
} as const;

/**
 * Where Lifeboat looks for the public keys it trusts (`*.pem`, and an OEM
 * `minimum-epoch` file) when none is given (`--trusted-key`): the recovery
 * environment has the OEM's key here, put in by `lifeboat provision`; on an
 * installed system the OEM may ship it here too. `LIFEBOAT_TRUSTED_KEYS_DIR`
 * names another folder.
 *
 * @example
 * ```ts
 * const dir = process.env.LIFEBOAT_TRUSTED_KEYS_DIR ?? TRUSTED_KEYS_DIR;
 * ```
 */
export const TRUSTED_KEYS_DIR = "/etc/lifeboat/trusted-keys";
