/**
 * The errors of `@lifeboat/btrfs`: stable `BTRFS_*` codes, each carrying the
 * facts a front end needs, plus the core errors that pass through
 * (`COMMAND_FAILED`, `UNSAFE_PATH`, `IO_FAILED`, `ABORTED`, ...).
 *
 * @module
 */
import type {
  AbortedError,
  CommandError,
  ErrorBase,
  InvalidArgumentError,
  IoFailedError,
  ParseFailedError,
  UnsafePathError,
} from "@lifeboat/core";

/** The path is not on a Btrfs filesystem. */
export interface BtrfsNotBtrfsError extends ErrorBase<"BTRFS_NOT_BTRFS"> {
  readonly path: string;
}

/** The directory given as the top level is not a mount of subvolume 5. */
export interface BtrfsNotTopLevelError extends ErrorBase<"BTRFS_NOT_TOP_LEVEL"> {
  readonly path: string;
  /** The subvolume id that is mounted there instead. */
  readonly subvolumeId: number | undefined;
}

/** No subvolume at this path (it does not exist, or it is a plain directory). */
export interface BtrfsSubvolumeNotFoundError extends ErrorBase<"BTRFS_SUBVOLUME_NOT_FOUND"> {
  /** Path relative to the top level, or the id when looked up by id. */
  readonly subvolume: string;
}

/** Something already exists where a subvolume was to be created, snapshotted or moved. */
export interface BtrfsPathExistsError extends ErrorBase<"BTRFS_PATH_EXISTS"> {
  readonly path: string;
}

/** The subvolume is the filesystem's default subvolume; Btrfs refuses to delete it. */
export interface BtrfsIsDefaultError extends ErrorBase<"BTRFS_IS_DEFAULT"> {
  readonly subvolume: string;
  readonly id: number;
}

/** `btrfs send` needs read-only subvolumes; this one (or a parent/clone source) is writable. */
export interface BtrfsNotReadOnlyError extends ErrorBase<"BTRFS_NOT_READ_ONLY"> {
  readonly subvolume: string;
}

/**
 * No way to swap two names atomically on this machine: no `exch` (util-linux
 * 2.40+), no `mv --exchange` (coreutils 9.5+), and the bundled helper could
 * not be found or compiled. Never emulated with two renames.
 */
export interface BtrfsExchangeUnsupportedError extends ErrorBase<"BTRFS_EXCHANGE_UNSUPPORTED"> {
  /** What was tried, in order, and why each was unusable. */
  readonly tried: readonly string[];
}

/** `btrfs receive` (or the stream feeding it) failed; half-received subvolumes were removed. */
export interface BtrfsReceiveFailedError extends ErrorBase<"BTRFS_RECEIVE_FAILED"> {
  /** Subvolumes (relative to the receiving top level) removed because they were incomplete. */
  readonly removed: readonly string[];
  /** Subvolumes that were incomplete but could not be removed (act on these!). */
  readonly leftBehind: readonly string[];
  /** Bytes of stream that went through before the failure. */
  readonly bytes: number;
}

/** The receive was cancelled; half-received subvolumes were removed. */
export interface BtrfsReceiveAbortedError extends AbortedError {
  readonly removed: readonly string[];
  readonly leftBehind: readonly string[];
  readonly bytes: number;
}

/** A send stream is malformed or ends before its end marker (a cut stream). */
export interface BtrfsStreamInvalidError extends ErrorBase<"BTRFS_STREAM_INVALID"> {
  /** Byte offset where the problem was found. */
  readonly offset: number;
  readonly reason: "bad-magic" | "unsupported-version" | "truncated" | "bad-command";
}

/** Receiving a stream of unknown origin without a verification token. */
export interface BtrfsUntrustedStreamError extends ErrorBase<"BTRFS_UNTRUSTED_STREAM"> {}

/** A received subvolume does not match what was sent. */
export interface BtrfsVerifyFailedError extends ErrorBase<"BTRFS_VERIFY_FAILED"> {
  readonly subvolume: string;
  readonly expectedUuid: string;
  readonly receivedUuid: string | undefined;
  readonly readOnly: boolean;
}

/** A seed-device operation's precondition does not hold (mounted, not a seed, ...). */
export interface BtrfsSeedError extends ErrorBase<"BTRFS_SEED_STATE"> {
  readonly device: string;
  readonly expected: string;
}

/**
 * `lifeboat-btrfs-reuuid` refused the device and changed nothing: it is
 * mounted or held (`busy`), not a Btrfs or its superblock is damaged
 * (`not-btrfs`), of a kind the tool does not edit (`unsupported`: another
 * checksum than crc32c, several devices, a seed, a log tree to replay, a RAID
 * profile, zoned), or its metadata does not agree with itself
 * (`inconsistent`: a bad tree block, or device UUIDs that differ, as after a
 * run cut short by a crash).
 */
export interface BtrfsReuuidRefusedError extends ErrorBase<"BTRFS_REUUID_REFUSED"> {
  readonly device: string;
  readonly reason: "busy" | "not-btrfs" | "unsupported" | "inconsistent" | "io";
  /** The tool's own explanation (its standard error). */
  readonly detail: string;
}

/**
 * A write failed after `lifeboat-btrfs-reuuid` began writing: the filesystem
 * may hold new UUIDs in some tree blocks and old ones in others. Deploy the
 * image again; do not mount it.
 */
export interface BtrfsReuuidTornError extends ErrorBase<"BTRFS_REUUID_TORN"> {
  readonly device: string;
  readonly detail: string;
}

/** Every error a `@lifeboat/btrfs` function can return. */
export type BtrfsError =
  | BtrfsNotBtrfsError
  | BtrfsNotTopLevelError
  | BtrfsSubvolumeNotFoundError
  | BtrfsPathExistsError
  | BtrfsIsDefaultError
  | BtrfsNotReadOnlyError
  | BtrfsExchangeUnsupportedError
  | BtrfsReceiveFailedError
  | BtrfsReceiveAbortedError
  | BtrfsStreamInvalidError
  | BtrfsUntrustedStreamError
  | BtrfsVerifyFailedError
  | BtrfsSeedError
  | BtrfsReuuidRefusedError
  | BtrfsReuuidTornError
  | CommandError
  | ParseFailedError
  | IoFailedError
  | UnsafePathError
  | InvalidArgumentError
  | AbortedError;
