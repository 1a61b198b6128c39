import { mkdir } from "node:fs/promises";
import path from "node:path";
import {
  type ExecutionSummary,
  type ExecutorEvent,
  execute,
  type IoFailedError,
  ioError,
  type JournalRecord,
  type Plan,
  readJournal,
  resume,
} from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { holdingBtrfs } from "./_internal/btrfs.js";
import { io } from "./_internal/fs.js";
import { isFilesystem } from "./_internal/fs-identity.js";
import { archiveJournal } from "./_internal/journal-archive.js";
import type { PlanTextError, ResetExecutionError, WrongTargetError } from "./errors.js";
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
 * The plan is for the Btrfs mounted at `top` (its `target` is `btrfs:<uuid>`):
 * checked before any journal is written, so a plan for another disk leaves nothing.
 */
function checkTarget(
  env: ResetEnvironment,
  plan: Plan,
): ResultAsync<void, WrongTargetError | IoFailedError> {
  const uuid = /^btrfs:([0-9a-f-]{36})$/i.exec(plan.target)?.[1];
  if (uuid === undefined) return okAsync(undefined);
  return isFilesystem(env.runner, env.top, uuid)
    .mapErr((e) => ioError(e, env.top, "tell which filesystem is mounted"))
    .andThen((same) =>
      same
        ? okAsync<void, WrongTargetError>(undefined)
        : errAsync<void, WrongTargetError>({
            code: "RESET_WRONG_TARGET",
            message: `This plan is for the Btrfs filesystem ${uuid}, not the one of this machine; make a new plan here. Nothing was changed.`,
            planned: uuid,
          }),
    );
}

/** Archive a finished journal of an earlier plan, so that it never blocks the next one. */
function archiveFinishedJournal(top: string): ResultAsync<void, IoFailedError> {
  return readJournal(resetJournalPaths(top).journalPath)
    .map((j): JournalRecord | undefined => j)
    .orElse(() => okAsync<JournalRecord | undefined, IoFailedError>(undefined))
    .andThen((j) =>
      j === undefined || j.status !== "done"
        ? okAsync(undefined)
        : archiveJournal(top, j).map(() => undefined),
    );
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
): ResultAsync<ExecutionSummary, ResetExecutionError | PlanTextError | WrongTargetError> {
  const checked = checkPlanText(plan);
  if (checked.isErr()) return errAsync(checked.error);
  const paths = resetJournalPaths(env.top);
  return holdingBtrfs(env.runner, env.top, () => {
    return checkTarget(env, plan)
      .andThen(() =>
        io(mkdir(path.join(env.top, LIFEBOAT_DIR), { recursive: true }), env.top, "mkdir"),
      )
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
): ResultAsync<ExecutionSummary, ResetExecutionError | PlanTextError> {
  const { journalPath, lockPath } = resetJournalPaths(env.top);
  if (!env.top)
    return errAsync({ code: "INVALID_ARGUMENT", message: "top is required", argument: "top" });
  return readJournal(journalPath)
    .andThen((journal): ResultAsync<void, PlanTextError> => {
      const checked = checkPlanText(journal.plan);
      return checked.isErr() ? errAsync(checked.error) : okAsync(undefined);
    })
    .andThen(() =>
      holdingBtrfs(env.runner, env.top, () =>
        resume(journalPath, createResetHandlers(env), {
          lockPath,
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      ),
    );
}
