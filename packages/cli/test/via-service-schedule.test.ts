// `lifeboat --via-service reset schedule|unschedule --disk /dev/…` (issue #20): the CLI, run
// as the unprivileged user nobody, schedules a reset at the disk's next boot through lifeboatd
// on a real private system bus (real dbus-daemon, real polkitd in a private mount namespace;
// packages/service/test/private-bus.ts). Without a polkit rule: exit 1, PERMISSION_DENIED;
// with the rule: the same document as in process (request, digest, unit, its links, entry),
// the request file on the disk's top level, and unschedule removes it all; options that only
// make sense in process, or --disk without --via-service, are CLI_USAGE (exit 2). The CLI runs
// from a copy of its one-file bundle in a folder nobody can read. Needs root, loop devices,
// dbus-daemon, polkitd.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { openMachine } from "@lifeboat/reset";
import { SCHEDULED_REQUEST } from "@lifeboat/reset/layout";
import { attachLoop, requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  asNobody,
  type PrivateSystem,
  type Run,
  startPrivateSystem,
} from "../../service/test/private-bus.js";
import { cliDir, ensureBuilt, keygen, provisionSmall, runner, smallDisk } from "./support.js";

const GRANT_NOBODY = `polkit.addRule(function (action, subject) {
  if (action.id.indexOf("org.lifeboat.Lifeboat1.") === 0 && subject.user === "nobody")
    return polkit.Result.YES;
});
`;

describe("lifeboat --via-service reset schedule|unschedule as nobody, on a private system bus", () => {
  let scratch: Scratch;
  let system: PrivateSystem;
  let loop: string;
  let runDirectory: string;
  let cli: string;

  /** The CLI bundle run as nobody with the private bus's address. */
  function lifeboat(args: readonly string[]): Promise<Run> {
    return new Promise((resolve, reject) => {
      const [cmd, ...argv] = asNobody([process.execPath, cli, ...args]);
      const child = spawn(cmd ?? "", argv, {
        env: { ...system.env, HOME: "/nonexistent" },
        cwd: "/",
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  async function json(args: readonly string[]) {
    const r = await lifeboat(["--via-service", "--json", ...args]);
    let doc: Record<string, unknown> = {};
    try {
      doc = JSON.parse(r.stdout) as Record<string, unknown>;
    } catch {
      throw new Error(`not one JSON document: ${r.stdout}\n${r.stderr}\n${system.serviceLog()}`);
    }
    return { code: r.code, doc, stderr: r.stderr };
  }

  async function onTop<T>(body: (top: string) => Promise<T>): Promise<T> {
    const m = (await openMachine(runner, { disk: loop, runDirectory }))._unsafeUnwrap();
    try {
      return await body(m.top ?? "");
    } finally {
      await m.close();
    }
  }

  beforeAll(async () => {
    requireTools("dbus-daemon", "busctl", "setpriv", "unshare", "nsenter");
    ensureBuilt();
    scratch = await Scratch.create("via-service-schedule-");
    const image = await smallDisk(scratch);
    const keys = keygen(scratch);
    provisionSmall(image, keys.privateKey);
    loop = await attachLoop(scratch, image);
    runDirectory = scratch.path("run");
    await mkdir(runDirectory);
    // The one-file bundle, where nobody can read it.
    const dir = await mkdtemp("/tmp/lifeboat-cli-");
    scratch.defer(() => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    cli = path.join(dir, "lifeboat.js");
    await copyFile(path.join(cliDir, "dist/lifeboat-standalone.js"), cli);
    await chmod(cli, 0o644);
    scratch.defer(async () => {
      const m = await openMachine(runner, { disk: loop, runDirectory });
      if (m.isOk()) await m.value.close();
    });
    system = await startPrivateSystem(scratch, { runDirectory, trustedKey: keys.publicKey });
  }, 300_000);

  afterAll(async () => {
    await scratch?.cleanup();
  });

  test("without a polkit rule: exit 1 with PERMISSION_DENIED, nothing written", async () => {
    await system.setRules("");
    const r = await json(["reset", "schedule", "--disk", loop]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.doc).toMatchObject({ ok: false, error: { code: "PERMISSION_DENIED" } });
    expect(await onTop(async (top) => existsSync(path.join(top, SCHEDULED_REQUEST)))).toBe(false);
  });

  test("with the rule: schedule gives the in-process document and writes the request; unschedule removes it all", async () => {
    await system.setRules(GRANT_NOBODY);
    const r = await json(["reset", "schedule", "--disk", loop, "--stamp", "20261205T080000Z"]);
    expect(r.code, `${r.stderr}\n${system.serviceLog()}`).toBe(0);
    const d = r.doc.data as Record<string, unknown>;
    expect(d).toMatchObject({
      request: { kind: "reset-keep-home", stamp: "20261205T080000Z" },
      requestPath: SCHEDULED_REQUEST,
      unit: "root/etc/systemd/system/lifeboat-factory-reset.service",
      bootEntry: "loader/entries/lifeboat-factory-reset.conf",
      nextEntry: "lifeboat-factory-reset",
    });
    expect(d.wantedBy).toHaveLength(3);
    expect(String(d.digest)).toMatch(/^sha256:[0-9a-f]{64}$/);
    const onDisk = await onTop((top) => readFile(path.join(top, SCHEDULED_REQUEST), "utf8"));
    expect(JSON.parse(onDisk)).toEqual({ kind: "reset-keep-home", stamp: "20261205T080000Z" });

    const text = await lifeboat(["--via-service", "reset", "unschedule", "--disk", loop]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("The scheduled reset is cancelled (6 things removed).");
    expect(await onTop(async (top) => existsSync(path.join(top, SCHEDULED_REQUEST)))).toBe(false);
    const again = await json(["reset", "unschedule", "--disk", loop]);
    expect(again).toMatchObject({ code: 0, doc: { ok: true, data: { removed: [] } } });
  });

  test("in-process options with --via-service, no --disk, and --disk without --via-service are CLI_USAGE (exit 2)", async () => {
    await system.setRules(GRANT_NOBODY);
    for (const args of [
      ["reset", "schedule", "--disk", loop, "--boot", "/boot"],
      ["reset", "schedule"],
      ["reset", "unschedule", "--disk", loop, "--system-root", "/"],
    ]) {
      const r = await json(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.doc).toMatchObject({ ok: false, error: { code: "CLI_USAGE" } });
    }
    const local = await lifeboat(["--json", "reset", "schedule", "--disk", loop]);
    expect(local.code).toBe(2);
    expect(JSON.parse(local.stdout)).toMatchObject({ ok: false, error: { code: "CLI_USAGE" } });
    const bad = await json(["reset", "schedule", "--disk", loop, "--mode", "cleanup"]);
    expect(bad.code).not.toBe(0);
    expect(bad.doc).toMatchObject({ ok: false, error: { code: "RESET_BAD_REQUEST" } });
    expect(await onTop(async (top) => existsSync(path.join(top, SCHEDULED_REQUEST)))).toBe(false);
  });
});
