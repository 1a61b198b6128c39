import { constants, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, open, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import {
  abortedError,
  type ExecutorEvent,
  ioError,
  isLifeboatError,
  type LifeboatError,
  lifeboatError,
} from "@lifeboat/core";
import { installImageSet, securityEpochOf, verifyImageSet } from "@lifeboat/image";
import { imageSetDigest, type Machine } from "@lifeboat/reset";
import { RECOVERY_FILES } from "@lifeboat/reset/layout";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import type { MachineAccess } from "./machine.js";

/** The most bytes an image set may have by default (the staged copy lives in the run directory). */
export const DEFAULT_UPDATE_MAX_BYTES = 8 * 1024 ** 3;
/** The most files an image set may have (a set is a handful). */
const MAX_FILES = 64;

/** What an `Update` job's `Result` holds. */
export interface UpdateResult {
  readonly setId: string;
  readonly previousSetId: string | null;
  readonly digest: string;
  readonly securityEpoch: number;
  readonly bytesStaged: number;
}

const STEPS = [
  ["update-stage", "image.stage", "Copy the image set into the service's own staging directory"],
  [
    "update-verify",
    "image.verify",
    "Verify the staged copy: signature, anti-rollback, every block",
  ],
  ["update-install", "image.install", "Install the staged copy on the recovery partition"],
] as const;

function refuse(message: string): LifeboatError {
  return lifeboatError("INVALID_ARGUMENT", `${message} Nothing was changed.`, {
    argument: "directory",
  });
}

/**
 * Copy the caller's image set directory into a new root-owned staging
 * directory: regular files only, opened without following symlinks and
 * without blocking (a FIFO is refused, not waited on), at most `maxBytes` in
 * all, counted while copying (a file that grows meanwhile is cut off and
 * refused). What is verified and installed afterwards is this copy, which the
 * caller cannot reach: the directory can change after the call, the staged
 * bytes cannot.
 */
async function stage(
  from: string,
  into: string,
  maxBytes: number,
  onBytes: (done: number, total: number) => void,
  signal: AbortSignal,
): Promise<number | LifeboatError> {
  const entries = await readdir(from, { withFileTypes: true });
  if (entries.length > MAX_FILES)
    return refuse(`${from} has ${entries.length} entries; an image set has at most ${MAX_FILES}.`);
  const files: { name: string; size: number; handle: Awaited<ReturnType<typeof open>> }[] = [];
  try {
    let total = 0;
    for (const e of entries) {
      if (!e.isFile())
        return refuse(`${JSON.stringify(e.name)} in the image set is not a regular file.`);
      const handle = await open(
        path.join(from, e.name),
        constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      );
      files.push({ name: e.name, size: 0, handle });
      const st = await handle.stat();
      if (!st.isFile())
        return refuse(`${JSON.stringify(e.name)} in the image set is not a regular file.`);
      files[files.length - 1] = { name: e.name, size: st.size, handle };
      total += st.size;
    }
    if (total > maxBytes)
      return refuse(
        `The image set has ${total} bytes, more than the ${maxBytes} this service takes.`,
      );
    let done = 0;
    for (const f of files) {
      signal.throwIfAborted();
      let copied = 0;
      const source = f.handle.createReadStream({ start: 0, autoClose: false });
      source.on("data", (chunk: Buffer | string) => {
        copied += chunk.length;
        done += chunk.length;
        if (copied > f.size) source.destroy(new Error(`${f.name} grew while it was copied`));
        else onBytes(done, total);
      });
      await pipeline(source, createWriteStream(path.join(into, f.name), { mode: 0o600 }), {
        signal,
      });
      if (copied !== f.size)
        return refuse(`${JSON.stringify(f.name)} changed while it was copied.`);
    }
    return done;
  } finally {
    for (const f of files) await f.handle.close().catch(() => undefined);
  }
}

/**
 * The work of an `Update` job: stage the caller's image set, verify the staged
 * copy with the service's trusted keys, check that its digest is the one the
 * caller confirmed, and install it on the machine's recovery partition
 * (mounted writable) with the anti-rollback check of `installImageSet`.
 * Reports three steps with bytes.
 */
export function updateRecovery(
  access: MachineAccess & { readonly updateMaxBytes?: number | undefined },
  machine: Machine,
  directory: string,
  digest: string,
  signal: AbortSignal,
  onProgress: (e: ExecutorEvent) => void,
): ResultAsync<UpdateResult, LifeboatError> {
  const recoveryRoot = machine.recoveryRoot;
  if (recoveryRoot === undefined)
    return errAsync({
      code: "PRECONDITION_FAILED",
      message: "The disk has no recovery partition Lifeboat can write. Nothing was changed.",
    } as LifeboatError);
  const stagingParent = path.join(access.runDirectory ?? "/run/lifeboat", "staging");
  const started = Date.now();
  let index = 0;
  const step = (i: number) => {
    const [stepId, kind, title] = STEPS[i] ?? STEPS[0];
    index = i;
    onProgress({
      type: "step-started",
      stepId,
      stepIndex: i,
      totalSteps: STEPS.length,
      kind,
      title,
      rerun: false,
    });
  };
  const bytes = (done: number, total: number) =>
    onProgress({
      type: "step-progress",
      stepId: STEPS[index]?.[0] ?? "",
      stepIndex: index,
      bytesDone: done,
      bytesTotal: total,
    });
  const run = async (): Promise<UpdateResult | LifeboatError> => {
    await mkdir(stagingParent, { recursive: true, mode: 0o700 });
    const staging = await mkdtemp(path.join(stagingParent, "update-"));
    try {
      onProgress({
        type: "plan-started",
        planDigest: digest,
        totalSteps: STEPS.length,
        attempt: 1,
        resumed: false,
      });
      step(0);
      const staged = await stage(
        directory,
        staging,
        access.updateMaxBytes ?? DEFAULT_UPDATE_MAX_BYTES,
        bytes,
        signal,
      ).catch((e: unknown) =>
        signal.aborted
          ? abortedError("copying the image set into staging", e)
          : ioError(e, directory, "copy the image set"),
      );
      if (typeof staged !== "number") return staged;
      step(1);
      const verified = await verifyImageSet(staging, {
        trustedKeys: access.trustedKeys,
        signal,
        threads: 1,
        onProgress: (e) => {
          if (e.phase === "content") bytes(e.bytesDone, e.bytesTotal);
        },
      });
      if (verified.isErr()) return verified.error;
      const set = verified.value;
      const names = new Set(set.manifest.files.map((f) => f.path));
      const missing = Object.values(RECOVERY_FILES).filter((n) => !names.has(n));
      if (missing.length > 0)
        return refuse(
          `The image set is not a recovery image set (no ${missing.join(", ")} in its manifest).`,
        );
      const actual = imageSetDigest(set);
      if (actual !== digest)
        return {
          code: "CONFIRMATION_MISMATCH",
          message: `The image set in ${directory} has digest ${actual}, not ${digest}: check the set again. Nothing was changed.`,
          planDigest: actual,
          given: digest,
        } as LifeboatError;
      step(2);
      const installed = await installImageSet(set, recoveryRoot, {
        minimumEpoch: access.minimumEpoch,
        signal,
        onProgress: (e) => {
          if (e.phase === "copy") bytes(e.bytesDone, e.bytesTotal);
        },
      });
      if (installed.isErr()) return installed.error;
      const durationMs = Date.now() - started;
      onProgress({ type: "step-finished", stepId: STEPS[2][0], stepIndex: 2, durationMs });
      onProgress({ type: "plan-finished", planDigest: digest, durationMs, alreadyDone: false });
      return {
        setId: installed.value.setId,
        previousSetId: installed.value.previousSetId ?? null,
        digest: actual,
        securityEpoch: securityEpochOf(set.manifest),
        bytesStaged: staged,
      };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  };
  return ResultAsync.fromPromise(run(), (e) =>
    isLifeboatError(e) ? e : ioError(e, directory, "update the recovery image set"),
  ).andThen((r) => ("code" in r ? errAsync(r) : okAsync(r)));
}

/** `Update`'s directory argument: an absolute path, no NUL, of sane length. */
export function checkUpdateArguments(directory: string, digest: string): LifeboatError | undefined {
  if (
    directory.length === 0 ||
    directory.length > 4096 ||
    !directory.startsWith("/") ||
    directory.includes("\0")
  )
    return refuse("The image set directory must be an absolute path.");
  if (!/^sha256:[0-9a-f]{64}$/.test(digest))
    return lifeboatError(
      "INVALID_ARGUMENT",
      "The digest must be sha256:<64 hex digits> (the SHA-256 of the set's manifest.json). Nothing was changed.",
      { argument: "digest" },
    );
  return undefined;
}
