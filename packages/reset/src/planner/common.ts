import { err, ok, type Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { FACTORY_ROOT, HOME_SUBVOLUME, isValidStamp, stampedSubvolumes } from "../layout.js";
import type { BtrfsState, OtherOs, PartitionState, SubvolumeState, SystemState } from "../state.js";
import { type PlannedWarning, planWarning } from "../warnings.js";
import { formatBytes } from "./words.js";

export { SNAPSHOT_HEADROOM_BYTES } from "../layout.js";

/** The Btrfs, open (not a locked LUKS container). */
export function requireBtrfs(state: SystemState): Result<BtrfsState, ResetPlanError> {
  const locked = state.disks
    .flatMap((d) => d.partitions)
    .find((p) => p.luks !== undefined && p.luks.openAs === undefined);
  if (state.btrfs === undefined) {
    if (locked) {
      return err({
        code: "RESET_ENCRYPTED_LOCKED",
        message: `The system is inside the encrypted volume ${locked.device}; unlock it first.`,
        device: locked.device,
      });
    }
    return err({
      code: "RESET_UNSUPPORTED_LAYOUT",
      message: "No Btrfs filesystem with the system was found.",
      missing: "btrfs",
    });
  }
  return ok(state.btrfs);
}

/**
 * Check a request's time stamp: well formed, and not used by an earlier reset
 * (its `root.old-<stamp>` or another name it made is still on the Btrfs: the
 * new plan would fail half way, at the swap).
 */
export function requireStamp(state: SystemState, stamp: string): Result<string, ResetPlanError> {
  if (!isValidStamp(stamp))
    return err({
      code: "RESET_BAD_REQUEST",
      message: `The time stamp ${JSON.stringify(stamp)} is not of the form 20261125T200000Z.`,
      field: "stamp",
    });
  const names = new Set(stampedSubvolumes(stamp));
  const taken = (state.btrfs?.subvolumes ?? []).filter((s) => names.has(s.path)).map((s) => s.path);
  return taken.length === 0
    ? ok(stamp)
    : err({
        code: "RESET_BAD_REQUEST",
        message: `The time stamp ${stamp} was used by an earlier reset (${taken.map((t) => `${t} exists`).join("; ")}); plan again with a new time stamp.`,
        field: "stamp",
      });
}

/** Find a subvolume by path. */
export function subvolume(btrfs: BtrfsState, path: string): SubvolumeState | undefined {
  return btrfs.subvolumes.find((s) => s.path === path);
}

/** Require a named subvolume. */
export function requireSubvolume(
  btrfs: BtrfsState,
  path: string,
): Result<SubvolumeState, ResetPlanError> {
  const found = subvolume(btrfs, path);
  return found
    ? ok(found)
    : err({
        code: "RESET_UNSUPPORTED_LAYOUT",
        message: `The Btrfs has no subvolume ${path}.`,
        missing: `subvolume ${path}`,
      });
}

/** Refuse when anything under `prefixes` is busy. */
export function requireNotBusy(
  state: SystemState,
  what: readonly string[],
): Result<void, ResetPlanError> {
  const busy = state.busy.filter((p) => what.some((w) => p === w || p.startsWith(`${w}/`)));
  return busy.length === 0
    ? ok(undefined)
    : err({
        code: "RESET_TARGET_BUSY",
        message: `In use: ${busy.join(", ")}. Close the programs using them, or run the reset from the recovery environment.`,
        paths: busy,
      });
}

/** Refuse when the Btrfs has less free space than needed. */
export function requireSpace(
  where: string,
  neededBytes: number,
  availableBytes: number,
): Result<void, ResetPlanError> {
  return availableBytes >= neededBytes
    ? ok(undefined)
    : err({
        code: "RESET_INSUFFICIENT_SPACE",
        message: `Not enough free space on ${where}: ${formatBytes(neededBytes)} needed, ${formatBytes(availableBytes)} free.`,
        where,
        neededBytes,
        availableBytes,
      });
}

/** The factory snapshot, present and matching its manifest. */
export function requireFactory(
  state: SystemState,
  btrfs: BtrfsState,
): Result<SubvolumeState, ResetPlanError> {
  const snap = subvolume(btrfs, FACTORY_ROOT);
  if (state.factory === undefined || snap === undefined) {
    return err({
      code: "RESET_NO_FACTORY_SNAPSHOT",
      message:
        "There is no factory snapshot on this machine; reset from the recovery partition instead.",
      expectedPath: FACTORY_ROOT,
      reason: "missing",
    });
  }
  if (!state.factory.intact || snap.uuid !== state.factory.snapshotUuid || !snap.readOnly) {
    return err({
      code: "RESET_NO_FACTORY_SNAPSHOT",
      message:
        "The factory snapshot does not match its manifest (changed or writable); reset from the recovery partition instead.",
      expectedPath: FACTORY_ROOT,
      reason: "damaged",
    });
  }
  return ok(snap);
}

/** The recovery image set, verified in this session: its identity and the root's size. */
export function requireVerifiedImage(
  state: SystemState,
): Result<{ imageSet: string; rootBytes: number }, ResetPlanError> {
  const r = state.recovery;
  if (r === undefined || (r.digest === undefined && r.imageDir === undefined)) {
    return err({
      code: "RESET_IMAGE_NOT_VERIFIED",
      message: "No recovery image set was found on this machine.",
      reason: "missing",
    });
  }
  if (!r.verified || r.digest === undefined) {
    return err({
      code: "RESET_IMAGE_NOT_VERIFIED",
      message: `The recovery image set was not verified: ${r.problem ?? "verify it first"}.`,
      reason: r.problem ?? "not verified",
    });
  }
  return ok({ imageSet: r.digest, rootBytes: r.rootBytes ?? 0 });
}

/**
 * Anti-rollback: refuse a verified set whose security epoch is below the
 * floor in the state, unless the request carries an override; then the
 * plan says so in a warning (none when the set is not older).
 */
export function requireEpoch(
  state: SystemState,
  allowRollback: { readonly reason: string } | undefined,
): Result<PlannedWarning[], ResetPlanError> {
  const r = state.recovery;
  const securityEpoch = r?.securityEpoch ?? 0;
  const floor = r?.epochFloor;
  if (floor === undefined || securityEpoch >= floor) return ok([]);
  if (allowRollback === undefined)
    return err({
      code: "RESET_IMAGE_ROLLBACK",
      message: `The recovery image set has security epoch ${securityEpoch}, older than ${floor}, the highest installed on this machine or the OEM minimum: an older image may have known holes. A service engineer can override with a reason (--allow-rollback).`,
      securityEpoch,
      floorEpoch: floor,
    });
  if (allowRollback.reason.trim() === "")
    return err({
      code: "RESET_BAD_REQUEST",
      message: "A rollback override needs a reason (it is written to the rollback log).",
      field: "allowRollback.reason",
    });
  return ok([
    planWarning("rollback-allowed", {
      securityEpoch,
      floorEpoch: floor,
      reason: allowRollback.reason,
    }),
  ]);
}

/** Loud warnings for other operating systems and encrypted volumes (partitions by number and GUID, never by device node). */
export function warningsFor(state: SystemState, destroysOtherOses: boolean): PlannedWarning[] {
  const warnings: PlannedWarning[] = [];
  for (const os of state.otherOses) {
    const partitions = osPartitions(state, os).map((p) => p.number);
    warnings.push(
      destroysOtherOses
        ? planWarning("other-os-erased", { name: os.name, bytes: os.bytes, partitions })
        : planWarning("other-os-kept", { name: os.name, partitions }),
    );
  }
  for (const p of state.disks.flatMap((d) => d.partitions)) {
    if (p.luks === undefined) continue;
    warnings.push(
      planWarning("encrypted-volume", {
        partition: identityOf(p),
        luksVersion: p.luks.version,
        open: p.luks.openAs !== undefined,
      }),
    );
  }
  return warnings;
}

/** A partition's identity for words and plans: number, GPT name, unique GUID. */
export function identityOf(p: PartitionState): {
  number: number;
  partUuid: string;
  name?: string;
} {
  return {
    number: p.number,
    partUuid: p.partUuid ?? "unknown",
    ...(p.name ? { name: p.name } : {}),
  };
}

/** The partitions another operating system lives on, in its order. */
export function osPartitions(state: SystemState, os: OtherOs): PartitionState[] {
  const all = state.disks.flatMap((d) => d.partitions);
  return os.devices.flatMap((dev) => all.filter((p) => p.device === dev));
}

/** What home holds, for the exchange that takes it out of use: its size and nested subvolumes. */
export function homeContents(btrfs: BtrfsState): {
  bytes?: number;
  nested: { path: string; bytes?: number }[];
} {
  const home = subvolume(btrfs, HOME_SUBVOLUME);
  const nested = btrfs.subvolumes
    .filter((s) => s.path.startsWith(`${HOME_SUBVOLUME}/`))
    .map((s) => ({ path: s.path, ...(s.bytes === undefined ? {} : { bytes: s.bytes }) }));
  return { ...(home?.bytes === undefined ? {} : { bytes: home.bytes }), nested };
}
