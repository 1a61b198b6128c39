/**
 * `btrfs receive` from a stream, a file, or straight from `btrfs send`, with
 * clean-up of half-received subvolumes and verification of the result.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { CommandError, CommandRunner, RunningCommand, StreamRunResult } from "@lifeboat/core";
import { errAsync, okAsync, type Result, ResultAsync } from "neverthrow";
import { btrfs, inside, lstatMaybe } from "./_internal/common.js";
import { SendStreamTracker } from "./_internal/stream-tracker.js";
import type { BtrfsError } from "./errors.js";
import type { Subvolume } from "./parse-subvolume.js";
import {
  progressReporter,
  type SendOptions,
  type StreamSubvolume,
  sendArguments,
  type TransferProgress,
} from "./send.js";
import { listSubvolumes, showSubvolume } from "./subvolumes.js";

/**
 * Proof that a stream was verified (e.g. `VerifiedStream` from `@lifeboat/image`,
 * whose signature and hashes were checked). Only its presence is checked here.
 */
export interface StreamVerification {
  /** Who verified it, e.g. `"@lifeboat/image manifest signature"`. */
  readonly verifiedBy: string;
}

/** The explicit escape hatch: the caller states it verified the stream itself. */
export interface CallerVerifiedStream {
  readonly trust: "caller-verified-this-stream";
}

/** What {@link receive} and {@link receiveFile} require before reading a stream from elsewhere. */
export type StreamTrust = StreamVerification | CallerVerifiedStream;

/** Options for receiving. */
export interface ReceiveOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: TransferProgress) => void;
  /** Minimum bytes between two `bytes` events. Default 1 MiB. */
  readonly progressEveryBytes?: number;
}

/** Options for receiving a stream from outside. */
export interface UntrustedReceiveOptions extends ReceiveOptions {
  /** Required: a verification token, or `{ trust: "caller-verified-this-stream" }`. */
  readonly verification: StreamTrust;
}

/** What a finished receive produced. */
export interface ReceiveSummary {
  readonly bytes: number;
  /** The received subvolumes, each checked read-only with the sent UUID as its received UUID. */
  readonly subvolumes: readonly Subvolume[];
  /** The subvolumes as the stream announced them. */
  readonly sent: readonly StreamSubvolume[];
  readonly durationMs: number;
}

type Source =
  | { readonly kind: "stream"; readonly stream: Readable }
  | { readonly kind: "send"; readonly args: readonly string[] };

function isTrusted(v: unknown): v is StreamTrust {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    o.trust === "caller-verified-this-stream" ||
    (typeof o.verifiedBy === "string" && o.verifiedBy.length > 0)
  );
}

function inDirectory(all: readonly Subvolume[], dir: string, before: ReadonlySet<number>) {
  const want = dir === "" ? "." : dir;
  return all.filter((s) => !before.has(s.id) && path.posix.dirname(s.path) === want);
}

function complete(s: Subvolume): boolean {
  return s.readOnly && s.receivedUuid !== undefined;
}

