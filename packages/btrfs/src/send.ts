/**
 * `btrfs send` as a Node stream, into a file, or straight into `btrfs receive`.
 *
 * @module
 */

import { createWriteStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  abortedError,
  type CommandRunner,
  fsyncDirectory,
  ioError,
  type RunningCommand,
} from "@lifeboat/core";
import { err, errAsync, ok, okAsync, type Result, ResultAsync } from "neverthrow";
import { fromNode, inside } from "./_internal/common.js";
import { SendStreamTracker, type StreamSubvolume } from "./_internal/stream-tracker.js";
import type { BtrfsError } from "./errors.js";
import { estimateSize } from "./filesystem.js";
import type { Subvolume } from "./parse-subvolume.js";
import { showSubvolume } from "./subvolumes.js";

export type { StreamSubvolume } from "./_internal/stream-tracker.js";

/**
 * Progress of a send or receive.
 *
 * `bytes` events come about every `progressEveryBytes`, at least once a second
 * while the stream moves, and once at the end. `total` is the expected stream
 * size: for a send, the subvolume's file data (`btrfs filesystem du -s`: its
 * `total` for a full send, its `exclusive` bytes for an incremental one) or
 * {@link SendOptions.estimatedBytes}; for {@link receiveFile}, the file's
 * size; for {@link receive}, {@link ReceiveOptions.expectedBytes}. It is an
 * estimate (the stream also carries metadata), never below `bytes`, and the
 * final event has `bytes === total`.
 *
 * @example
 * ```ts
 * const onProgress = (e: TransferProgress) => {
 *   if (e.kind === "bytes") console.log(`${Math.round((100 * e.bytes) / e.total)}%`);
 * };
 * ```
 */
export type TransferProgress =
  /** Stream bytes so far, and the expected total (see above). */
  | { readonly kind: "bytes"; readonly bytes: number; readonly total: number }
  /** The stream announced a subvolume (full: `parentUuid` undefined; incremental: the parent's UUID). */
  | { readonly kind: "subvolume"; readonly subvolume: StreamSubvolume };

/** Options common to every send. */
export interface SendOptions {
  /** Incremental send against this read-only subvolume (relative to the top level), `btrfs send -p`. */
  readonly parent?: string;
  /** Extra clone sources (read-only subvolumes on both sides), `btrfs send -c`. */
  readonly cloneSources?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: TransferProgress) => void;
  /** Minimum bytes between two `bytes` events. Default 1 MiB. */
  readonly progressEveryBytes?: number;
  /**
   * The expected stream size for progress `total`, when the caller knows it
   * (e.g. a planner's size estimate). Without it, the send measures the
   * subvolume with `btrfs filesystem du -s` first (a tree walk).
   */
  readonly estimatedBytes?: number;
}

/** What a finished send carried. */
export interface SendSummary {
  readonly bytes: number;
  /** The subvolumes announced in the stream, with the UUIDs receivers must end up with as received UUID. */
  readonly subvolumes: readonly StreamSubvolume[];
  readonly durationMs: number;
}

/** A running send: consume `stream`; `done` settles once the sender exited and the stream was whole. */
export interface SendHandle {
  readonly stream: Readable;
  readonly done: ResultAsync<SendSummary, BtrfsError>;
  /** The sent subvolume as it is on the sending side. */
  readonly source: Subvolume;
}

function notReadOnly(s: Subvolume): BtrfsError {
  return {
    code: "BTRFS_NOT_READ_ONLY",
    message: `${JSON.stringify(s.path)} is writable; btrfs send needs a read-only snapshot (snapshot it with { readOnly: true }).`,
    subvolume: s.path,
  };
}

function readOnlySubvolume(
  runner: CommandRunner,
  topLevel: string,
  relative: string,
): ResultAsync<Subvolume, BtrfsError> {
  return showSubvolume(runner, topLevel, relative).andThen((s) =>
    s.readOnly ? okAsync(s) : errAsync(notReadOnly(s)),
  );
}

/** Resolve and check the sent subvolume and its parent/clone sources; give `btrfs send` arguments. */
export function sendArguments(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
  options: SendOptions,
): ResultAsync<
  { args: string[]; source: Subvolume; parentUuid: string | undefined; estimatedBytes: number },
  BtrfsError
> {
  const extra = [
    ...(options.parent === undefined ? [] : [["-p", options.parent] as const]),
    ...(options.cloneSources ?? []).map((c) => ["-c", c] as const),
  ];
  return readOnlySubvolume(runner, topLevel, subvolume).andThen((source) =>
    ResultAsync.combine(
      extra.map(([flag, rel]) =>
        readOnlySubvolume(runner, topLevel, rel).andThen((s) =>
          inside(topLevel, rel).map((w) => ({ flag, absolute: w.absolute, uuid: s.uuid })),
        ),
      ),
    ).andThen((pairs) =>
      inside(topLevel, subvolume).andThen((w) =>
        sendEstimate(runner, topLevel, subvolume, options).map((estimatedBytes) => ({
          args: ["send", "-q", ...pairs.flatMap((p) => [p.flag, p.absolute]), w.absolute],
          source,
          parentUuid: pairs.find((p) => p.flag === "-p")?.uuid,
          estimatedBytes,
        })),
      ),
    ),
  );
}

/**
 * The expected size of the stream: the caller's figure, else the subvolume's
 * file data (all of it for a full send, what it does not share for an
 * incremental one). An estimate that cannot be had is 0 (progress then shows
 * `total === bytes`): it never fails the send.
 */
