/**
 * The errors of `@lifeboat/image`: stable `IMAGE_*` codes, each carrying the
 * facts a front end needs to say what failed (which file, which block range,
 * expected and actual values).
 *
 * @module
 */
import type {
  AbortedError,
  CommandError,
  ErrorBase,
  InvalidArgumentError,
  IoFailedError,
  PlanEncodingError,
  UnsafePathError,
} from "@lifeboat/core";

/** The detached signature is missing, malformed, or does not match the manifest. */
export interface ImageBadSignatureError extends ErrorBase<"IMAGE_BAD_SIGNATURE"> {
  readonly signaturePath: string;
  readonly reason: "missing" | "malformed" | "mismatch";
  /** The key id named in the signature file, when it could be read. */
  readonly keyId: string | undefined;
}

/** The manifest is signed by a key that is not in the trusted set. */
export interface ImageUntrustedKeyError extends ErrorBase<"IMAGE_UNTRUSTED_KEY"> {
  readonly keyId: string;
  readonly trustedKeyIds: readonly string[];
}

/** A key file is not an Ed25519 key in PEM (PKCS#8 private or SPKI public). */
export interface ImageKeyInvalidError extends ErrorBase<"IMAGE_KEY_INVALID"> {
  readonly reason: string;
}

/** The manifest is signed but is not valid JSON of the manifest schema. */
export interface ImageManifestInvalidError extends ErrorBase<"IMAGE_MANIFEST_INVALID"> {
  readonly manifestPath: string;
  readonly issues: readonly string[];
}

/** The files on disk do not belong to this manifest (another build, another tree). */
export interface ImageManifestMismatchError extends ErrorBase<"IMAGE_MANIFEST_MISMATCH"> {
  readonly file: string;
  readonly field: string;
  readonly expected: string;
  readonly actual: string;
}

/** A file the manifest lists is not there (or is not a regular file). */
export interface ImageFileMissingError extends ErrorBase<"IMAGE_FILE_MISSING"> {
  readonly file: string;
}

/** A file's size differs from the manifest (truncated or appended to). */
export interface ImageSizeMismatchError extends ErrorBase<"IMAGE_SIZE_MISMATCH"> {
  readonly file: string;
  readonly expectedBytes: number;
  readonly actualBytes: number;
}

/** Content differs from the manifest: which file, which block range, expected and actual digest. */
export interface ImageHashMismatchError extends ErrorBase<"IMAGE_HASH_MISMATCH"> {
  readonly file: string;
  /** `data`: a data block; `hash-tree`: a block of the stored tree; `superblock`: the tree's superblock; `whole-file`: the file's SHA-256. */
  readonly region: "data" | "hash-tree" | "superblock" | "whole-file";
  /** First and last block index (inclusive) of the range that failed, in `blockSize` units. */
  readonly firstBlock: number;
  readonly lastBlock: number;
  /** Byte offset and length of that range within `file`. */
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly expected: string;
  readonly actual: string;
}

/** The target does not have the free space the image set needs. */
export interface ImageInsufficientSpaceError extends ErrorBase<"IMAGE_INSUFFICIENT_SPACE"> {
  readonly path: string;
  readonly requiredBytes: number;
  readonly availableBytes: number;
}

/** The recovery partition is smaller than the manifest's minimum. */
export interface ImagePartitionTooSmallError extends ErrorBase<"IMAGE_PARTITION_TOO_SMALL"> {
  readonly path: string;
  readonly minimumBytes: number;
  readonly partitionBytes: number;
}

/** No image set is installed at this recovery root (no `current` pointer). */
export interface ImageNotInstalledError extends ErrorBase<"IMAGE_NOT_INSTALLED"> {
  readonly root: string;
}

/**
 * The offered image set's security epoch is below the floor: the installed
 * set's, the partition's record of the highest installed, or the OEM minimum.
 */
export interface ImageRollbackError extends ErrorBase<"IMAGE_ROLLBACK"> {
  readonly offeredEpoch: number;
  readonly floorEpoch: number;
  /** Which source set the floor. */
  readonly floorSource: "installed" | "recorded" | "minimum";
  /** The installed set's epoch, when one is installed. */
  readonly installedEpoch: number | undefined;
}

/** Every error `@lifeboat/image` returns. */
export type ImageError =
  | ImageBadSignatureError
  | ImageUntrustedKeyError
  | ImageKeyInvalidError
  | ImageManifestInvalidError
  | ImageManifestMismatchError
  | ImageFileMissingError
  | ImageSizeMismatchError
  | ImageHashMismatchError
  | ImageInsufficientSpaceError
  | ImagePartitionTooSmallError
  | ImageNotInstalledError
  | ImageRollbackError
  | CommandError
  | AbortedError
  | IoFailedError
  | UnsafePathError
  | InvalidArgumentError
  | PlanEncodingError;

/** The codes of {@link ImageError} that mean "do not trust this image set". */
export type ImageRejectionCode =
  | "IMAGE_BAD_SIGNATURE"
  | "IMAGE_UNTRUSTED_KEY"
  | "IMAGE_MANIFEST_INVALID"
  | "IMAGE_MANIFEST_MISMATCH"
  | "IMAGE_FILE_MISSING"
  | "IMAGE_SIZE_MISMATCH"
  | "IMAGE_HASH_MISMATCH";
