/**
 * The OEM helper: where the recovery partition goes.
 *
 * @module
 */
import { err, ok, type Result } from "neverthrow";
import type { GptError } from "./errors.js";
import { addPartition, createGptTable, MiB, type Placement } from "./layout.js";
import type { GptPartition, GptTable, SectorSize } from "./model.js";
import { attributeMask, ESP_TYPE, LIFEBOAT_RECOVERY_TYPE, LINUX_DATA_TYPE } from "./types.js";

/** The recovery partition's name unless the caller gives another. */
export const RECOVERY_PARTITION_NAME = "Lifeboat Recovery";
/** Default attributes: DPS no-auto (63) and read-only (60). */
export const RECOVERY_ATTRIBUTES = attributeMask("noAuto", "readOnly");

interface RecoveryCommon {
  /** Size of the recovery partition in bytes. */
  readonly recoveryBytes: bigint;
  readonly name?: string;
  readonly attributes?: bigint;
  readonly uniqueGuid?: string;
}

/** Plan a whole new disk: ESP, /boot, recovery, Btrfs (the rest), as Fedora lays it out. */
export interface FreshLayoutRequest extends RecoveryCommon {
  readonly kind: "fresh";
  readonly diskBytes: bigint;
  readonly sectorSize?: SectorSize;
  readonly diskGuid?: string;
  /** Default 600 MiB (Fedora's default). */
  readonly espBytes?: bigint;
  /** Default 1 GiB. */
  readonly bootBytes?: bigint;
  /** Type of the Btrfs partition (default generic Linux data, as Anaconda). */
  readonly rootTypeGuid?: string;
}

/** Carve the recovery partition from free space of an existing table. */
export interface CarveRequest extends RecoveryCommon {
  readonly kind: "carve";
  readonly table: GptTable;
  /** Default `"end"`: the end of the last gap that fits, out of the way of later growth. */
  readonly placement?: Placement;
}

/** What {@link planRecoveryPartition} gives back. */
export interface RecoveryLayout {
  /** The new table; write it with `writeGpt`. */
  readonly table: GptTable;
  readonly recovery: GptPartition;
  /** Slots of the Fedora partitions (fresh layouts only). */
  readonly roles?: {
    readonly esp: number;
    readonly boot: number;
    readonly recovery: number;
    readonly root: number;
  };
}

/**
 * Plan Lifeboat's recovery partition (type `d999c366-…`, name "Lifeboat
 * Recovery", attributes no-auto and read-only), either in a freshly planned
 * Fedora layout (ESP 600 MiB, /boot 1 GiB, recovery, Btrfs to the end) or
 * carved out of the free space of an existing disk. Pure: nothing is written.
 * Carving into a table that already has a Lifeboat recovery partition is
 * `GPT_RECOVERY_EXISTS`: a disk gets one.
 *
 * @example
 * ```ts
 * const plan = planRecoveryPartition({ kind: "fresh", diskBytes: 256n * 1024n ** 3n, recoveryBytes: 8n * 1024n ** 3n });
 * if (plan.isOk()) await writeGpt(runner, "/dev/nvme0n1", plan.value.table);
 * ```
 */
export function planRecoveryPartition(
  request: FreshLayoutRequest | CarveRequest,
): Result<RecoveryLayout, GptError> {
  const recoverySpec = {
    size: request.recoveryBytes,
    typeGuid: LIFEBOAT_RECOVERY_TYPE,
    name: request.name ?? RECOVERY_PARTITION_NAME,
    attributes: request.attributes ?? RECOVERY_ATTRIBUTES,
    ...(request.uniqueGuid ? { uniqueGuid: request.uniqueGuid } : {}),
  };
  if (request.kind === "carve") {
    const existing = request.table.partitions.find(
      (p) => p.typeGuid.toLowerCase() === LIFEBOAT_RECOVERY_TYPE,
    );
    if (existing !== undefined) {
      return err({
        code: "GPT_RECOVERY_EXISTS",
        message: `The disk already has a Lifeboat recovery partition (partition ${existing.slot}, LBA ${existing.firstLba}-${existing.lastLba}); a disk gets one.`,
        slot: existing.slot,
        firstLba: existing.firstLba,
        lastLba: existing.lastLba,
      });
    }
    return addPartition(request.table, {
      ...recoverySpec,
      placement: request.placement ?? "end",
    }).andThen((table) => withRecovery(table, request.table));
  }
  return createGptTable({
    diskBytes: request.diskBytes,
    ...(request.sectorSize ? { sectorSize: request.sectorSize } : {}),
    ...(request.diskGuid ? { diskGuid: request.diskGuid } : {}),
  })
    .andThen((t) =>
      addPartition(t, {
        size: request.espBytes ?? 600n * MiB,
        typeGuid: ESP_TYPE,
        name: "EFI System Partition",
      }),
    )
    .andThen((t) =>
      addPartition(t, {
        size: request.bootBytes ?? 1024n * MiB,
        typeGuid: LINUX_DATA_TYPE,
        name: "boot",
      }),
    )
    .andThen((t) => addPartition(t, recoverySpec))
    .andThen((t) =>
      addPartition(t, {
        size: "rest",
        typeGuid: request.rootTypeGuid ?? LINUX_DATA_TYPE,
        name: "fedora",
      }),
    )
    .andThen((table) => {
      const recovery = table.partitions[2]!;
      return ok({ table, recovery, roles: { esp: 1, boot: 2, recovery: 3, root: 4 } });
    });
}

function withRecovery(table: GptTable, before: GptTable): Result<RecoveryLayout, GptError> {
  const old = new Set(before.partitions.map((p) => p.slot));
  const recovery = table.partitions.find((p) => !old.has(p.slot));
  if (recovery === undefined) {
    return err({
      code: "GPT_INVALID_ARGUMENT",
      message: "No partition was added.",
      argument: "table",
    });
  }
  return ok({ table, recovery });
}
