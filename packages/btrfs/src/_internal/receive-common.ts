import path from "node:path";
import { type CommandRunner, joinInside } from "@lifeboat/core";
import { ResultAsync } from "neverthrow";
import type { BtrfsError } from "../errors.js";
import type { Subvolume } from "../parse-subvolume.js";
import { showSubvolume } from "../subvolumes.js";
import { btrfs } from "./common.js";

export function complete(s: Subvolume): boolean {
  return s.readOnly && s.receivedUuid !== undefined;
}

export interface Destination {
  readonly absolute: string;
  readonly relative: string;
}

/** Where a subvolume announced in the stream lands, or undefined for a name that would leave the directory. */
export function landing(topLevel: string, dest: Destination, name: string): string | undefined {
  const joined = joinInside(dest.absolute, name);
  return joined.isOk() ? path.relative(topLevel, joined.value) : undefined;
}

/** What a failed receive cleaned up. */
export interface Cleaned {
  readonly removed: string[];
  readonly leftBehind: string[];
}

/**
 * Delete the subvolumes this receive created (not there before it started)
 * that are incomplete, or all of them with `evenIfComplete` (the sender
 * failed, so whatever arrived is suspect).
 */
export function removeIncomplete(
  runner: CommandRunner,
  topLevel: string,
  created: readonly string[],
  options: { readonly evenIfComplete: boolean },
): ResultAsync<Cleaned, never> {
  return ResultAsync.fromSafePromise(
    (async () => {
      const removed: string[] = [];
      const leftBehind: string[] = [];
      for (const relative of created) {
        const shown = await showSubvolume(runner, topLevel, relative);
        if (shown.isErr()) {
          if (shown.error.code !== "BTRFS_SUBVOLUME_NOT_FOUND") leftBehind.push(relative);
          continue;
        }
        if (complete(shown.value) && !options.evenIfComplete) continue;
        const r = await btrfs(runner, [
          "subvolume",
          "delete",
          "--commit-after",
          path.join(topLevel, relative),
        ]);
        (r.isOk() ? removed : leftBehind).push(relative);
      }
      return { removed, leftBehind };
    })(),
  );
}

/** The error of a failed or cancelled receive, naming what was cleaned up. */
export function receiveFailure(
  failure: BtrfsError | undefined,
  { removed, leftBehind }: Cleaned,
  bytes: number,
  signal: AbortSignal | undefined,
): BtrfsError {
  const note = `${removed.length ? ` Removed the half-received ${removed.join(", ")}.` : ""}${
    leftBehind.length ? ` Could NOT remove ${leftBehind.join(", ")}.` : ""
  }`;
  if (signal?.aborted) {
    return {
      code: "ABORTED",
      message: `Cancelled while receiving.${note}`,
      during: "receiving",
      removed,
      leftBehind,
      bytes,
      ...(failure === undefined ? {} : { cause: failure }),
    };
  }
  return {
    code: "BTRFS_RECEIVE_FAILED",
    message: `Receive failed: ${failure?.message ?? "unknown error"}.${note}`,
    removed,
    leftBehind,
    bytes,
    ...(failure === undefined ? {} : { cause: failure }),
  };
}
