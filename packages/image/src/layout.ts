/**
 * The file names of an image set and of the recovery partition's records:
 * the on-disk layout, kept out of the package root (a front end verifies and
 * installs through `@lifeboat/image`; a test or a tool that reads the files
 * itself imports these).
 *
 * @example
 * ```ts
 * import { MANIFEST_FILE, SECURITY_EPOCH_FILE } from "@lifeboat/image/layout";
 * const manifest = path.join(recoveryRoot, "current", MANIFEST_FILE);
 * const epoch = path.join(recoveryRoot, SECURITY_EPOCH_FILE);
 * ```
 *
 * @module @lifeboat/image/layout
 */

/** File name of the manifest inside an image set directory. */
export const MANIFEST_FILE = "manifest.json";
/** File on the recovery partition: the highest security epoch installed there. */
export const SECURITY_EPOCH_FILE = "security-epoch";
/** File on the recovery partition: one JSON line per rollback override. */
export const ROLLBACK_LOG_FILE = "rollback-log.jsonl";
/** File beside the trusted public keys: the OEM's minimum security epoch (one integer). */
export const MINIMUM_EPOCH_FILE = "minimum-epoch";
