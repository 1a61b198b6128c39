import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import {
  acquireLock,
  type JournalRecord,
  type PlanStep,
  readJournal,
  resolveInside,
} from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import { effect, fail, must } from "./_internal/await.js";
import { deleteSubvolume, holdingBtrfs, subvolumesAt } from "./_internal/btrfs.js";
import { archiveJournal } from "./_internal/journal-archive.js";
import type { CannotAbandonError, ResetError } from "./errors.js";
import { resetJournalPaths } from "./execute.js";
import { isStepKind, parseStep, STEP_CATALOGUE } from "./steps/catalogue.js";
import { intentFile, type ResetEnvironment } from "./steps/context.js";
import { MAKES_NOTHING, type StepMade } from "./steps/define.js";
import type { ExchangeIntent } from "./steps/subvolume-steps.js";

/** What {@link abandonReset} did. */
export interface AbandonSummary {
  /** The abandoned plan's digest, or `undefined` when there was no unfinished run. */
  readonly planDigest: string | undefined;
  /** What the run had made and was removed (subvolumes and directories, relative to their filesystem). */
  readonly removed: readonly string[];
  /** Where the journal was archived, relative to the Btrfs top level. */
  readonly archivedAs: string | undefined;
}

/** Step kinds after which the old system cannot simply come back: such a run must be resumed. */
const POINT_OF_NO_RETURN = new Set([
  "reset.exchange",
  "reset.rename",
  "reset.install-boot",
  "reset.remove-partitions",
]);

/** What a step of the plan created, as its catalogue entry says (nothing for a step it cannot parse). */
function madeBy(step: PlanStep): StepMade {
  if (!isStepKind(step.kind)) return MAKES_NOTHING;
  const parsed = parseStep(step, STEP_CATALOGUE[step.kind]);
  return parsed.isOk() ? parsed.value.made : MAKES_NOTHING;
}

function cannotAbandon(step: PlanStep): CannotAbandonError {
  return {
    code: "RESET_CANNOT_ABANDON",
    message: `The interrupted run is past step ${step.id} (${step.title}): the machine is already changing over, so it can only go forward. Finish it with resume.`,
    stepId: step.id,
  };
}

/**
 * Give up an unfinished run (a failed rescue, a reset that failed before the
 * new system was swapped in) and bring the machine back to how it was before
 * it: everything the run had made (snapshots, unpacked trees, staged /boot
 * files) is removed, and its journal is archived as abandoned
 * (`.lifeboat/journals/<time>-<digest>-abandoned.json`), so a new plan applies.
 *
 * A run that had passed its point of no return (the root swapped, /boot
 * replaced, partitions removed) is refused with `RESET_CANNOT_ABANDON`: there
 * the old system cannot simply come back, and `resumeReset` finishes it. No
 * unfinished run gives an empty summary. A finished journal is archived.
 *
 * @example
 * ```ts
 * const r = await abandonReset({ runner, top: machine.top, boot: machine.boot });
 * if (r.isErr() && r.error.code === "RESET_CANNOT_ABANDON") await resumeReset(env);
 * ```
 */
export function abandonReset(
  env: ResetEnvironment,
): ResultAsync<AbandonSummary, CannotAbandonError | ResetError> {
  const { journalPath, lockPath } = resetJournalPaths(env.top);
  return acquireLock(lockPath).andThen((lock) =>
    holdingBtrfs(env.runner, env.top, () =>
      effect(async () => {
        try {
          return await abandonLocked(env, journalPath);
        } finally {
          await lock.release();
        }
      }, "abandon the unfinished run"),
    ),
  );
}

/**
 * True when `step` is an exchange the run stopped in before it swapped
 * anything: its intent (both UUIDs, written before the rename) is absent, or the
 * disk still has the old subvolume where it was. Such a run has not passed its
 * point of no return (a swap refused because the new root lacked its marker, say).
 */
async function exchangeNotMade(
  env: ResetEnvironment,
  journal: JournalRecord,
  journalPath: string,
  step: PlanStep,
): Promise<boolean> {
  if (step.kind !== "reset.exchange" || journal.currentStepId !== step.id) return false;
  if (journal.completedStepIds.includes(step.id)) return false;
  const file = intentFile(path.dirname(journalPath), journal.planDigest, step.id);
  let intent: ExchangeIntent;
  try {
    intent = JSON.parse(await readFile(file, "utf8")) as ExchangeIntent;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
    return false;
  }
  const { a } = step.params as { a?: unknown };
  if (typeof a !== "string") return false;
  const [now] = await must(subvolumesAt(env.runner, env.top, [a]));
  return now !== undefined && now.uuid === intent.oldUuid;
}

async function abandonLocked(env: ResetEnvironment, journalPath: string): Promise<AbandonSummary> {
  const read = await readJournal(journalPath);
  if (read.isErr()) {
    if (read.error.code === "JOURNAL_NOT_FOUND")
      return { planDigest: undefined, removed: [], archivedAs: undefined };
    fail(read.error);
  }
  const journal: JournalRecord = read.value;
  if (journal.status === "done") {
    const archivedAs = await must(archiveJournal(env.top, journal));
    return { planDigest: undefined, removed: [], archivedAs };
  }
  const touched = journal.plan.steps.filter(
    (s) => journal.completedStepIds.includes(s.id) || journal.currentStepId === s.id,
  );
  const past = touched.find(
    (s) => POINT_OF_NO_RETURN.has(s.kind) || s.destroys.length > 0 || !s.reversible,
  );
  if (past !== undefined && !(await exchangeNotMade(env, journal, journalPath, past)))
    fail(cannotAbandon(past));
  const removed: string[] = [];
  for (const step of [...touched].reverse()) {
    const made = madeBy(step);
    for (const subvolume of made.subvolumes) {
      await must(resolveInside(env.top, subvolume));
      await must(deleteSubvolume(env.runner, env.top, subvolume));
      removed.push(subvolume);
    }
    for (const dir of made.bootDirs) {
      if (env.boot === undefined) continue;
      const abs = await must(resolveInside(env.boot, dir));
      await rm(abs, { recursive: true, force: true });
      removed.push(`/boot/${dir}`);
    }
  }
  const archivedAs = await must(archiveJournal(env.top, journal, "abandoned"));
  return { planDigest: journal.planDigest, removed, archivedAs };
}
