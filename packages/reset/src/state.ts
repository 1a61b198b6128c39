/**
 * What `inspect` learns about a machine: the plain data the planner reads.
 *
 * @module
 */

import type { Plan } from "@lifeboat/core";

/** The role a partition plays, as far as a reset is concerned. */
export type PartitionRole =
  | "esp"
  | "boot"
  | "btrfs"
  | "luks"
  | "recovery"
  | "windows-data"
  | "windows-msr"
  | "windows-recovery"
  | "swap"
  | "linux-data"
  | "other";

/** A LUKS container found on a partition (the header is readable without a key). */
export interface LuksInfo {
  readonly version: 1 | 2;
  readonly uuid: string;
  /** Where it is open (`/dev/mapper/luks-…`), or `undefined` when it is locked. */
  readonly openAs: string | undefined;
}

/** One partition on a disk. */
export interface PartitionState {
  /** The block device that holds this partition's bytes (`/dev/nvme0n1p3`, or a loop device). */
  readonly device: string;
  readonly number: number;
  /** GPT type GUID, lower case. */
  readonly typeGuid: string;
  readonly partUuid: string | undefined;
  readonly name: string | undefined;
  readonly sizeBytes: number;
  readonly role: PartitionRole;
  /** Filesystem type seen on it (`vfat`, `ext4`, `btrfs`, `ntfs`, `crypto_LUKS`, …). */
  readonly fsType: string | undefined;
  readonly fsUuid: string | undefined;
  readonly label: string | undefined;
  readonly luks: LuksInfo | undefined;
  /** Where it is mounted now. */
  readonly mountpoints: readonly string[];
}

/** A disk and its partitions. */
export interface DiskState {
  /** The whole disk (`/dev/nvme0n1`) or the image file standing for it. */
  readonly device: string;
  readonly sizeBytes: number;
  readonly partitions: readonly PartitionState[];
}

/** A Btrfs subvolume, with sizes when they could be measured. */
export interface SubvolumeState {
  readonly id: number;
  /** Path from the top level, e.g. `root` or `.lifeboat/factory/root`. */
  readonly path: string;
  readonly uuid: string;
  readonly parentUuid: string | undefined;
  readonly readOnly: boolean;
  /** Bytes referenced by the subvolume (`btrfs filesystem du` total), when measured. */
  readonly bytes: number | undefined;
}

/** How the running system mounts its root. */
export interface RootMount {
  /** `"name"`: `subvol=root` (Fedora); `"default"`: the default subvolume (snapper). */
  readonly by: "name" | "default";
  readonly subvolume: string;
}

/** The Btrfs filesystem a reset works on. */
export interface BtrfsState {
  /** Device the filesystem is on (the LUKS mapping when encrypted). */
  readonly device: string;
  readonly fsUuid: string;
  readonly sizeBytes: number;
  readonly freeBytes: number;
  readonly subvolumes: readonly SubvolumeState[];
  /** The subvolume the default mount gives. */
  readonly defaultSubvolumeId: number;
  /** When the filesystem sits inside LUKS: the container's partition device. */
  readonly encryptedOn: string | undefined;
}

