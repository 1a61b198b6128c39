/**
 * `lifeboat`: the reference command-line front end of the Lifeboat SDK. Its
 * programmatic surface is the entry point ({@link main}), the exit codes, and
 * the zod schemas of the `--json` documents.
 *
 * @module lifeboat
 */
export type { JsonFailure, JsonSuccess } from "./context.js";
export { ExitCode, type ExitCodeValue, exitCodeFor } from "./exit-codes.js";
// The schemas of the documents: one per command through `commandDataSchemas`
// (each command's own schema stays in json-schemas.ts), the envelopes, and
// what `lifeboat schema` prints for other languages.
export {
  commandDataSchemas,
  FAILURE_DOCUMENT,
  type JsonCommand,
  jsonFailureSchema,
  jsonSchemaFileName,
  jsonSchemaOf,
  jsonSuccessSchema,
} from "./json-schemas.js";
export { main } from "./main.js";
