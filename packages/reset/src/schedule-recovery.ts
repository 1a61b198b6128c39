/**
 * A reset scheduled to run unattended in the recovery environment at the
 * next boot: the request and its digest on the recovery partition, and the
 * GRUB fragment that Lifeboat's entries (custom.cfg block or grub.d script,
 * as `provision` installed them) source to boot "Scheduled reset (Lifeboat)"
 * once. Needs nothing of the installed system: it works when root no longer
 * boots.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, type InvalidArgumentError, writeFileAtomic } from "@lifeboat/core";
import { RECOVERY_SCHEDULE } from "@lifeboat/core/layout";
import { type GrubRenderError, renderGrubScript, writeGrubConfig } from "@lifeboat/grub";
import { err, type Result, type ResultAsync } from "neverthrow";
import { effect, must } from "./_internal/await.js";
import { exists } from "./_internal/fs.js";
import type { BadRequestError, ResetError } from "./errors.js";
import { plan as makePlan } from "./plan.js";
import { parseScheduledRequest, type ScheduledResetRequest } from "./schedule.js";
import type { SystemState } from "./state.js";

const sha256 = (bytes: string | Buffer) =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/**
 * The GRUB fragment that schedules the request whose digest is given: it
 * sets {@link RECOVERY_SCHEDULE}`.digestVariable` (read by the top-level
 * entry, so no `export`). Pure.
 *
 * @example
 * ```ts
 * const text = renderScheduleFragment("sha256:9f86d0…");
 * ```
 */
export function renderScheduleFragment(
  digest: string,
): Result<string, InvalidArgumentError | GrubRenderError> {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest))
    return err({
      code: "INVALID_ARGUMENT",
      message: `Not a request digest: ${digest.slice(0, 100)} (sha256:<64 hex digits>).`,
      argument: "digest",
    });
  return renderGrubScript([
    {
      kind: "comment",
      text: "Written by `lifeboat reset schedule --in-recovery`; the recovery environment removes it before it acts.",
    },
    { kind: "set", name: RECOVERY_SCHEDULE.digestVariable, value: digest },
  ]);
}

/** What a scheduled run in the recovery environment will do, as planned when it was scheduled. */
export type RecoveryScheduledPlan =
  /** The request planned on the machine as it is now. */
  | {
      readonly action: "reset";
      readonly kind: string;
      readonly steps: number;
      readonly digest: string;
    }
  /** An interrupted reset's journal is on the machine: the recovery environment resumes that plan first. */
  | { readonly action: "resume"; readonly kind: string; readonly digest: string };

/** Options of {@link scheduleResetInRecovery}. */
export interface ScheduleResetInRecoveryOptions {
  readonly request: ScheduledResetRequest;
  readonly runner: CommandRunner;
}

/** What {@link scheduleResetInRecovery} wrote. */
export interface RecoveryResetScheduled {
  readonly request: ScheduledResetRequest;
  /** The request on the recovery partition, `/schedule/request.json`. */
  readonly requestPath: string;
  /** The GRUB fragment on the recovery partition, `/schedule/next-boot.cfg`. */
  readonly grubFragment: string;
  /** The request file's SHA-256, which the recovery environment checks before it runs anything. */
  readonly digest: string;
  /** The GRUB entry the next boot takes. */
  readonly entryId: string;
  readonly plannedNow: RecoveryScheduledPlan;
}

/**
 * Schedule a reset that runs unattended in the recovery environment at the
 * next boot. The request is planned on the machine's state first (one that
 * cannot run is refused before the reboot; an interrupted reset is resumed
 * instead, as the recovery environment does); then the request and the GRUB
 * fragment are written on the mounted, writable recovery partition, each
 * through a temporary file, fsync and rename, the fragment last (without it
 * nothing runs). Lifeboat's GRUB entries (`provision`'s custom.cfg block or
 * grub.d script) source the fragment and boot "Scheduled reset (Lifeboat)"
 * by default; the recovery environment removes both files before it acts, so
 * a failure cannot loop. Scheduling again replaces the request.
 *
 * @example
 * ```ts
 * const m = await openMachine(runner, { disk: "/dev/sda", recoveryWritable: true });
 * const s = await inspectMachine(runner, m.value, { trustedKeys: [] });
 * const r = await scheduleResetInRecovery(m.value.recoveryRoot, s.value.state, {
 *   runner, request: { kind: "reset-keep-home", stamp: stampOf(new Date()) },
 * });
 * ```
 */
