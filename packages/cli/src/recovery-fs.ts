import { type ErrorBase, type LifeboatError, lifeboatError } from "@lifeboat/core";
import { RECOVERY_PARTITION_TYPE_GUID } from "@lifeboat/core/layout";
import { attachArgs, type GptPartition, type GptTable } from "@lifeboat/gpt";

/** Filesystem label of a recovery partition the CLI formats (ext4 labels hold 16 bytes). */
export const RECOVERY_FS_LABEL = "LIFEBOAT";

/** The recovery partition exists but holds no filesystem. */
export type RecoveryUnformattedError = ErrorBase<"CLI_RECOVERY_UNFORMATTED"> & {
  readonly disk: string;
  /** Partition number in the table. */
  readonly partition: number;
  /** The shell command that makes the filesystem. */
  readonly fix: string;
};

const sh = (s: string) => (/^[\w./,:=@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

/**
 * The exact command that makes the recovery filesystem: through a loop
 * device at the partition's offset and size, which works on an image file
 * (whose partition table this kernel does not scan) and on a disk alike.
 */
export function mkfsRecoveryCommand(
  disk: string,
  partition: Pick<GptPartition, "firstLba" | "lastLba">,
  sectorSize: GptTable["sectorSize"],
): string {
  const args = attachArgs(disk, partition, { sectorSize }).map(sh).join(" ");
  return `dev=$(losetup ${args}) && mkfs.ext4 -q -L ${RECOVERY_FS_LABEL} "$dev"; losetup -d "$dev"`;
}

/** The typed error for a recovery partition without a filesystem, telling exactly what to run. */
export async function unformattedRecovery(
  disk: string | undefined,
  table: GptTable | undefined,
  device: string,
): Promise<LifeboatError> {
  const p = table?.partitions.find(
    (x) => x.typeGuid.toLowerCase() === RECOVERY_PARTITION_TYPE_GUID,
  );
  const fix =
    disk && table && p
      ? mkfsRecoveryCommand(disk, p, table.sectorSize)
      : `mkfs.ext4 -q -L ${RECOVERY_FS_LABEL} <the recovery partition>`;
  const where = disk && p ? `partition ${p.slot} of ${disk}` : device;
  const e: RecoveryUnformattedError = lifeboatError(
    "CLI_RECOVERY_UNFORMATTED",
    `The recovery partition (${where}) has no filesystem, so the recovery image cannot be installed. Make it, then run provision again:\n  ${fix}`,
    { disk: disk ?? device, partition: p?.slot ?? 0, fix },
  );
  return e;
}
