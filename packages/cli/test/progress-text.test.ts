// The text progress of `image install` (no terminal, so one line every 2 s at
// most) ends at the total: the copy's last state is printed when the copy
// completes, even if it came less than 2 s after the previous line (it used to
// end at "4.0 MiB of 177 MiB"). No root, no loop devices.
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { imageBuildDataSchema, imageKeygenDataSchema } from "../src/json-schemas.js";
import { cli, cliJson, ensureBuilt } from "./support.js";

let scratch: Scratch;
let keys: { privateKey: string; publicKey: string };
let set: string;

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-progress-text-");
  keys = cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
  const src = scratch.path("src");
  await mkdir(src);
  await writeFile(path.join(src, "os-release"), "VERSION_ID=1\n");
  // Incompressible, so the image is several 4 MiB copy blocks.
  await writeFile(path.join(src, "blob"), randomBytes(12 * 1024 * 1024));
  set = scratch.path("set");
  cliJson(
    [
      "image",
      "build",
      src,
      "--out",
      set,
      "--product",
      "P",
      "--version",
      "1",
      "--key",
      keys.privateKey,
    ],
    imageBuildDataSchema,
  );
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

test("image install: the last 'copying' line is the whole set (done = total)", async () => {
  const root = scratch.path("recovery");
  await mkdir(root);
  const r = cli([
    "image",
    "install",
    set,
    "--trusted-key",
    keys.publicKey,
    "--recovery-root",
    root,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const lines = stripVTControlCharacters(r.stderr)
    .split("\n")
    .filter((l) => l.trimStart().startsWith("copying:"));
  expect(lines.length).toBeGreaterThanOrEqual(1);
  const last = /copying: (.+) of (.+)$/.exec(lines.at(-1)!.trim());
  expect(last, lines.join("\n")).not.toBeNull();
  expect(last![1]).toBe(last![2]);
  // The same holds for the verification of the copy.
  const verify = stripVTControlCharacters(r.stderr)
    .split("\n")
    .filter((l) => l.trimStart().startsWith("verifying copy:"));
  expect(verify.length).toBeGreaterThanOrEqual(1);
  const v = /verifying copy: (.+) of (.+)$/.exec(verify.at(-1)!.trim());
  expect(v![1]).toBe(v![2]);
}, 300_000);
