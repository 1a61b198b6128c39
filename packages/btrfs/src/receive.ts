/**
 * `btrfs receive` from a stream, a file, or straight from `btrfs send`, with
 * clean-up of half-received subvolumes and verification of the result.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import type { CommandRunner } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { inside, lstatMaybe } from "./_internal/common.js";
import { transfer } from "./_internal/node-transfer.js";
import { pipeTransfer } from "./_internal/pipe-transfer.js";
import type { BtrfsError } from "./errors.js";
import { type SendOptions, sendArguments } from "./send.js";
import {
  isTrusted,
  type ReceiveOptions,
  type ReceiveSummary,
  type Source,
  type UntrustedReceiveOptions,
} from "./transfer-types.js";

function destination(topLevel: string, directory: string) {
  return inside(topLevel, directory).andThen((dest) =>
    lstatMaybe(dest.absolute).andThen((st) =>
      st?.isDirectory()
        ? okAsync(dest)
        : errAsync<typeof dest, BtrfsError>({
            code: "BTRFS_SUBVOLUME_NOT_FOUND",
            message: `The receiving directory ${JSON.stringify(directory)} does not exist.`,
            subvolume: directory,
          }),
    ),
  );
}

function runReceive(
  runner: CommandRunner,
  topLevel: string,
  directory: string,
  source: Source,
  options: ReceiveOptions,
): ResultAsync<ReceiveSummary, BtrfsError> {
  return destination(topLevel, directory).andThen((dest) =>
    transfer(runner, topLevel, dest, source, options),
  );
}

function untrusted(): BtrfsError {
  return {
    code: "BTRFS_UNTRUSTED_STREAM",
    message:
      'Refusing to receive a stream nobody verified: pass { verification } from a verifier (e.g. @lifeboat/image), or { verification: { trust: "caller-verified-this-stream" } } if you checked it yourself.',
  };
}

/**
 * Receive a send stream from a Node stream into `directory` (relative to the
 * top level). Refused without a verification token. On failure or
 * cancellation, subvolumes the receive left incomplete (writable, or without
 * a received UUID) are deleted and listed in the error.
 *
 * @example
 * ```ts
 * const r = await receive(runner, "/mnt/top", "snapshots", verified.stream, {
 *   verification: verified, // from @lifeboat/image
 *   onProgress: (e) => e.kind === "bytes" && bar.update(e.bytes, e.total),
 * });
 * ```
 */
export function receive(
  runner: CommandRunner,
  topLevel: string,
  directory: string,
  stream: Readable,
  options: UntrustedReceiveOptions,
): ResultAsync<ReceiveSummary, BtrfsError> {
  if (!isTrusted(options?.verification)) {
    stream.destroy();
    return errAsync(untrusted());
  }
  return runReceive(runner, topLevel, directory, { kind: "stream", stream }, options);
}

/**
 * Receive a send stream stored in a file (see {@link receive}).
 *
 * @example
 * ```ts
 * await receiveFile(runner, "/mnt/top", ".", "/recovery/factory.btrfs", {
 *   verification: { trust: "caller-verified-this-stream" },
 * });
 * ```
 */
export function receiveFile(
  runner: CommandRunner,
  topLevel: string,
  directory: string,
  file: string,
  options: UntrustedReceiveOptions,
): ResultAsync<ReceiveSummary, BtrfsError> {
  if (!isTrusted(options?.verification)) return errAsync(untrusted());
  return lstatMaybe(file).andThen((st) =>
    st?.isFile()
      ? runReceive(
          runner,
          topLevel,
          directory,
          { kind: "stream", stream: createReadStream(file) },
          { ...options, expectedBytes: options.expectedBytes ?? st.size },
        )
      : errAsync<ReceiveSummary, BtrfsError>({
          code: "IO_FAILED",
          message: `${file} is not a readable file.`,
          path: file,
          operation: "read",
          errno: st ? "EISDIR" : "ENOENT",
        }),
  );
}

/** Options for {@link sendReceive}. */
export interface SendReceiveOptions extends SendOptions {
  /**
   * How the stream travels. `"pipe"` (default): a kernel FIFO between the two
   * programs, like a shell pipeline, with progress sampled from the receiver's
   * read count (`bytes` is then approximate, within one sample). `"node"`:
   * through Node, with exact byte counts and a check of the stream's framing.
   */
  readonly transport?: "pipe" | "node";
  /** Progress sampling interval for the `"pipe"` transport. Default 100 ms. */
  readonly pollMs?: number;
}

/** The sending side of {@link sendReceive}. */
export interface SendEnd {
  readonly topLevel: string;
  readonly subvolume: string;
}

/** The receiving side of {@link sendReceive}. */
export interface ReceiveEnd {
  readonly topLevel: string;
  /** Directory (relative to its top level) the subvolume is received into; `"."` for the top. */
  readonly directory: string;
}

/**
 * Replicate a read-only subvolume onto another (mounted) Btrfs filesystem:
 * `btrfs send` piped through Node (for progress and stream checks) into
 * `btrfs receive`. Full, or incremental with `parent`/`cloneSources`.
 * Killing or failing the sender leaves no subvolume behind on the receiver.
 *
 * @example
 * ```ts
 * const r = await sendReceive(
 *   runner,
 *   { topLevel: "/mnt/a", subvolume: "snapshots/factory" },
 *   { topLevel: "/mnt/b", directory: "." },
 *   { onProgress: (e) => console.log(e) },
 * );
 * if (r.isOk()) r.value.subvolumes[0]?.receivedUuid;
 * ```
 */
export function sendReceive(
  runner: CommandRunner,
  from: SendEnd,
  to: ReceiveEnd,
  options: SendReceiveOptions = {},
): ResultAsync<ReceiveSummary, BtrfsError> {
  return sendArguments(runner, from.topLevel, from.subvolume, options).andThen(
    ({ args, source, parentUuid, estimatedBytes }) =>
      options.transport === "node"
        ? runReceive(
            runner,
            to.topLevel,
            to.directory,
            { kind: "send", args },
            { ...options, expectedBytes: estimatedBytes },
          )
        : destination(to.topLevel, to.directory).andThen((dest) =>
            pipeTransfer(
              runner,
              to.topLevel,
              dest,
              { args, source, parentUuid, estimatedBytes },
              options,
            ),
          ),
  );
}
