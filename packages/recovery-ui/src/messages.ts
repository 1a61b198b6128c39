/**
 * The guided UI's message catalog, for translators and for OEMs who check
 * their wording: the shape every locale fills (`Messages`), the error codes
 * the UI explains in its own words (`EXPLAINED_ERROR_CODES`), and the SDK's
 * own words for plans (`sdkPlanWords`). A front end that only runs the UI
 * needs none of it: `@lifeboat/recovery-ui` picks the locale.
 *
 * @example
 * ```ts
 * import { EXPLAINED_ERROR_CODES, type Messages } from "@lifeboat/recovery-ui/messages";
 * import { LOCALES } from "@lifeboat/recovery-ui";
 * const german: Messages = LOCALES.de;
 * const missing = EXPLAINED_ERROR_CODES.filter((code) => german.errors[code] === undefined);
 * ```
 *
 * @module @lifeboat/recovery-ui/messages
 */
export {
  type ChoiceId,
  type ChoiceText,
  type ErrorNext,
  type ErrorSafety,
  type ErrorText,
  EXPLAINED_ERROR_CODES,
  type ExplainedErrorCode,
  type Messages,
  type WarningWords,
} from "./messages/catalog.js";
export { type LossWords, type PlanWords, sdkPlanWords } from "./messages/plan-words.js";
