import type { DataLoss, JsonValue, PlanStep } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import type { ResetPlanError } from "../errors.js";
import { FACTORY_ROOT, HOME_SUBVOLUME, isValidStamp, ROOT_SUBVOLUME } from "../layout.js";
import type { BtrfsState, OtherOs, SubvolumeState, SystemState } from "../state.js";
import { count, formatBytes } from "./words.js";

/** Build a plan step. */
export function step(
  id: string,
  kind: string,
  title: string,
  params: { readonly [key: string]: JsonValue },
  options: {
    readonly destroys?: readonly DataLoss[];
    readonly reversible?: boolean;
    readonly preconditions?: readonly string[];
  } = {},
): PlanStep {
  return {
    id,
    kind,
    title,
    params,
    destroys: options.destroys ?? [],
    reversible: options.reversible ?? true,
    preconditions: options.preconditions ?? [],
  };
}

/** Metadata headroom a snapshot-based reset needs on the Btrfs. */
export const SNAPSHOT_HEADROOM_BYTES = 256 * 1024 ** 2;

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

/** Check a request's time stamp. */
export function requireStamp(stamp: string): Result<string, ResetPlanError> {
  return isValidStamp(stamp)
    ? ok(stamp)
    : err({
        code: "RESET_BAD_REQUEST",
        message: `The time stamp ${JSON.stringify(stamp)} is not of the form 20261125T200000Z.`,
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

/** The recovery image set, verified in this session. */
export function requireVerifiedImage(
  state: SystemState,
): Result<{ imageDir: string; rootBytes: number }, ResetPlanError> {
  const r = state.recovery;
  if (r === undefined || r.imageDir === undefined) {
    return err({
      code: "RESET_IMAGE_NOT_VERIFIED",
      message: "No recovery image set was found on this machine.",
      reason: "missing",
    });
  }
  if (!r.verified) {
    return err({
      code: "RESET_IMAGE_NOT_VERIFIED",
      message: `The recovery image set was not verified: ${r.problem ?? "verify it first"}.`,
      reason: r.problem ?? "not verified",
    });
  }
  return ok({ imageDir: r.imageDir, rootBytes: r.rootBytes ?? 0 });
}

/** Loud warnings for other operating systems and encrypted volumes. */
export function warningsFor(state: SystemState, destroysOtherOses: boolean): string[] {
  const warnings: string[] = [];
  for (const os of state.otherOses) {
    warnings.push(
      destroysOtherOses
        ? `${osLabel(os)} WILL BE ERASED (${formatBytes(os.bytes)} on ${os.devices.join(", ")}).`
        : `${os.name} (${os.devices.join(", ")}) is on this disk; this reset does not touch it.`,
    );
  }
  for (const p of state.disks.flatMap((d) => d.partitions)) {
    if (p.luks === undefined) continue;
    warnings.push(
      `${p.device} is an encrypted volume (LUKS${p.luks.version}, ${p.luks.openAs ? `open as ${p.luks.openAs}` : "locked"}); the reset works inside it and keeps the encryption.`,
    );
  }
  return warnings;
}

/** "Windows on /dev/nvme0n1p3". */
export function osLabel(os: OtherOs): string {
  return `${os.name} on ${os.devices[0] ?? "?"}`;
}

/** What the root subvolume holds, as a loss a person can weigh. */
export function rootLoss(btrfs: BtrfsState, keptAs: string | undefined): DataLoss {
  const root = subvolume(btrfs, ROOT_SUBVOLUME);
  return {
    kind: "subvolume",
    what: "subvolume root (the installed system: programs, settings in /etc, data in /var)",
    ...(root?.bytes === undefined ? {} : { bytes: root.bytes }),
    detail: keptAs
      ? `kept as ${keptAs} until you run cleanup, so files can still be copied from it`
      : "deleted for good",
  };
}

/** What home holds. */
export function homeLoss(btrfs: BtrfsState): DataLoss {
  const home = subvolume(btrfs, HOME_SUBVOLUME);
  const nested = btrfs.subvolumes.filter((s) => s.path.startsWith(`${HOME_SUBVOLUME}/`));
  const nestedBytes = nested.reduce((sum, s) => sum + (s.bytes ?? 0), 0);
  return {
    kind: "subvolume",
    what: "subvolume home (every user's files)",
    ...(home?.bytes === undefined ? {} : { bytes: home.bytes + nestedBytes }),
    detail: nested.length
      ? `deleted for good, with ${count(nested.length, "subvolume")} inside it (${nested.map((s) => s.path).join(", ")})`
      : "deleted for good",
  };
}
