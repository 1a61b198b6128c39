export type { JsonFailure, JsonSuccess } from "./context.js";
export { ExitCode, type ExitCodeValue, exitCodeFor } from "./exit-codes.js";
export { main } from "./main.js";
