/**
 * Where the recovery environment lives on the recovery partition: the one
 * home of these names (the GRUB recovery entry, `lifeboat provision` and the
 * recovery CLI's helper look-up all take them from here).
 */

/** The symbolic link naming the installed environment: `environment -> environments/<id>`. */
export const RECOVERY_ENVIRONMENT_LINK = "environment";

/** The folder holding environments, one folder per content id. */
export const RECOVERY_ENVIRONMENTS_DIR = "environments";

/** The record in an environment's folder: the files' SHA-256 digests and sizes, the kernel version. */
export const RECOVERY_ENVIRONMENT_RECORD = "environment.json";

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

/** The paths GRUB boots on the recovery partition: `/environment/vmlinuz`, `/environment/initrd.img`. */
export const RECOVERY_ENVIRONMENT_BOOT = {
  kernel: `/${RECOVERY_ENVIRONMENT_LINK}/${RECOVERY_ENVIRONMENT_FILES.kernel}`,
  initrd: `/${RECOVERY_ENVIRONMENT_LINK}/${RECOVERY_ENVIRONMENT_FILES.initrd}`,
} as const;
