import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { CommandError, CommandRunner, RunningCommand, StreamRunResult } from "@lifeboat/core";
import { errAsync, type Result, ResultAsync } from "neverthrow";
import type { BtrfsError } from "../errors.js";
import type { Subvolume } from "../parse-subvolume.js";
import { progressReporter } from "../send.js";
import type { ReceiveOptions, ReceiveSummary, Source } from "../transfer-types.js";
import { verifyReceived } from "../verify.js";
import { lstatMaybe } from "./common.js";
import { type Destination, landing, receiveFailure, removeIncomplete } from "./receive-common.js";
import { SendStreamTracker, type StreamSubvolume } from "./stream-tracker.js";

/** Receive with the stream passing through Node (a {@link SendStreamTracker} checks its framing). */
export function transfer(
  runner: CommandRunner,
  topLevel: string,
  dest: Destination,
  source: Source,
  options: ReceiveOptions,
): ResultAsync<ReceiveSummary, BtrfsError> {
  const started = Date.now();
  const signal = options.signal ? { signal: options.signal } : {};
  const receiver = runner.spawn("btrfs", ["receive", dest.absolute], { stdin: "pipe", ...signal });
  receiver.stdout.resume();
  const report = progressReporter(options, options.expectedBytes ?? 0);
  // Subvolumes (relative to the top level) that did not exist before this receive announced them.
  const created: string[] = [];
  const tracker = new SendStreamTracker({
    onBytes: (b) => report(b),
    onSubvolume: (subvolume) => options.onProgress?.({ kind: "subvolume", subvolume }),
    beforeSubvolume: async (subvolume) => {
      const relative = landing(topLevel, dest, subvolume.name);
      if (relative === undefined) return;
      const st = await lstatMaybe(path.join(topLevel, relative));
      if (st.isOk() && st.value === undefined) created.push(relative);
    },
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
      return verifyAnnounced(runner, topLevel, dest, tracker.subvolumes).map((subvolumes) => ({
        bytes: tracker.bytes,
        subvolumes,
        sent: tracker.subvolumes,
        durationMs: Date.now() - started,
      }));
    }
    return removeIncomplete(runner, topLevel, created, { evenIfComplete: false }).andThen(
      (cleaned) => errAsync(receiveFailure(failure, cleaned, tracker.bytes, options.signal)),
    );
  });
}

export function verifyAnnounced(
  runner: CommandRunner,
  topLevel: string,
  dest: Destination,
  sent: readonly StreamSubvolume[],
): ResultAsync<Subvolume[], BtrfsError> {
  return ResultAsync.combine(
    sent.map((s) => {
      const relative = landing(topLevel, dest, s.name);
      if (relative === undefined) {
        return errAsync<Subvolume, BtrfsError>({
          code: "BTRFS_VERIFY_FAILED",
          message: `The stream names a subvolume ${JSON.stringify(s.name)} outside the receiving directory.`,
          subvolume: s.name,
          expectedUuid: s.uuid,
          receivedUuid: undefined,
          readOnly: false,
        });
      }
      return verifyReceived(runner, topLevel, relative, { expectedUuid: s.uuid });
    }),
  );
}
