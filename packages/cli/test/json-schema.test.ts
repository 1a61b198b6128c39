/**
 * The JSON Schemas of the `--json` documents (issue #19): the files the
 * package ships are the zod schemas' (regenerate with `pnpm --filter lifeboat
 * schemas`), `lifeboat schema` prints them, and the Python example in
 * examples/python validates every document it reads against them with the
 * distribution's `jsonschema` while it resets a real disk.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { requireRoot, requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  commandDataSchemas,
  FAILURE_DOCUMENT,
  jsonSchemaFileName,
  jsonSchemaOf,
  subvolListDataSchema,
} from "../src/json-schemas.js";
import {
  bin,
  cli,
  cliDir,
  cliJson,
  ensureBuilt,
  keygen,
  provisionSmall,
  repoRoot,
  smallDisk,
} from "./support.js";

const schemasDir = path.join(cliDir, "schemas");
const names = [...Object.keys(commandDataSchemas), FAILURE_DOCUMENT];

let scratch: Scratch;
beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-json-schema-");
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("JSON Schemas of the --json documents", () => {
  it("the shipped files are the zod schemas' (pnpm --filter lifeboat schemas writes them)", () => {
    expect(readdirSync(schemasDir).sort()).toEqual(names.map(jsonSchemaFileName).sort());
    for (const name of names) {
      const file = readFileSync(path.join(schemasDir, jsonSchemaFileName(name)), "utf8");
      expect(JSON.parse(file), name).toEqual(jsonSchemaOf(name));
    }
  });

  it("lifeboat schema prints them, lists them, and refuses a name without a document", () => {
    const plan = cli(["schema", "plan"]);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)).toEqual(
      JSON.parse(readFileSync(path.join(schemasDir, "plan.schema.json"), "utf8")),
    );
    const two = cli(["--json", "schema", "reset", "schedule"]);
    expect(JSON.parse(two.stdout).data.schema.title).toBe("lifeboat --json reset schedule");
    const list = cli(["--json", "schema"]);
    expect(JSON.parse(list.stdout).data.commands).toEqual(names);
    const none = cli(["--json", "schema", "nosuch"]);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout).error.code).toBe("CLI_USAGE");
  });

  it("a Python 3 client resets a disk through --json, checking every document against them", async () => {
    requireRoot();
    requireTools("python3");
    const hasJsonschema = spawnSync("python3", ["-c", "import jsonschema"]).status === 0;
    expect(hasJsonschema, "python3-jsonschema is missing: apt-get install python3-jsonschema").toBe(
      true,
    );
    const disk = await smallDisk(scratch);
    provisionSmall(disk, keygen(scratch).privateKey);
    const example = path.join(repoRoot, "examples/python/reset_keep_home.py");
    const stamp = "20261205T010000Z";
    const run = () =>
      spawnSync(
        "python3",
        [example, "--lifeboat", bin, "--disk", disk, "--stamp", stamp, "--yes"],
        { encoding: "utf8", timeout: 300_000 },
      );
    const ok = run();
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/digest: sha256:[0-9a-f]{64}/);
    expect(ok.stdout).toMatch(/\d+\/\d+ Swap root and root\.new-/);
    expect(ok.stdout).toContain("reset done");
    const paths = cliJson(["subvol", "list", "--disk", disk], subvolListDataSchema).subvolumes.map(
      (s) => s.path,
    );
    expect(paths).toContain(`root.old-${stamp}`);
    // Again with the same stamp: the plan is refused, the failure document checked, its exit code kept.
    const again = run();
    expect(again.stderr).toContain("lifeboat plan: RESET_BAD_REQUEST");
    expect(again.status).toBe(
      JSON.parse(cli(["--json", "plan", "--disk", disk, "--stamp", stamp]).stdout).exitCode,
    );
    expect(again.status).not.toBe(0);
  });
});