export function scheduleResetInRecovery(
  recoveryRoot: string,
  state: SystemState,
  options: ScheduleResetInRecoveryOptions,
): ResultAsync<RecoveryResetScheduled, ResetError> {
  return effect(async () => {
    const request = await must(parseScheduledRequest(options.request));
    const unfinished = state.unfinishedPlan;
    let plannedNow: RecoveryScheduledPlan;
    if (unfinished) {
      plannedNow = { action: "resume", kind: unfinished.kind, digest: unfinished.digest };
    } else {
      const p = await must(makePlan(state, request));
      plannedNow = { action: "reset", kind: p.kind, steps: p.steps.length, digest: p.digest };
    }
    const bytes = `${JSON.stringify({ kind: request.kind, stamp: request.stamp })}\n`;
    const digest = sha256(bytes);
    const fragment = await must(renderScheduleFragment(digest));
    await mkdir(path.join(recoveryRoot, RECOVERY_SCHEDULE.directory), { recursive: true });
    await must(writeFileAtomic(path.join(recoveryRoot, RECOVERY_SCHEDULE.request), bytes));
    // Checked by grub-script-check, written atomically (temporary file, fsync, rename).
    await must(
      writeGrubConfig(
        options.runner,
        path.join(recoveryRoot, RECOVERY_SCHEDULE.grubFragment),
        fragment,
      ),
    );
    return {
      request,
      requestPath: `/${RECOVERY_SCHEDULE.request}`,
      grubFragment: `/${RECOVERY_SCHEDULE.grubFragment}`,
      digest,
      entryId: RECOVERY_SCHEDULE.entryId,
      plannedNow,
    };
  }, "schedule the reset in the recovery environment");
}

/** A reset scheduled in the recovery environment, as {@link readRecoverySchedule} finds it. */
export interface RecoveryScheduleFound {
  readonly request: ScheduledResetRequest;
  /** The request file's SHA-256. */
  readonly digest: string;
  /** Whether the GRUB fragment is there too (without it the next boot does not run the request). */
  readonly armed: boolean;
}

/**
 * Read the reset scheduled on a mounted recovery partition: `undefined` when
 * there is no request; a file that is not a request is `RESET_BAD_REQUEST`.
 * Reads only.
 *
 * @example
 * ```ts
 * const r = await readRecoverySchedule("/run/lifeboat/recovery");
 * if (r.isOk() && r.value?.armed) console.log(`${r.value.request.kind} at the next boot`);
 * ```
 */
export function readRecoverySchedule(
  recoveryRoot: string,
): ResultAsync<RecoveryScheduleFound | undefined, ResetError> {
  return effect(async () => {
    const file = path.join(recoveryRoot, RECOVERY_SCHEDULE.request);
    if (!(await exists(file))) return undefined;
    const bytes = await readFile(file);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString("utf8"));
    } catch (e) {
      const bad: BadRequestError = {
        code: "RESET_BAD_REQUEST",
        message: `The request scheduled on the recovery partition is not JSON: ${(e as Error).message}.`,
        field: "request",
      };
      return must(err<never, ResetError>(bad));
    }
    const request = await must(parseScheduledRequest(value));
    const armed = await exists(path.join(recoveryRoot, RECOVERY_SCHEDULE.grubFragment));
    return { request, digest: sha256(bytes), armed };
  }, "read the reset scheduled in the recovery environment");
}

/**
 * Cancel a reset scheduled in the recovery environment: the GRUB fragment
 * first (then the next boot is a normal one), then the request. What is
 * already gone is skipped; `removed` names what was there, as paths on the
 * recovery partition.
 *
 * @example
 * ```ts
 * const r = await cancelRecoverySchedule("/run/lifeboat/recovery");
 * if (r.isOk() && r.value.removed.length === 0) console.log("Nothing was scheduled.");
 * ```
 */
export function cancelRecoverySchedule(
  recoveryRoot: string,
): ResultAsync<{ readonly removed: readonly string[] }, ResetError> {
  return effect(async () => {
    const removed: string[] = [];
    for (const rel of [RECOVERY_SCHEDULE.grubFragment, RECOVERY_SCHEDULE.request]) {
      const file = path.join(recoveryRoot, rel);
      if (!(await exists(file))) continue;
      await rm(file, { force: true });
      removed.push(`/${rel}`);
    }
    return { removed };
  }, "cancel the reset scheduled in the recovery environment");
}
