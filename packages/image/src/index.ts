/**
 * `@lifeboat/image`: recovery images built reproducibly (squashfs, EROFS, a
 * btrfs send stream), described by a signed manifest with dm-verity hash
 * trees, verified before anything trusts them, and installed atomically onto
 * a recovery partition.
 *
 * @module @lifeboat/image
 */
export {
  type BuildErofsOptions,
  type BuildError,
  type BuildImageOptionsBase,
  type BuildSquashfsOptions,
  type BuiltImage,
  buildErofs,
  buildSquashfs,
} from "./build.js";
export type {
  ImageBadSignatureError,
  ImageError,
  ImageFileMissingError,
  ImageHashMismatchError,
  ImageInsufficientSpaceError,
  ImageKeyInvalidError,
  ImageManifestInvalidError,
  ImageManifestMismatchError,
  ImageNotInstalledError,
  ImagePartitionTooSmallError,
  ImageRejectionCode,
  ImageRollbackError,
  ImageSizeMismatchError,
  ImageUntrustedKeyError,
} from "./errors.js";
export {
  type CreateHashTreeOptions,
  createHashTree,
  type HashTreeResult,
} from "./hash-tree.js";
export {
  type CreatedImageSet,
  type CreateImageSetOptions,
  type CreateImageSetProgress,
  createImageSet,
  type ImageSetFileInput,
  signImageSet,
} from "./image-set.js";
export {
  type InstalledImageSet,
  type InstallImageSetOptions,
  type InstallProgress,
  imageSetId,
  installImageSet,
  readCurrentImageSet,
  repairRecoveryRoot,
} from "./install.js";
export {
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  type PrivateKey,
  type PublicKey,
  savePrivateKey,
} from "./keys.js";
export {
  encodeManifest,
  type ImageFileKind,
  type ImageLayout,
  type Manifest,
  type ManifestFile,
  type MerkleInfo,
  manifestSchema,
  merkleSchema,
  parseManifest,
  securityEpochOf,
} from "./manifest.js";
export {
  checkSecurityEpoch,
  type EpochFloor,
  type EpochFloorSource,
  manifestDigest,
  type RollbackOverride,
  type RollbackRecord,
  readEpochFloor,
  readMinimumEpoch,
  readRollbackLog,
  recordRollback,
} from "./rollback.js";
export { signManifest, verifyManifestSignature } from "./signature.js";
export {
  isVerifiedImageSet,
  readSignedManifest,
  type SignedManifest,
  type VerifiedImageSet,
  type VerifyImageSetOptions,
  type VerifyProgress,
  verifyImageSet,
} from "./verify.js";
