import type { LifeboatError } from "@lifeboat/core";
import type { SystemState } from "@lifeboat/reset";
import type { ExplainedErrorCode, Messages } from "./messages/catalog.js";
import { shownPlanTitle } from "./plan-words.js";

/** How a finding is shown: fine, worth knowing, or a problem. */
export type Tone = "ok" | "info" | "warn" | "bad";

/** One line of the diagnosis. */
export interface Finding {
  readonly tone: Tone;
  readonly text: string;
}

/** `20261205T070000Z` as `2026-12-05 07:00 UTC`. */
export function readableStamp(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})/.exec(stamp);
  return m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]} UTC` : stamp;
}

/** The machine's state in plain words, most important first. */
export function diagnose(state: SystemState, t: Messages): Finding[] {
  const out: Finding[] = [];
  if (state.unfinishedPlan)
    out.push({
      tone: "bad",
      text: t.unfinished(shownPlanTitle(state.unfinishedPlan.kind, state.unfinishedPlan.title, t)),
    });
  const btrfs = state.btrfs;
  const root = state.rootMount?.subvolume;
  const rootThere = root !== undefined && btrfs?.subvolumes.some((s) => s.path === root);
  out.push(
    rootThere ? { tone: "ok", text: t.rootPresent(root) } : { tone: "bad", text: t.rootMissing },
  );
  if (!state.factory) out.push({ tone: "warn", text: t.factoryMissing });
  else if (!state.factory.intact) out.push({ tone: "bad", text: t.factoryDamaged });
  else out.push({ tone: "ok", text: t.factoryIntact(state.factory.product, state.factory.build) });
  const rec = state.recovery;
  if (!rec) out.push({ tone: "warn", text: t.recoveryMissing });
  else if (rec.verified)
    out.push({ tone: "ok", text: t.recoveryVerified(rec.product ?? "", rec.build ?? "") });
  else {
    // The problem in the catalog's words when the SDK gives its code.
    const problem = rec.problemCode
      ? explainError({ code: rec.problemCode, message: rec.problem ?? "" }, t).what
      : (rec.problem ?? "");
    out.push({ tone: "warn", text: t.recoveryNotVerified(problem) });
  }
  if (btrfs?.encryptedOn) out.push({ tone: "info", text: t.encrypted(btrfs.encryptedOn) });
  if (btrfs)
    out.push({
      tone: btrfs.freeBytes < btrfs.sizeBytes / 20 ? "warn" : "info",
      text: t.freeSpace(t.bytes(btrfs.freeBytes), t.bytes(btrfs.sizeBytes)),
    });
  const snapshots = (state.checkpoints ?? []).filter((c) => !c.factory).length;
  if (snapshots > 0) out.push({ tone: "info", text: t.snapshots(snapshots) });
  const kept = state.keptRoots?.at(-1);
  if (kept) out.push({ tone: "info", text: t.keptRoot(readableStamp(kept.stamp)) });
  for (const os of state.otherOses)
    out.push({ tone: "warn", text: t.otherOs(os.name, t.bytes(os.bytes)) });
  return out;
}

/** An error explained: what happened, what is still safe, what to do next, all from the catalog. */
export interface ExplainedError {
  readonly what: string;
  readonly safe: string;
  readonly next: string;
}

/** Where an error was met: before anything ran, while a plan ran, while a rescue copy ran. */
export type ErrorPlace = "before" | "run" | "rescue";

/**
 * An error in the catalog's words: a code it knows gives what happened,
 * what is still safe and what to do next; any other code gives
 * "unexpected error CODE: message" in the catalog's language.
 */
export function explainError(
  error: LifeboatError,
  t: Messages,
  place: ErrorPlace = "before",
): ExplainedError {
  const known = Object.hasOwn(t.errors, error.code)
    ? t.errors[error.code as ExplainedErrorCode]
    : undefined;
  if (!known)
    return {
      what: t.unexpectedError(error.code, error.message),
      safe: place === "before" ? t.errorSafe["nothing-changed"] : t.failedSafe,
      next: place === "before" ? t.errorNext.support : t.errorNext.retry,
    };
  const safe = place === "rescue" && known.safe === "recorded" ? "copy-only" : known.safe;
  return { what: known.what, safe: t.errorSafe[safe], next: t.errorNext[known.next] };
}

/** An error in plain words for a person, in one line (a choice that is not possible, a rescue folder). */
export function plainError(error: LifeboatError, t: Messages): string {
  return explainError(error, t).what;
}
