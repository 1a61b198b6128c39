import { formatBytes, type LifeboatError } from "@lifeboat/core";
import type { SystemState } from "@lifeboat/reset";
import type { Messages } from "./messages/catalog.js";
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
  else out.push({ tone: "warn", text: t.recoveryNotVerified(rec.problem ?? "") });
  if (btrfs?.encryptedOn) out.push({ tone: "info", text: t.encrypted(btrfs.encryptedOn) });
  if (btrfs)
    out.push({
      tone: btrfs.freeBytes < btrfs.sizeBytes / 20 ? "warn" : "info",
      text: t.freeSpace(formatBytes(btrfs.freeBytes), formatBytes(btrfs.sizeBytes)),
    });
  const snapshots = (state.checkpoints ?? []).filter((c) => !c.factory).length;
  if (snapshots > 0) out.push({ tone: "info", text: t.snapshots(snapshots) });
  const kept = state.keptRoots?.at(-1);
  if (kept) out.push({ tone: "info", text: t.keptRoot(readableStamp(kept.stamp)) });
  for (const os of state.otherOses)
    out.push({ tone: "warn", text: t.otherOs(os.name, formatBytes(os.bytes)) });
  return out;
}

/** An error in plain words for a person, from the catalog where it knows the code. */
export function plainError(error: LifeboatError, t: Messages): string {
  return t.errors[error.code] ?? error.message;
}
