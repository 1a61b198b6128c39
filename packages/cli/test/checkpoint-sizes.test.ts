/**
 * Issue #19: `lifeboat checkpoint list` had an empty size column. On a
 * real disk image, a checkpoint's size is printed, and `--json` gives the
 * same number as `inspect` gives the checkpoint.
 */
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointListDataSchema } from "../src/json-schemas.js";
import { cli, cliJson, ensureBuilt, smallDisk } from "./support.js";

let scratch: Scratch;
let disk: string;

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-checkpoint-sizes-");
  disk = await smallDisk(scratch);
}, 600_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("lifeboat checkpoint list: sizes", () => {
  it("prints each checkpoint's size, and --json holds the number", () => {
    const made = cli([
      "checkpoint",
      "create",
      "--disk",
      disk,
      "--name",
      "before-x",
      "--reason",
      "t",
    ]);
    expect(made.code, made.stderr).toBe(0);
    const list = cliJson(["checkpoint", "list", "--disk", disk], checkpointListDataSchema);
    const cp = list.checkpoints.find((c) => c.id === "before-x");
    expect(cp?.bytes).toBeGreaterThan(0);
    const human = cli(["checkpoint", "list", "--disk", disk]);
    expect(human.code).toBe(0);
    const row = human.stdout.split("\n").find((l) => l.startsWith("before-x"));
    // id, taken, kernels, size, state, reason: the size is there, in the one formatter's words.
    expect(row).toMatch(/\d+(\.\d)? (B|KiB|MiB|GiB) +intact +t$/);
  }, 300_000);
});
