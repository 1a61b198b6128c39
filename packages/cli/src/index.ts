/**
 * `lifeboat`: the reference command-line front end of the Lifeboat SDK. Its
 * programmatic surface is the entry point ({@link main}), the exit codes, and
 * the zod schemas of the `--json` documents.
 *
 * @module lifeboat
 */
export type { JsonFailure, JsonSuccess } from "./context.js";
export { ExitCode, type ExitCodeValue, exitCodeFor } from "./exit-codes.js";
export {
  commandDataSchemas,
  dataLossSchema,
  digestSchema,
  diskTableSchema,
  doctorDataSchema,
  executionSummarySchema,
  FAILURE_DOCUMENT,
  grubInstallDataSchema,
  grubRenderDataSchema,
  imageBuildDataSchema,
  imageInstallDataSchema,
  imageKeygenDataSchema,
  imageSignDataSchema,
  imageVerifyDataSchema,
  inspectDataSchema,
  type JsonCommand,
  jsonFailureSchema,
  jsonSchemaFileName,
  jsonSchemaOf,
  jsonSuccessSchema,
  mediaCreateDataSchema,
  planDataSchema,
  planRunDataSchema,
  planSchema,
  provisionDataSchema,
  recoveryDataSchema,
  resumeDataSchema,
  schemaDataSchema,
  subvolListDataSchema,
  subvolSetDefaultDataSchema,
  subvolumeSchema,
  updateDataSchema,
} from "./json-schemas.js";
export { main } from "./main.js";