/** A file of the factory /boot payload. */
export interface BootFile {
  /** Path relative to /boot, e.g. `vmlinuz-6.8.5-301.fc40.x86_64`. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** The factory snapshot and what its manifest says. */
export interface FactoryState {
  /** Path of the read-only snapshot from the top level. */
  readonly snapshotPath: string;
  readonly snapshotUuid: string;
  /** Bytes referenced by the snapshot, when measured. */
  readonly bytes: number | undefined;
  /** Whether the snapshot on disk still matches the manifest (UUID, read-only flag). */
  readonly intact: boolean;
  readonly product: string;
  readonly build: string;
  readonly kernelVersions: readonly string[];
  readonly bootFiles: readonly BootFile[];
}

/**
 * A checkpoint: a read-only snapshot of root and of the /boot payload, with
 * a manifest. The factory snapshot is the first checkpoint (id `factory`).
 */
export interface CheckpointState {
  /** `factory`, or the checkpoint's name (or time stamp when it was given none). */
  readonly id: string;
  readonly factory: boolean;
  /** Why it was taken (`"before dnf system-upgrade to 41"`). */
  readonly reason: string;
  /** ISO time. */
  readonly createdAt: string;
  /** Paths of the read-only root and /boot subvolumes from the top level. */
  readonly rootPath: string;
  readonly rootUuid: string;
  readonly bootPath: string;
  readonly bootFiles: readonly BootFile[];
  readonly kernelVersions: readonly string[];
  /** The checkpoint the system it was taken of descended from, when known. */
  readonly parent: string | undefined;
  /** Bytes referenced by the root snapshot, when measured. */
  readonly bytes: number | undefined;
  /** Whether both subvolumes are there, read-only, with the manifest's UUIDs. */
  readonly intact: boolean;
}

/**
 * A root an earlier reset replaced and kept (`root.old-<stamp>`), with the
 * /boot payload it booted with when the reset kept that too: what "undo the
 * last reset" brings back.
 */
export interface KeptRootState {
  /** The time stamp of the reset that replaced it. */
  readonly stamp: string;
  /** `root.old-<stamp>`, from the top level. */
  readonly rootPath: string;
  /** Bytes it references, when measured. */
  readonly bytes: number | undefined;
  /** `.lifeboat/boot.old-<stamp>`, when the reset kept the /boot payload. */
  readonly bootPath: string | undefined;
  /** The kept /boot payload's files (empty when none was kept). */
  readonly bootFiles: readonly BootFile[];
}

/** A plan whose journal on the target says it has not finished. */
export interface UnfinishedPlanState {
  readonly digest: string;
  readonly kind: string;
  /** The plan's title. */
  readonly title: string;
  /** `"running"`: interrupted (crash, power loss, kill); `"failed"`: a step failed. */
  readonly status: "running" | "failed";
  /** The step that was running when it stopped, if any. */
  readonly stoppedAt: string | null;
  /** Why the last attempt stopped, when a step failed. */
  readonly lastError: string | undefined;
  /** Every path the plan's steps name (subvolumes, directories), to protect them. */
  readonly paths: readonly string[];
  /**
   * The plan itself, as its journal holds it: a front end words the steps of
   * the run it finishes from it (`planStepViews`), in its own language.
   */
  readonly plan?: Plan;
}

/** The recovery partition's signed image set. */
export interface RecoveryState {
  readonly device: string;
  /**
   * Path where the image set was readable when it was opened (a mount of
   * the recovery partition): information only, never put in a plan.
   */
  readonly imageDir: string | undefined;
  /**
   * The set's identity: `sha256:` and the hex SHA-256 of its signed
   * manifest, when it was verified. Plans name the set by it.
   */
  readonly digest?: string | undefined;
  readonly product: string | undefined;
  readonly build: string | undefined;
  /** Bytes the unpacked root needs. */
  readonly rootBytes: number | undefined;
  /** The /boot payload the image carries (from its signed manifest). */
  readonly bootFiles: readonly BootFile[];
  /** `true` only when the signature and digests were checked in this session. */
  readonly verified: boolean;
  /** The set's signed security epoch (absent in the manifest: 0). */
  readonly securityEpoch?: number | undefined;
  /**
   * The anti-rollback floor the set must reach: the highest of the recovery
   * partition's record of the highest epoch installed and the OEM minimum.
   * Absent: no floor. Plans that unpack the set refuse one below it.
   */
  readonly epochFloor?: number | undefined;
  /** Why it is not verified, when it is not. */
  readonly problem: string | undefined;
  /**
   * The error code of `problem`, for a front end that words it itself
   * (`IMAGE_BAD_SIGNATURE`, `IMAGE_HASH_MISMATCH`, …; `IMAGE_UNTRUSTED_KEY`
   * when no trusted key was given at all).
   */
  readonly problemCode?: string | undefined;
}

/** Another operating system found on the machine. */
export interface OtherOs {
  readonly kind: "windows" | "linux" | "unknown";
  readonly name: string;
  /** The partitions it lives on. */
  readonly devices: readonly string[];
  readonly bytes: number;
}

/**
 * Everything a reset needs to know about the machine, as gathered by
 * `inspect` (or written by hand in tests and dry runs).
 */
export interface SystemState {
  readonly disks: readonly DiskState[];
  readonly btrfs: BtrfsState | undefined;
  /** /boot's filesystem. */
  readonly boot: { readonly device: string; readonly fsUuid: string | undefined } | undefined;
  readonly rootMount: RootMount | undefined;
  readonly factory: FactoryState | undefined;
  readonly recovery: RecoveryState | undefined;
  readonly otherOses: readonly OtherOs[];
  /** Paths under the Btrfs in use by processes other than the caller (busy target). */
  readonly busy: readonly string[];
  /** Whether the system being reset is the one running now (then the reset is scheduled). */
  readonly live: boolean;
  /** The checkpoints, factory first, then oldest to newest (absent when not inspected). */
  readonly checkpoints?: readonly CheckpointState[];
  /** Roots earlier resets kept, oldest first (absent when not inspected). */
  readonly keptRoots?: readonly KeptRootState[];
  /** The plan an unfinished journal on the target refers to, if any. */
  readonly unfinishedPlan?: UnfinishedPlanState;
}
