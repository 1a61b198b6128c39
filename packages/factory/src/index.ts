/**
 * Factory images: deploy a golden image to a disk and give every machine its own identifiers (filesystem, partition and subvolume UUIDs).
 *
 * @module @lifeboat/factory
 */
export {
  type DeployOptions,
  type DeployProgress,
  type DeploySummary,
  deployImage,
} from "./deploy.js";
export type {
  FactoryError,
  FactoryTargetChangedError,
  FactoryTargetTooSmallError,
  FactoryUnsupportedLayoutError,
  FactoryVerifyFailedError,
} from "./errors.js";
export {
  type CreateMediaOptions,
  createRecoveryMedia,
  type MediaProgress,
  type RecoveryMediaSummary,
} from "./media.js";
export {
  type MediaBootLoader,
  type MediaEnvironment,
  type MediaExtraFile,
  type MediaLayoutParams,
  planRecoveryMedia,
  type RecoveryMediaOptions,
} from "./media-plan.js";
export {
  type CheckSecureBootOptions,
  checkSecureBoot,
  type PeSignature,
  type SecureBootCheckError,
  type SecureBootGrubMissing,
  type SecureBootGrubModuleMissing,
  type SecureBootGrubNotTrusted,
  type SecureBootGrubUnsigned,
  type SecureBootKernel,
  type SecureBootKernelMissing,
  type SecureBootKernelUnsigned,
  type SecureBootPath,
  type SecureBootProblem,
  type SecureBootReport,
  type SecureBootShimMissing,
  type SecureBootShimNotMicrosoftSigned,
  type SignedFile,
} from "./secure-boot.js";
export {
  type CheckEspSecureBootOptions,
  checkEspSecureBoot,
  type SecureBootUnbootableError,
  secureBootRefusal,
} from "./secure-boot-esp.js";
export {
  type ChangedId,
  type MakeUniqueOptions,
  type MakeUniqueSummary,
  makeMachineUnique,
} from "./uniquify.js";