function sendEstimate(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
  options: SendOptions,
): ResultAsync<number, never> {
  if (options.estimatedBytes !== undefined) return okAsync(options.estimatedBytes);
  if (!options.onProgress) return okAsync(0);
  const incremental = options.parent !== undefined || (options.cloneSources?.length ?? 0) > 0;
  return estimateSize(runner, topLevel, subvolume)
    .map((e) => (incremental ? e.exclusive : e.total))
    .orElse(() => okAsync(0));
}

/**
 * Emits throttled byte events: every `progressEveryBytes`, or after a second
 * without one if bytes moved; the final one (always sent) with `total = bytes`.
 */
export function progressReporter(
  options: Pick<SendOptions, "onProgress" | "progressEveryBytes">,
  expectedBytes: number,
): (bytes: number, final?: boolean) => void {
  const every = options.progressEveryBytes ?? 1 << 20;
  let last = 0;
  let lastAt = Date.now();
  let finished = false;
  return (bytes, final = false) => {
    if (!options.onProgress || finished) return;
    const now = Date.now();
    if (final || bytes - last >= every || (bytes > last && now - lastAt >= 1000)) {
      last = bytes;
      lastAt = now;
      finished = final;
      options.onProgress({
        kind: "bytes",
        bytes,
        total: final ? bytes : Math.max(expectedBytes, bytes),
      });
    }
  };
}

/** Start `btrfs send` piped through a {@link SendStreamTracker}. */
export function startSend(
  runner: CommandRunner,
  args: readonly string[],
  options: SendOptions,
  expectedBytes: number,
  hooks: { onTruncated?: () => void } = {},
): {
  sender: RunningCommand;
  tracker: SendStreamTracker;
  report: (b: number, f?: boolean) => void;
} {
  const report = progressReporter(options, expectedBytes);
  const sender = runner.spawn("btrfs", args, options.signal ? { signal: options.signal } : {});
  const tracker = new SendStreamTracker({
    onBytes: (b) => report(b),
    onSubvolume: (subvolume) => options.onProgress?.({ kind: "subvolume", subvolume }),
    ...(hooks.onTruncated ? { onTruncated: hooks.onTruncated } : {}),
  });
  return { sender, tracker, report };
}

function trackerError(tracker: SendStreamTracker): BtrfsError | undefined {
  const p = tracker.problem;
  return p
    ? { code: "BTRFS_STREAM_INVALID", message: p.message, offset: p.offset, reason: p.reason }
    : undefined;
}

/**
 * Send a read-only subvolume as a Node stream (full, or incremental with
 * `parent`). Read `stream` to the end; `done` then gives what was sent, or the
 * error (sender failed, stream cut, cancelled).
 *
 * @example
 * ```ts
 * const h = await sendStream(runner, "/mnt/top", "snapshots/factory", { onProgress: console.log });
 * if (h.isOk()) {
 *   await pipeline(h.value.stream, createWriteStream("/recovery/factory.btrfs"));
 *   const summary = await h.value.done;
 * }
 * ```
 */
export function sendStream(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
  options: SendOptions = {},
): ResultAsync<SendHandle, BtrfsError> {
  return sendArguments(runner, topLevel, subvolume, options).map(
    ({ args, source, estimatedBytes }) => {
      const started = Date.now();
      const { sender, tracker, report } = startSend(runner, args, options, estimatedBytes);
      const piped = new Promise<void>((resolve) => {
        sender.stdout.on("error", (e) => tracker.destroy(e));
        sender.stdout.pipe(tracker);
        tracker.on("end", resolve);
        tracker.on("error", () => resolve());
        tracker.on("close", () => resolve());
      });
      const done = sender.done
        .mapErr((e): BtrfsError => e)
        .andThen((r) => ResultAsync.fromSafePromise(piped.then(() => r)))
        .andThen((): ResultAsync<SendSummary, BtrfsError> => {
          const bad = trackerError(tracker);
          if (bad) return errAsync(bad);
          report(tracker.bytes, true);
          return okAsync({
            bytes: tracker.bytes,
            subvolumes: tracker.subvolumes,
            durationMs: Date.now() - started,
          });
        })
        .orElse((e) => errAsync(options.signal?.aborted ? abortedError("sending", e) : e));
      return { stream: tracker, done, source };
    },
  );
}

/**
 * Send a read-only subvolume into a file. Written to `<file>.partial`, fsynced,
 * then renamed into place, so `file` only ever holds a whole stream.
 *
 * @example
 * ```ts
 * await sendToFile(runner, "/mnt/top", "snapshots/factory", "/recovery/factory.btrfs");
 * ```
 */
export function sendToFile(
  runner: CommandRunner,
  topLevel: string,
  subvolume: string,
  file: string,
  options: SendOptions = {},
): ResultAsync<SendSummary, BtrfsError> {
  const partial = `${file}.partial`;
  return sendStream(runner, topLevel, subvolume, options).andThen((h) => {
    const written = ResultAsync.fromPromise(pipeline(h.stream, createWriteStream(partial)), (e) =>
      ioError(e, partial, "write"),
    );
    return ResultAsync.fromSafePromise(Promise.all([h.done, written]))
      .andThen(
        ([sent, write]): Result<SendSummary, BtrfsError> =>
          sent.isErr() ? err(sent.error) : write.isErr() ? err(write.error) : ok(sent.value),
      )
      .andThen((summary) =>
        fromNode(
          (async () => {
            const handle = await open(partial, "r+");
            try {
              await handle.sync();
            } finally {
              await handle.close();
            }
            await rename(partial, file);
            await fsyncDirectory(path.dirname(file));
          })(),
          file,
          "write",
        ).map(() => summary),
      )
      .orElse((e) =>
        fromNode(rm(partial, { force: true }), partial, "remove").andThen(() =>
          errAsync<SendSummary, BtrfsError>(e),
        ),
      );
  });
}
