/**
 * The `--json` contract (issue #19): every outcome of the real binary is
 * exactly one JSON document on stdout that `jsonFailureSchema` accepts, with
 * a documented code and exit code: usage errors, an exception escaping a
 * command, and an interruption.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { ioError } from "@lifeboat/core";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureDocument } from "../src/context.js";
import { jsonFailureSchema } from "../src/json-schemas.js";
import { bin, cli, cliJsonFailure, ensureBuilt } from "./support.js";

let scratch: Scratch;

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-json-contract-");
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

/** stdout holds exactly one JSON document (JSON.parse refuses a second one). */
function oneDocument(stdout: string) {
  return jsonFailureSchema.parse(JSON.parse(stdout));
}

describe("lifeboat --json: one document for every outcome", () => {
  it.each([
    ["an unknown option", ["--json", "--bogus"], ""],
    ["an unknown option of a command", ["--json", "inspect", "--bogus"], "inspect"],
    ["--json after the command", ["inspect", "--bogus", "--json"], "inspect"],
    ["a missing argument", ["--json", "image", "verify"], "image verify"],
    ["an unknown command", ["--json", "nosuch"], ""],
    ["no command", ["--json"], ""],
    ["a group without its command", ["--json", "image"], "image"],
  ])("usage error, %s: CLI_USAGE, exit 2", (_what, args, command) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    const doc = oneDocument(r.stdout);
    expect(doc).toMatchObject({ ok: false, command, exitCode: 2, error: { code: "CLI_USAGE" } });
    expect(doc.error.message).not.toMatch(/^error:/);
  });

  it("without --json a usage error stays text on stderr (exit 2, stdout empty)", () => {
    const r = cli(["--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("unknown option '--bogus'");
  });

  it("an exception escaping a command (a key file that is not there): CLI_FAILED, exit 1, message, no stack", () => {
    const missing = scratch.path("no-such-key.pem");
    const { code, doc } = cliJsonFailure([
      "image",
      "verify",
      scratch.path("set"),
      "--trusted-key",
      missing,
    ]);
    expect(code).toBe(1);
    expect(doc).toMatchObject({
      ok: false,
      command: "image verify",
      exitCode: 1,
      error: { code: "CLI_FAILED", errno: "ENOENT" },
    });
    expect(doc.error.message).toContain(missing);
    expect(JSON.stringify(doc)).not.toMatch(/\n\s+at /);
  });

  it("IO_FAILED's cause, a Node error, is serialized as { code, message }", async () => {
    const cause: unknown = await readFile(scratch.path("absent")).catch((e: unknown) => e);
    const text = failureDocument("x", ioError(cause, scratch.path("absent"), "read"));
    const doc = oneDocument(text);
    expect(doc.error).toMatchObject({ code: "IO_FAILED", errno: "ENOENT" });
    expect(doc.error.cause).toEqual({
      code: "ENOENT",
      message: (cause as Error).message,
    });
  });

  /** `image build` of 96 MiB of random bytes (mksquashfs takes seconds), signalled once it runs. */
  async function interruptBuild(name: string, signals: number) {
    requireTools("mksquashfs");
    const source = scratch.path(`source-${name}`);
    await mkdir(source);
    for (let i = 0; i < 12; i++) await writeFile(`${source}/part${i}`, randomBytes(8 << 20));
    const out = scratch.path(`set-${name}`);
    const child = spawn(
      process.execPath,
      [bin, "--json", "image", "build", source, "--out", out, "--product", "P", "--version", "1"],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
    );
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    // Started: the command has a child program (mksquashfs) running.
    const childrenOf = `/proc/${child.pid}/task/${child.pid}/children`;
    for (let i = 0; i < 600 && readFileSync(childrenOf, "utf8").trim() === ""; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(childrenOf, "utf8").trim()).not.toBe("");
    for (let i = 0; i < signals; i++) child.kill("SIGINT");
    return { code: await exited, stdout, out };
  }

  it("SIGINT while a command runs: one ABORTED document, exit 130, after it cleaned up", async () => {
    const { code, stdout, out } = await interruptBuild("once", 1);
    expect(code).toBe(130);
    const doc = oneDocument(stdout);
    expect(doc).toMatchObject({
      ok: false,
      command: "image build",
      exitCode: 130,
      error: { code: "ABORTED", signal: "SIGINT" },
    });
    expect(doc.error.forced).toBeUndefined();
    // Printed once the command had stopped its program and removed its half-written image.
    expect(readdirSync(out)).not.toContain("root.squashfs");
  }, 120_000);

  it("a second SIGINT does not wait for the command: still exactly one ABORTED document, exit 130", async () => {
    const { code, stdout } = await interruptBuild("twice", 2);
    expect(code).toBe(130);
    expect(oneDocument(stdout)).toMatchObject({
      command: "image build",
      exitCode: 130,
      error: { code: "ABORTED", signal: "SIGINT" },
    });
  }, 120_000);
});
