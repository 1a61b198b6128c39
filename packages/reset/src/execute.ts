import { mkdir, open, rm } from "node:fs/promises";
import path from "node:path";
import {
  type ExecutionSummary,
  type ExecutorError,
  type ExecutorEvent,
  execute,
  fsyncDirectory,
  type JournalRecord,
  journalFiles,
  type Plan,
  readJournal,
  resume,
} from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { PlanTextError } from "./errors.js";
import { withBtrfsAgent } from "./_internal/btrfs.js";
import { io } from "./_internal/fs.js";
import { createResetHandlers } from "./handlers.js";
import { JOURNAL_FILE, LIFEBOAT_DIR, LOCK_FILE } from "./layout.js";
import { checkPlanText } from "./plan-text.js";
import type { ResetEnvironment } from "./steps/context.js";

/** Options of {@link executeReset}. */
export interface ExecuteResetOptions {
  /** The digest of the plan the user accepted. */
  readonly confirm?: string;
  readonly onProgress?: (event: ExecutorEvent) => void;
  readonly signal?: AbortSignal;
}

/** The journal and lock paths of a reset on the Btrfs mounted at `top`. */
export function resetJournalPaths(top: string): { journalPath: string; lockPath: string } {
  return { journalPath: path.join(top, JOURNAL_FILE), lockPath: path.join(top, LOCK_FILE) };
}

/**
 * Move a finished journal aside so the next plan starts a fresh one: its
 * newest record is written to `.lifeboat/journals/` (fsynced: on Btrfs that
 * also makes a new file's name durable), then both slots are removed. The
 * removal needs no fsync of its own: the new run's first journal write
 * fsyncs the same directory, and until then a power cut only brings the
 * finished journal back, which is archived again (to the same name).
 */
function archiveFinishedJournal(top: string): ResultAsync<void, ExecutorError> {
  const { journalPath } = resetJournalPaths(top);
  return readJournal(journalPath)
    .map((j): JournalRecord | undefined => j)
    .orElse(() => okAsync<JournalRecord | undefined, ExecutorError>(undefined))
    .andThen((j) => {
      if (j === undefined || j.status !== "done") return okAsync(undefined);
      const dir = path.join(top, LIFEBOAT_DIR, "journals");
      const dest = path.join(
        dir,
        `${(j.finishedAt ?? "").replace(/[-:.]/g, "")}-${j.planDigest.slice(7, 19)}.json`,
      );
      return io(
        (async () => {
          // The first archive ever creates the directory: its name is made durable once.
          if ((await mkdir(dir, { recursive: true })) !== undefined)
            await fsyncDirectory(path.dirname(dir));
          const file = await open(dest, "w", 0o644);
          try {
            await file.writeFile(`${JSON.stringify(j, null, 2)}\n`);
            await file.sync();
          } finally {
            await file.close();
          }
          for (const slot of journalFiles(journalPath)) await rm(slot, { force: true });
        })(),
        journalPath,
        "archive the finished journal",
      );
    });
}

/**
 * Run a reset plan with the reset's handlers, journaled on the target Btrfs
 * (`.lifeboat/journal.json` in the top level) under an executor lock. A
 * destructive plan needs `confirm` equal to its digest. A finished journal
 * of an earlier plan is archived first; an unfinished one must be resumed
 * first (`JOURNAL_PLAN_MISMATCH`). A plan whose words are not what its
 * parameters give, or whose parameters do not fit their kinds (see
 * {@link checkPlanText}), is refused before anything is written.
 *
 * @example
 * ```ts
 * const r = await executeReset({ runner, top: "/mnt/top", boot: "/mnt/boot" }, plan, {
 *   confirm: acceptedDigest,
 *   onProgress: (e) => ui.update(e),
 * });
 * ```
 */
export function executeReset(
  env: ResetEnvironment,
  plan: Plan,
  options: ExecuteResetOptions = {},
): ResultAsync<ExecutionSummary, ExecutorError | PlanTextError> {
  const checked = checkPlanText(plan);
  if (checked.isErr()) return errAsync(checked.error);
  const paths = resetJournalPaths(env.top);
  return withBtrfsAgent(env.runner, () => {
    return io(mkdir(path.join(env.top, LIFEBOAT_DIR), { recursive: true }), env.top, "mkdir")
      .andThen(() => archiveFinishedJournal(env.top))
      .andThen(() =>
        execute(plan, createResetHandlers(env), {
          ...paths,
          ...(options.confirm === undefined ? {} : { confirm: options.confirm }),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
  });
}

/**
 * Finish an interrupted reset (crash, power loss, kill) from its journal on
 * the target Btrfs: finished steps are skipped, the interrupted one re-runs
 * and decides from the disk what is already done. The journal's plan is
 * checked like {@link executeReset}'s first ({@link checkPlanText}); one that
 * fails is not run and the journal is left as it is.
 *
 * @example
 * ```ts
 * await resumeReset({ runner, top: "/mnt/top", boot: "/mnt/boot" });
 * ```
 */
export function resumeReset(
  env: ResetEnvironment,
  options: Omit<ExecuteResetOptions, "confirm"> = {},
): ResultAsync<ExecutionSummary, ExecutorError | PlanTextError> {
  const { journalPath, lockPath } = resetJournalPaths(env.top);
  if (!env.top)
    return errAsync({ code: "INVALID_ARGUMENT", message: "top is required", argument: "top" });
  return readJournal(journalPath)
    .andThen((journal): ResultAsync<void, PlanTextError> => {
      const checked = checkPlanText(journal.plan);
      return checked.isErr() ? errAsync(checked.error) : okAsync(undefined);
    })
    .andThen(() =>
      withBtrfsAgent(env.runner, () =>
        resume(journalPath, createResetHandlers(env), {
          lockPath,
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      ),
    );
}
