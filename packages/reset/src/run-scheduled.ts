import path from "node:path";
import { type ExecutorEvent, readJournal } from "@lifeboat/core";
import { editGrubenv } from "@lifeboat/grub";
import { ok, type ResultAsync } from "neverthrow";
import { effect, fail, must } from "./_internal/await.js";
import { exists } from "./_internal/fs.js";
import { oneShotChanges, releasedChanges } from "./_internal/grubenv-arm.js";
import type { ResetError } from "./errors.js";
import { executeReset, resetJournalPaths, resumeReset } from "./execute.js";
import { inspect } from "./inspect.js";
import { plan as makePlan } from "./plan.js";
import { cancelScheduledReset, grubDirOf, readScheduledReset } from "./schedule.js";
import type { ResetEnvironment } from "./steps/context.js";

/** Options of {@link runScheduledReset}. */
export interface RunScheduledResetOptions {
  /**
   * The `sha256:` digest of the request, as the unit was written with it
   * (`reset run-scheduled --digest`): a request with another digest is not run.
   */
  readonly digest: string;
  /**
   * The grubenv file relative to /boot whose `next_entry` keeps the reset entry
   * while the reset runs (default `grubenv` in GRUB's directory, `grub2/` or
   * `grub/`, as {@link scheduleResetOn} chose it; none when /boot has neither).
   */
  readonly grubenv?: string | undefined;
  readonly onProgress?: (event: ExecutorEvent) => void;
  /** What the run decided, as it goes, for a front end to tell. */
  readonly onEvent?: (event: ScheduledRunEvent) => void;
  readonly signal?: AbortSignal;
}

/** A decision of {@link runScheduledReset}, told as it is taken. */
export type ScheduledRunEvent =
  /** An unfinished reset's journal was found: it is resumed, the request is not read. */
  | { readonly kind: "resuming" }
  /** The request was planned on the machine as found; this plan runs now. */
  | {
      readonly kind: "planned";
      readonly planKind: string;
      readonly steps: number;
      readonly digest: string;
    }
  /** The reset is done but the schedule (request, unit, entry) was not removed: not a failure. */
  | { readonly kind: "cleanup-failed"; readonly error: ResetError };

/** What {@link runScheduledReset} did. */
export type ScheduledRunOutcome =
  /** An interrupted reset was resumed and finished; the schedule is removed. */
  | { readonly action: "resumed"; readonly planDigest: string }
  /** The scheduled request was planned, executed and finished; the schedule is removed. */
  | { readonly action: "executed"; readonly planDigest: string }
  /** No request is on the top level: nothing was done. */
  | { readonly action: "nothing-scheduled" };

/**
 * Run the reset scheduled by {@link scheduleResetOn}, as its systemd unit does
 * on the boot that takes the reset entry (`lifeboat reset run-scheduled`):
 *
 * 1. an unfinished reset (the journal is not `done`) is resumed: a power cut
 *    during the scheduled reset ends here on the next boot;
 * 2. otherwise the request on the top level is read and checked against
 *    `digest` (`PRECONDITION_FAILED` when it differs: nothing is run, and the
 *    reset entry is let go of as when nothing is scheduled, so that later boots
 *    do not keep coming back to a reset that will not run), the reset entry
 *    is made the next boot's again and that boot's only (`next_entry` set,
 *    `saved_entry` given back: a power cut from here on comes back to it once),
 *    the request is planned on the machine as found and the plan executed,
 *    journaled;
 * 3. when the reset is done, the schedule is removed (request, unit, entry,
 *    `next_entry`); trouble removing it is told (`cleanup-failed`), not returned.
 *
 * When planning or executing fails, `next_entry` is cleared and `saved_entry`
 * given back (the next boot is the system as it is) and the error returned; a
 * failed execution leaves its journal for `resumeReset`. Resuming sets
 * `next_entry` again as it starts, as a new run does.
 *
 * @example
 * ```ts
 * const r = await runScheduledReset(
 *   { runner, top: "/run/lifeboat/top", boot: "/boot" },
 *   { digest: "sha256:…", onEvent: (e) => console.log(e.kind), onProgress },
 * );
 * r.match(
 *   (done) => console.log(done.action), // "executed", "resumed" or "nothing-scheduled"
 *   (e) => console.error(`${e.code}: ${e.message}`),
 * );
 * ```
 */
export function runScheduledReset(
  env: Pick<ResetEnvironment, "runner" | "top"> & { readonly boot: string },
  options: RunScheduledResetOptions,
): ResultAsync<ScheduledRunOutcome, ResetError> {
  const { runner, top, boot } = env;
  const onEvent = options.onEvent ?? (() => {});
  const run = { runner, top, boot };
  const progress = {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return effect(async () => {
    const grubenv =
      options.grubenv ??
      (await grubDirOf(boot).then((dir) => (dir === undefined ? undefined : `${dir}/grubenv`)));
    // As the reset starts: the boot after this one (only) comes back to the
    // reset entry; when it ends without finishing: the system as it is.
    const setGrubenv = (decide: typeof releasedChanges) =>
      grubenv === undefined ? ok(undefined) : editGrubenv(path.join(boot, grubenv), decide);
    // The reset is done: clean-up trouble is told, not a failure (the unit must still reboot).
    const finish = async () => {
      const r = await cancelScheduledReset(runner, {
        top,
        boot,
        ...(grubenv === undefined ? {} : { grubenv }),
      });
      if (r.isErr()) onEvent({ kind: "cleanup-failed", error: r.error });
    };

    const { journalPath } = resetJournalPaths(top);
    const journal = (await exists(journalPath)) ? await readJournal(journalPath) : undefined;
    if (journal?.isOk() && journal.value.status !== "done") {
      onEvent({ kind: "resuming" });
      // GRUB cleared next_entry to boot here: a power cut during the resume comes back too.
      // Best effort: a /boot that cannot be written must not keep the reset from finishing.
      await setGrubenv(oneShotChanges);
      const summary = await must(resumeReset(run, progress));
      await finish();
      return { action: "resumed", planDigest: summary.planDigest } as const;
    }

    const read = await readScheduledReset(top, { expectedDigest: options.digest });
    if (read.isErr() || read.value === undefined) {
      // Nothing to run (or not this one): later boots must not keep coming back here.
      await must(setGrubenv(releasedChanges));
      if (read.isErr()) return fail(read.error);
      return { action: "nothing-scheduled" } as const;
    }
    const found = read.value;
    // A power cut from here on brings the next boot back to this entry (GRUB cleared the one-shot).
    await must(setGrubenv(oneShotChanges));
    const planned = await inspect(runner, { top, boot, measureSizes: true }).andThen((state) =>
      makePlan(state, found.request),
    );
    if (planned.isErr()) {
      await must(setGrubenv(releasedChanges));
      return fail(planned.error);
    }
    const p = planned.value;
    onEvent({ kind: "planned", planKind: p.kind, steps: p.steps.length, digest: p.digest });
    const executed = await executeReset(run, p, { confirm: p.digest, ...progress });
    if (executed.isErr()) {
      // Leave the journal for `resumeReset`; boot the system as it is next time.
      await setGrubenv(releasedChanges);
      return fail(executed.error);
    }
    await finish();
    return { action: "executed", planDigest: p.digest } as const;
  }, "run the scheduled reset");
}
