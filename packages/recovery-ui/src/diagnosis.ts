import { formatBytes, type LifeboatError } from "@lifeboat/core";
import type { SystemState } from "@lifeboat/reset";
import type { Messages } from "./messages/catalog.js";

/** How a finding is shown: fine, worth knowing, or a problem. */
export type Tone = "ok" | "info" | "warn" | "bad";

/** One line of the diagnosis. */
export interface Finding {
  readonly tone: Tone;
  readonly text: string;
}

/** The machine's state in plain words, most important first. */
export function diagnose(state: SystemState, t: Messages): Finding[] {
  const out: Finding[] = [];
  if (state.unfinishedPlan)
    out.push({ tone: "bad", text: t.unfinished(state.unfinishedPlan.title) });
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
  for (const os of state.otherOses)
    out.push({ tone: "warn", text: t.otherOs(os.name, formatBytes(os.bytes)) });
  return out;
}

/** An error in plain words for a person, from the catalog where it knows the code. */
export function plainError(error: LifeboatError, t: Messages): string {
  return t.errors[error.code] ?? error.message;
}
