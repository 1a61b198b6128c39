/**
 * The boot modes of the recovery environment (issue #16): GRUB's "Reset to
 * factory settings" boots it with `lifeboat.mode=factory-reset`, and /init
 * runs the CLI's real command for that mode from /lifeboat/args.factory-reset.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderInit } from "../src/_internal/init-script.js";
import { RECOVERY_MODES } from "../src/build.js";
import { DEFAULT_CLI_ARGUMENTS, renderCliArgumentFiles } from "../src/index.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lifeboat-modes-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The part of the rendered /init that picks the mode and reads its arguments, run for real by busybox sh. */
async function argumentsFor(mode: string, files: Record<string, string>): Promise<string[]> {
  const init = renderInit({ kernelVersion: "6.1.0-56-amd64" });
  const lines = init.split("\n");
  const modeCase = lines.find((l) => l.startsWith('case "$MODE" in interactive|'));
  const from = lines.findIndex((l) => l.startsWith("ARGS_FILE="));
  const to = lines.findIndex((l) => l.startsWith('done < "$ARGS_FILE"'));
  expect(modeCase).toBeDefined();
  expect(from).toBeGreaterThan(0);
  expect(to).toBeGreaterThan(from);
  const root = await mkdtemp(path.join(dir, "root-"));
  await mkdir(path.join(root, "lifeboat"));
  for (const [name, text] of Object.entries(files))
    await writeFile(path.join(root, "lifeboat", name), text);
  const snippet = [
    'say() { echo "LIFEBOAT-RECOVERY $*" >&2; }',
    `MODE=${mode} REQUEST_FILE=/run/req.json DIGEST=sha256:ab DISK=/dev/vda RECOVERY=/dev/vda3`,
    modeCase,
    ...lines.slice(from, to + 1),
    `printf '%s\\n' "$MODE" "$@"`,
  ]
    .join("\n")
    .replaceAll("/lifeboat/", `${root}/lifeboat/`);
  const r = await createExecaRunner().run("busybox", ["sh", "-c", snippet]);
  if (r.isErr()) throw new Error(r.error.message);
  return r.value.stdout.trimEnd().split("\n");
}

describe("lifeboat.mode=factory-reset", () => {
  it("has its own argument file, the CLI's real command, and custom arguments keep it", () => {
    expect(RECOVERY_MODES).toEqual(["interactive", "unattended", "factory-reset"]);
    expect(DEFAULT_CLI_ARGUMENTS["factory-reset"]).toEqual([
      "recovery",
      "--factory-reset",
      "--disk",
      "{disk}",
    ]);
    const files = renderCliArgumentFiles({ interactive: ["a"], unattended: ["b"] });
    expect(files).toEqual({
      interactive: "a\n",
      unattended: "b\n",
      "factory-reset": "recovery\n--factory-reset\n--disk\n{disk}\n",
    });
  });

  it("/init accepts the mode and runs recovery --factory-reset --disk <the disk it found>", async () => {
    const files = Object.fromEntries(
      Object.entries(renderCliArgumentFiles(DEFAULT_CLI_ARGUMENTS)).map(([m, t]) => [
        `args.${m}`,
        t,
      ]),
    );
    expect(await argumentsFor("factory-reset", files)).toEqual([
      "factory-reset",
      "recovery",
      "--factory-reset",
      "--disk",
      "/dev/vda",
    ]);
    expect(await argumentsFor("interactive", files)).toEqual([
      "interactive",
      "recovery",
      "--disk",
      "/dev/vda",
    ]);
    expect(await argumentsFor("unattended", files)).toEqual([
      "unattended",
      "recovery",
      "--request",
      "/run/req.json",
      "--digest",
      "sha256:ab",
      "--disk",
      "/dev/vda",
    ]);
    // An unknown mode is interactive; an environment built before the mode existed (no file) too.
    expect(await argumentsFor("bogus", files)).toEqual([
      "interactive",
      "recovery",
      "--disk",
      "/dev/vda",
    ]);
    const old = { "args.interactive": files["args.interactive"] ?? "" };
    expect((await argumentsFor("factory-reset", old)).slice(1)).toEqual([
      "recovery",
      "--disk",
      "/dev/vda",
    ]);
  });

  it("the whole /init parses with busybox sh -n", async () => {
    const file = path.join(dir, "init");
    await writeFile(file, renderInit({ kernelVersion: "6.1.0-56-amd64" }));
    const r = await createExecaRunner().run("busybox", ["sh", "-n", file]);
    expect(r.isOk() ? "" : r.error.message).toBe("");
  });
});
