import { readFile } from "node:fs/promises";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { z } from "zod";
import { parseSlot, readSlot, SLOT_B_SUFFIX, type SlotContent } from "./_internal/journal-slots.js";
import { type IoFailedError, ioError, type JournalError, type LifeboatError } from "./errors.js";
import type { Plan } from "./plan.js";

/** Where a journaled run stands. */
export type JournalStatus = "running" | "done" | "failed";

/** An error as the journal keeps it: its code, message and plain fields (no `cause`). */
export interface JournaledError {
  readonly code: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

/**
 * The executor's journal: a small JSON record, written durably at the start
 * of a run and at every step boundary (see {@link journalFiles} for how), from
 * which {@link resume} finishes an interrupted run and a recovery UI shows
 * what was interrupted.
 */
export interface JournalRecord {
  readonly version: 1;
  /** The whole plan being run. */
  readonly plan: Plan;
  /** The digest the run was confirmed with (equal to `plan.digest`). */
  readonly planDigest: string;
  readonly status: JournalStatus;
  /** Ids of the steps that finished, in order. */
  readonly completedStepIds: readonly string[];
  /** The step that was running when the journal was last written, or null between steps. */
  readonly currentStepId: string | null;
  /** How many times the run was started (1, then +1 for each resume). */
  readonly attempt: number;
  /** ISO times. */
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  /** The error that stopped the last attempt, or null. */
  readonly lastError: JournaledError | null;
}

const stepSchema = z.object({
  id: z.string(),
  kind: z.string(),
  title: z.string(),
  params: z.record(z.string(), z.unknown()),
  destroys: z.array(z.record(z.string(), z.unknown())),
  reversible: z.boolean(),
  preconditions: z.array(z.string()),
});

const journalSchema = z.object({
  version: z.literal(1),
  plan: z.looseObject({
    version: z.literal(1),
    kind: z.string(),
    title: z.string(),
    target: z.string(),
    steps: z.array(stepSchema),
    warnings: z.array(z.string()),
    digest: z.string(),
  }),
  planDigest: z.string(),
  status: z.enum(["running", "done", "failed"]),
  completedStepIds: z.array(z.string()),
  currentStepId: z.string().nullable(),
  attempt: z.number().int().positive(),
  startedAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  lastError: z.looseObject({ code: z.string(), message: z.string() }).nullable(),
});

function journalError(
  code: JournalError["code"],
  journalPath: string,
  message: string,
  cause?: unknown,
): JournalError {
  return { code, message, journalPath, ...(cause === undefined ? {} : { cause }) };
}

/**
 * Read and validate a journal file. A recovery UI calls this at start to show
 * what was interrupted (`status`, `currentStepId`, the plan's step titles).
 * Its plan's digest is not checked here; {@link resume} does that.
 *
 * @example
 * ```ts
 * const j = await readJournal("/var/lib/lifeboat/reset.journal");
 * if (j.isOk() && j.value.status !== "done") {
 *   const step = j.value.plan.steps.find((s) => s.id === j.value.currentStepId);
 *   console.log(`Interrupted during: ${step?.title ?? "between steps"}`);
 * }
 * ```
 */
export function readJournal(
  journalPath: string,
): ResultAsync<JournalRecord, JournalError | IoFailedError> {
  return ResultAsync.fromPromise(readFile(journalPath, "utf8"), (e) =>
    (e as NodeJS.ErrnoException).code === "ENOENT"
      ? journalError("JOURNAL_NOT_FOUND", journalPath, `There is no journal at ${journalPath}.`, e)
      : ioError(e, journalPath, "read"),
  )
    .andThen((a) =>
      ResultAsync.fromPromise(readSlot(`${journalPath}${SLOT_B_SUFFIX}`), (e) =>
        ioError(e, `${journalPath}${SLOT_B_SUFFIX}`, "read"),
      ).map((b) => [a, b] as const),
    )
    .andThen(([a, b]) => {
      // The newest whole record of the two slots (a slot torn by a power cut fails its checksum).
      let newest: SlotContent | undefined;
      for (const text of [a, b]) {
        const slot = text === undefined ? undefined : parseSlot(text);
        if (slot && (newest === undefined || slot.seq > newest.seq)) newest = slot;
      }
      if (newest === undefined) {
        return errAsync(
          journalError(
            "JOURNAL_CORRUPT",
            journalPath,
            `The journal ${journalPath} is not JSON, or fails its checksum.`,
          ),
        );
      }
      const parsed = journalSchema.safeParse(newest.value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return errAsync(
          journalError(
            "JOURNAL_CORRUPT",
            journalPath,
            `The journal ${journalPath} is damaged (${issue?.path.join(".") ?? ""}: ${issue?.message ?? "bad shape"}).`,
            parsed.error,
          ),
        );
      }
      return okAsync(parsed.data as unknown as JournalRecord);
    });
}

/**
 * The files a journal occupies: `journalPath` and its second slot
 * (`journalPath` + `.b`), for a caller that moves or deletes a finished
 * journal. The executor writes the newest record to the slot not holding
 * the one before it (one fdatasync per step boundary, no rename), so a
 * power cut mid-write leaves the previous record whole; {@link readJournal}
 * returns the newest whole record of the two.
 *
 * @example
 * ```ts
 * for (const file of journalFiles("/mnt/top/.lifeboat/journal.json")) await rm(file, { force: true });
 * ```
 */
export function journalFiles(journalPath: string): readonly [string, string] {
  return [journalPath, `${journalPath}${SLOT_B_SUFFIX}`];
}

/** Keep an error's code, message and plain fields; drop `cause` chains that may not serialise. */
export function journaledError(error: LifeboatError): JournaledError {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(error)) {
    if (k === "cause") continue;
    if (v === undefined || ["string", "number", "boolean"].includes(typeof v) || v === null)
      out[k] = v;
    else {
      try {
        out[k] = JSON.parse(JSON.stringify(v));
      } catch {
        out[k] = String(v);
      }
    }
  }
  const cause = error.cause;
  if (typeof cause === "object" && cause !== null && "code" in cause && "message" in cause)
    out.cause = journaledError(cause as LifeboatError);
  return { ...out, code: error.code, message: error.message };
}
