import type { Command } from "commander";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { commandDataSchemas, FAILURE_DOCUMENT, jsonSchemaOf } from "../json-schemas.js";
import { usage } from "./_shared.js";
import type { Wrap } from "./index.js";

/** Every name `lifeboat schema` answers: the commands with a `--json` document, and `failure`. */
function documentNames(): string[] {
  return [...Object.keys(commandDataSchemas), FAILURE_DOCUMENT];
}

async function schema(ctx: CliContext, words: string[]): Promise<ExitCodeValue> {
  if (words.length === 0)
    return succeed(ctx, "schema", { commands: documentNames() }, (d) =>
      [
        "JSON Schemas of the --json documents (lifeboat schema <command>):",
        ...d.commands.map((c) => `  ${c}`),
      ].join("\n"),
    );
  const command = words.join(" ");
  const found = jsonSchemaOf(command);
  if (found === undefined)
    return usage(
      ctx,
      "schema",
      `no --json document is called ${JSON.stringify(command)} (lifeboat schema lists them)`,
    );
  return succeed(ctx, "schema", { command, schema: found }, (d) =>
    JSON.stringify(d.schema, null, 2),
  );
}

/** `lifeboat schema [command...]`: the JSON Schema of a command's `--json` document. */
export function registerSchema(program: Command, wrap: Wrap): void {
  program
    .command("schema")
    .argument("[command...]", "the command, e.g. plan or reset schedule; failure for any failure")
    .description(
      "print the JSON Schema (draft 2020-12) of a command's --json document; without a command, list them",
    )
    .action(wrap(schema));
}
