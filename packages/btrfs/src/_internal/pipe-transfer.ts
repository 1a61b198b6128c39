import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CommandError, CommandRunner, StreamRunResult } from "@lifeboat/core";
import { errAsync, okAsync, type Result, ResultAsync } from "neverthrow";
import type { BtrfsError } from "../errors.js";
import type { Subvolume } from "../parse-subvolume.js";
import { progressReporter, type SendOptions } from "../send.js";
import type { ReceiveSummary } from "../transfer-types.js";
import { verifyReceived } from "../verify.js";
import { lstatMaybe } from "./common.js";
import { fromNode } from "./common-io.js";
import { type Destination, landing, receiveFailure, removeIncomplete } from "./receive-common.js";

/** Bytes a process has read so far (`rchar` in /proc/<pid>/io), or undefined once it is gone. */
async function bytesRead(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const m = /^rchar: (\d+)$/m.exec(await readFile(`/proc/${pid}/io`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** What the sending side is (for the summary and the checks). */
export interface PipeSend {
  readonly args: readonly string[];
  readonly source: Subvolume;
  readonly parentUuid: string | undefined;
  /** Expected stream size, for progress `total`. */
  readonly estimatedBytes: number;
}

/**
 * `btrfs send -f FIFO` and `btrfs receive -f FIFO`: the stream goes through a
 * kernel pipe only, as in a shell pipeline (no copy through Node). Progress
 * is sampled from the receiver's `rchar`. A sender that fails takes down the
 * receiver, and whatever the receive created is deleted even if it looks
 * complete; a receiver that fails takes down the sender.
 */
export function pipeTransfer(
  runner: CommandRunner,
  topLevel: string,
  dest: Destination,
  send: PipeSend,
  options: SendOptions & { readonly pollMs?: number },
): ResultAsync<ReceiveSummary, BtrfsError> {
  const name = path.basename(send.source.path);
  const landed = landing(topLevel, dest, name);
  if (landed === undefined) {
    return errAsync({
      code: "INVALID_ARGUMENT",
      message: `Cannot receive ${JSON.stringify(name)} into ${dest.relative}.`,
      argument: "subvolume",
    });
  }
  return lstatMaybe(path.join(topLevel, landed))
    .andThen((st) =>
      st === undefined
        ? okAsync(undefined)
        : errAsync<undefined, BtrfsError>({
            code: "BTRFS_PATH_EXISTS",
            message: `${JSON.stringify(landed)} already exists on the receiving side.`,
            path: landed,
          }),
    )
    .andThen(() => fromNode(mkdtemp(path.join(tmpdir(), "lifeboat-send-")), tmpdir(), "create"))
    .andThen((work) => {
      const fifo = path.join(work, "stream");
      const run = runner
        .run("mkfifo", ["-m", "600", fifo])
        .mapErr((e): BtrfsError => e)
        .andThen(() => flow(runner, topLevel, dest, send, landed, fifo, options));
      return ResultAsync.fromSafePromise(
        (async () => {
          const r = await run;
          await rm(work, { recursive: true, force: true }).catch(() => undefined);
          return r;
        })(),
      ).andThen((r) => r);
    });
}

function flow(
  runner: CommandRunner,
  topLevel: string,
  dest: Destination,
  send: PipeSend,
  landed: string,
  fifo: string,
  options: SendOptions & { readonly pollMs?: number },
): ResultAsync<ReceiveSummary, BtrfsError> {
  const started = Date.now();
  const signal = options.signal ? { signal: options.signal } : {};
  const report = progressReporter(options, send.estimatedBytes);
  const receiver = runner.spawn("btrfs", ["receive", "-f", fifo, dest.absolute], signal);
  receiver.stdout.resume();
  const sendArgs = [...send.args.slice(0, -1), "-f", fifo, ...send.args.slice(-1)];
  const sender = runner.spawn("btrfs", sendArgs, signal);
  sender.stdout.resume();
  let bytes = 0;
  let announced = false;
  const poll = setInterval(() => {
    void bytesRead(receiver.pid).then((b) => {
      if (b === undefined || b <= bytes) return;
      bytes = b;
      if (!announced) {
        announced = true;
        options.onProgress?.({
          kind: "subvolume",
          subvolume: { name, uuid: send.source.uuid, parentUuid: send.parentUuid },
        });
      }
      report(bytes);
    });
  }, options.pollMs ?? 100);
  const name = path.basename(send.source.path);
  // One side failing leaves the other blocked on the FIFO (open or I/O): take it down too.
  const sentP: Promise<Result<StreamRunResult, CommandError>> = (async () => {
    const r = await sender.done;
    if (r.isErr()) receiver.kill("SIGKILL");
    return r;
  })();
  const receivedP: Promise<Result<StreamRunResult, CommandError>> = (async () => {
    const r = await receiver.done;
    if (r.isErr()) sender.kill("SIGKILL");
    return r;
  })();
  return ResultAsync.fromSafePromise(Promise.all([sentP, receivedP])).andThen(
    ([sent, received]) => {
      clearInterval(poll);
      const failure: BtrfsError | undefined = sent.isErr()
        ? sent.error
        : received.isErr()
          ? received.error
          : undefined;
      if (failure === undefined && !options.signal?.aborted) {
        return verifyReceived(runner, topLevel, landed, { expectedUuid: send.source.uuid }).map(
          (subvolume) => {
            report(bytes, true);
            return {
              bytes,
              subvolumes: [subvolume],
              sent: [{ name, uuid: send.source.uuid, parentUuid: send.parentUuid }],
              durationMs: Date.now() - started,
            };
          },
        );
      }
      return removeIncomplete(runner, topLevel, [landed], {
        evenIfComplete: sent.isErr() || options.signal?.aborted === true,
      }).andThen((cleaned) => errAsync(receiveFailure(failure, cleaned, bytes, options.signal)));
    },
  );
}
