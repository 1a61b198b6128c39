export type {
  GrubBlsInvalidError,
  GrubError,
  GrubScriptInvalidError,
  GrubUnrepresentableError,
  UnrepresentableReason,
} from "./errors.js";
export { checkGrubString, findUnrepresentable, quoteGrubWord } from "./quote.js";
export {
  type GrubCommand,
  type GrubEntryOptions,
  type GrubVariable,
  type GrubWord,
  renderGrubScript,
  renderGrubWord,
} from "./script.js";