function removeIncomplete(
  runner: CommandRunner,
  topLevel: string,
  dir: string,
  before: ReadonlySet<number>,
) {
  return listSubvolumes(runner, topLevel)
    .map((all) => inDirectory(all, dir, before).filter((s) => !complete(s)))
    .orElse(() => okAsync<Subvolume[], never>([]))
    .andThen((doomed) =>
      ResultAsync.fromSafePromise(
        (async () => {
          const removed: string[] = [];
          const leftBehind: string[] = [];
          for (const s of doomed) {
            const r = await btrfs(runner, [
              "subvolume",
              "delete",
              "--commit-after",
              path.join(topLevel, s.path),
            ]);
            (r.isOk() ? removed : leftBehind).push(s.path);
          }
          return { removed, leftBehind };
        })(),
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
  return inside(runner, topLevel, directory)
    .andThen((dest) =>
      lstatMaybe(dest.absolute).andThen((st) =>
        st?.isDirectory()
          ? okAsync(dest)
          : errAsync<typeof dest, BtrfsError>({
              code: "BTRFS_SUBVOLUME_NOT_FOUND",
              message: `The receiving directory ${JSON.stringify(directory)} does not exist.`,
              subvolume: directory,
            }),
      ),
    )
    .andThen((dest) =>
      listSubvolumes(runner, topLevel).andThen((all) =>
        transfer(runner, topLevel, dest, new Set(all.map((s) => s.id)), source, options),
      ),
    );
}

function transfer(
  runner: CommandRunner,
  topLevel: string,
  dest: { absolute: string; relative: string },
  before: ReadonlySet<number>,
  source: Source,
  options: ReceiveOptions,
): ResultAsync<ReceiveSummary, BtrfsError> {
  const started = Date.now();
  const signal = options.signal ? { signal: options.signal } : {};
  const receiver = runner.spawn("btrfs", ["receive", dest.absolute], { stdin: "pipe", ...signal });
  receiver.stdout.resume();
  const report = progressReporter(options);
  const tracker = new SendStreamTracker({
    onBytes: (b) => report(b),
    onSubvolume: (subvolume) => options.onProgress?.({ kind: "subvolume", subvolume }),
    onTruncated: () => receiver.kill("SIGKILL"),
  });
  let sender: RunningCommand | undefined;
  let upstream: Readable;
  if (source.kind === "send") {
    sender = runner.spawn("btrfs", source.args, signal);
    upstream = sender.stdout;
  } else {
    upstream = source.stream;
  }
  const stdin = receiver.stdin!;
  const piped = pipeline(upstream, tracker, stdin).then(
    () => undefined,
    (e: unknown) => {
      receiver.kill("SIGKILL");
      sender?.kill("SIGKILL");
      return e;
    },
  );
  const receivedP: Promise<Result<StreamRunResult, CommandError>> = (async () => {
    const r = await receiver.done;
    if (r.isErr()) sender?.kill("SIGKILL");
    return r;
  })();
  const sentP: Promise<Result<StreamRunResult, CommandError> | undefined> = sender
    ? (async () => await sender.done)()
    : Promise.resolve(undefined);
  const settled = Promise.all([piped, receivedP, sentP]);
  return ResultAsync.fromSafePromise(settled).andThen(([pipeError, received, sent]) => {
    const problem = tracker.problem;
    const failure: BtrfsError | undefined = problem
      ? {
          code: "BTRFS_STREAM_INVALID",
          message: problem.message,
          offset: problem.offset,
          reason: problem.reason,
        }
      : sent?.isErr()
        ? sent.error
        : received.isErr()
          ? received.error
          : pipeError !== undefined
            ? {
                code: "IO_FAILED",
                message: `Reading the send stream failed: ${pipeError instanceof Error ? pipeError.message : String(pipeError)}`,
                path: dest.absolute,
                operation: "stream",
                errno: (pipeError as { code?: string }).code,
                cause: pipeError,
              }
            : undefined;
    if (failure === undefined && !options.signal?.aborted) {
      report(tracker.bytes, true);
      return verifyNew(runner, topLevel, dest.relative, before, tracker.subvolumes).map(
        (subvolumes) => ({
          bytes: tracker.bytes,
          subvolumes,
          sent: tracker.subvolumes,
          durationMs: Date.now() - started,
        }),
      );
    }
    return removeIncomplete(runner, topLevel, dest.relative, before).andThen(
      ({ removed, leftBehind }) => {
        const tailNote = `${removed.length ? ` Removed the half-received ${removed.join(", ")}.` : ""}${
          leftBehind.length ? ` Could NOT remove ${leftBehind.join(", ")}.` : ""
        }`;
        if (options.signal?.aborted) {
          return errAsync<ReceiveSummary, BtrfsError>({
            code: "ABORTED",
            message: `Cancelled while receiving.${tailNote}`,
            during: "receiving",
            removed,
            leftBehind,
            bytes: tracker.bytes,
            cause: failure,
          });
        }
        return errAsync<ReceiveSummary, BtrfsError>({
          code: "BTRFS_RECEIVE_FAILED",
          message: `Receive failed: ${failure?.message ?? "unknown error"}.${tailNote}`,
          removed,
          leftBehind,
          bytes: tracker.bytes,
          cause: failure,
        });
      },
    );
  });
}

function verifyNew(
  runner: CommandRunner,
  topLevel: string,
  dir: string,
  before: ReadonlySet<number>,
  sent: readonly StreamSubvolume[],
): ResultAsync<Subvolume[], BtrfsError> {
  return listSubvolumes(runner, topLevel).andThen((all) => {
    const fresh = inDirectory(all, dir, before);
    const out: Subvolume[] = [];
    for (const s of sent) {
      const want = path.posix.join(dir === "" ? "." : dir, s.name);
      const got = fresh.find((f) => f.path === want);
      if (!got || !complete(got) || got.receivedUuid !== s.uuid) {
        return errAsync<Subvolume[], BtrfsError>({
          code: "BTRFS_VERIFY_FAILED",
          message: `Received subvolume ${JSON.stringify(want)} does not match the stream (expected received UUID ${s.uuid}, read-only).`,
          subvolume: want,
          expectedUuid: s.uuid,
          receivedUuid: got?.receivedUuid,
          readOnly: got?.readOnly ?? false,
        });
      }
      out.push(got);
    }
    return okAsync(out);
  });
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
 *   onProgress: (e) => e.kind === "bytes" && bar.update(e.bytes),
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
          options,
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
  options: SendOptions = {},
): ResultAsync<ReceiveSummary, BtrfsError> {
  return sendArguments(runner, from.topLevel, from.subvolume, options).andThen(({ args }) =>
    runReceive(runner, to.topLevel, to.directory, { kind: "send", args }, options),
  );
}

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
