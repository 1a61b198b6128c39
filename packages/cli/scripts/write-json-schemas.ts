/**
 * Write the JSON Schema of every `--json` document into `packages/cli/schemas/`
 * (shipped in the package). Run after changing src/json-schemas.ts:
 * `pnpm --filter lifeboat schemas`; test/json-schema-files.test.ts fails
 * while the files and the zod schemas disagree.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  commandDataSchemas,
  FAILURE_DOCUMENT,
  jsonSchemaFileName,
  jsonSchemaOf,
} from "../src/json-schemas.js";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../schemas");
await mkdir(dir, { recursive: true });
for (const f of await readdir(dir)) await rm(path.join(dir, f));
for (const name of [...Object.keys(commandDataSchemas), FAILURE_DOCUMENT]) {
  const text = `${JSON.stringify(jsonSchemaOf(name), null, 2)}\n`;
  await writeFile(path.join(dir, jsonSchemaFileName(name)), text);
}
console.log(`wrote ${Object.keys(commandDataSchemas).length + 1} schemas to ${dir}`);
