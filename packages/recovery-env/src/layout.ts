/**
 * Where the recovery environment lives on the recovery partition: the one
 * home of these names (the GRUB recovery entry, `lifeboat provision` and the
 * recovery CLI's helper look-up all take them from here). The names GRUB
 * boots are in `@lifeboat/core`, which `@lifeboat/grub` also reads.
 */

export {
  RECOVERY_ENVIRONMENT_BOOT,
  RECOVERY_ENVIRONMENT_FILES,
  RECOVERY_ENVIRONMENT_LINK,
} from "@lifeboat/core/layout";

/** The folder holding environments, one folder per content id. */
export const RECOVERY_ENVIRONMENTS_DIR = "environments";

/** The record in an environment's folder: the files' SHA-256 digests and sizes, the kernel version. */
export const RECOVERY_ENVIRONMENT_RECORD = "environment.json";
