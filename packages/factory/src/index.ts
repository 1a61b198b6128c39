export {
  type DeployOptions,
  type DeployProgress,
  type DeploySummary,
  deployImage,
} from "./deploy.js";
export type {
  FactoryError,
  FactoryTargetTooSmallError,
  FactoryUnsupportedLayoutError,
  FactoryVerifyFailedError,
} from "./errors.js";
export {
  type ChangedId,
  type MakeUniqueOptions,
  type MakeUniqueSummary,
  makeMachineUnique,
} from "./uniquify.js";
