/**
 * Where checkpoints live on the Btrfs top level, next to the factory
 * snapshot: `.lifeboat/checkpoints/<id>/{root,boot,manifest.json}`.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import type { BadCheckpointNameError } from "../errors.js";
import { LIFEBOAT_DIR } from "../layout.js";

/** The directory holding every checkpoint but the factory one. */
export const CHECKPOINTS_DIR = `${LIFEBOAT_DIR}/checkpoints`;
/** The id under which the factory snapshot is listed: the first checkpoint. */
export const FACTORY_CHECKPOINT_ID = "factory";

/** A checkpoint's directory from the top level. */
export const checkpointDir = (id: string): string => `${CHECKPOINTS_DIR}/${id}`;
/** A checkpoint's read-only root snapshot. */
export const checkpointRoot = (id: string): string => `${checkpointDir(id)}/root`;
/** A checkpoint's read-only /boot payload. */
export const checkpointBoot = (id: string): string => `${checkpointDir(id)}/boot`;
/** A checkpoint's manifest; written last, so a checkpoint without one is not complete. */
export const checkpointManifest = (id: string): string => `${checkpointDir(id)}/manifest.json`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Check a checkpoint name: 1 to 63 characters of letters, digits, `.`, `_`,
 * `-`, starting with a letter or digit, no `..`, and not `factory`. It names
 * a directory on the Btrfs, so anything else is refused.
 *
 * @example
 * ```ts
 * checkCheckpointName("before-f41").isOk(); // true
 * checkCheckpointName("../root").isErr(); // true: RESET_BAD_CHECKPOINT_NAME
 * ```
 */
export function checkCheckpointName(name: string): Result<string, BadCheckpointNameError> {
  const bad = (rule: string) =>
    err<string, BadCheckpointNameError>({
      code: "RESET_BAD_CHECKPOINT_NAME",
      message: `The checkpoint name ${JSON.stringify(name)} is not allowed: ${rule}.`,
      name,
      rule,
    });
  if (name === FACTORY_CHECKPOINT_ID) return bad("it is the factory snapshot's id");
  if (!NAME.test(name))
    return bad("use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or a digit");
  if (name.includes("..")) return bad("it contains '..'");
  return ok(name);
}
