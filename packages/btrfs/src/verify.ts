/**
 * Verification of a received subvolume.
 *
 * @module
 */
import type { CommandRunner } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { BtrfsError } from "./errors.js";
import type { Subvolume } from "./parse-subvolume.js";
import { showSubvolume } from "./subvolumes.js";

/** Options for {@link verifyReceived}. */
export interface VerifyReceivedOptions {
  /** The UUID of the subvolume that was sent (from `SendSummary.subvolumes` or the sender's `show`). */
  readonly expectedUuid: string;
}

/**
 * Check that a received subvolume is complete: read-only, with the sent
 * subvolume's UUID as its received UUID.
 *
 * @example
 * ```ts
 * await verifyReceived(runner, "/mnt/b", "factory", { expectedUuid: sent.uuid });
 * ```
 */
export function verifyReceived(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
  options: VerifyReceivedOptions,
): ResultAsync<Subvolume, BtrfsError> {
  return showSubvolume(runner, topLevel, subvolume).andThen((s) =>
    s.readOnly && s.receivedUuid === options.expectedUuid
      ? okAsync(s)
      : errAsync<Subvolume, BtrfsError>({
          code: "BTRFS_VERIFY_FAILED",
          message: `${JSON.stringify(s.path)} is ${s.readOnly ? "read-only" : "writable"} with received UUID ${s.receivedUuid ?? "none"}; expected read-only with ${options.expectedUuid}.`,
          subvolume: s.path,
          expectedUuid: options.expectedUuid,
          receivedUuid: s.receivedUuid,
          readOnly: s.readOnly,
        }),
  );
}
