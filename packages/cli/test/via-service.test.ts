// `lifeboat --via-service` (issue #20): the CLI, run as the unprivileged user nobody,
// talks to lifeboatd on a real private system bus (real dbus-daemon, real polkitd in a
// private mount namespace; packages/service/test/private-bus.ts) instead of running in
// process. Without a polkit rule, inspect exits 1 with PERMISSION_DENIED and a clear
// message; with the rule, inspect, plan, apply (a keep-home reset of a loop-backed disk:
// /home kept, root the factory's again), resume, checkpoint create, plan/apply --mode
// undo-reset (the root from before the reset back) and abandon give the same documents
// as in process, a wrong digest exits 3, a command lifeboatd does not offer
// exits 2; Ctrl-C cancels the job; no lifeboatd or no bus is CLI_SERVICE_UNAVAILABLE.
// The CLI runs from a copy of its one-file bundle in a folder nobody can read: the
// checkout may sit in a 0700 folder. Needs root, loop devices, dbus-daemon, polkitd.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { openMachine } from "@lifeboat/reset";
import { HOME_SUBVOLUME, oldRootName, ROOT_SUBVOLUME } from "@lifeboat/reset/layout";
import { attachLoop, requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as serviceNames from "../../service/src/names.js";
import {
  asNobody,
  type PrivateSystem,
  type Run,
  startPrivateSystem,
} from "../../service/test/private-bus.js";
import {
  SERVICE_BUS_NAME,
  SERVICE_ERROR_PREFIX,
  SERVICE_JOB_INTERFACE,
  SERVICE_MANAGER_INTERFACE,
  SERVICE_OBJECT_PATH,
} from "../src/via-service.js";
import { cliDir, ensureBuilt, keygen, provisionSmall, runner, smallDisk } from "./support.js";

const GRANT_NOBODY = `polkit.addRule(function (action, subject) {
  if (action.id.indexOf("org.lifeboat.Lifeboat1.") === 0 && subject.user === "nobody")
    return polkit.Result.YES;
});
`;

test("the client's bus names are lifeboatd's", () => {
  expect({
    SERVICE_BUS_NAME,
    SERVICE_OBJECT_PATH,
    SERVICE_MANAGER_INTERFACE,
    SERVICE_JOB_INTERFACE,
    SERVICE_ERROR_PREFIX,
  }).toEqual({
    SERVICE_BUS_NAME: serviceNames.BUS_NAME,
    SERVICE_OBJECT_PATH: serviceNames.OBJECT_PATH,
    SERVICE_MANAGER_INTERFACE: serviceNames.MANAGER_INTERFACE,
    SERVICE_JOB_INTERFACE: serviceNames.JOB_INTERFACE,
    SERVICE_ERROR_PREFIX: serviceNames.ERROR_PREFIX,
  });
});

describe("lifeboat --via-service as nobody, on a private system bus", () => {
  let scratch: Scratch;
  let system: PrivateSystem;
  let loop: string;
  let runDirectory: string;
  let cli: string;
  let keys: { privateKey: string; publicKey: string };

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
    scratch = await Scratch.create("via-service-");
    const image = await smallDisk(scratch);
    keys = keygen(scratch);
    provisionSmall(image, keys.privateKey);
    loop = await attachLoop(scratch, image);
    runDirectory = scratch.path("run");
    await mkdir(runDirectory);
    await onTop(async (top) => {
      await writeFile(path.join(top, HOME_SUBVOLUME, "letter.txt"), "keep me\n");
      await writeFile(path.join(top, ROOT_SUBVOLUME, "etc/after-factory"), "reset me\n");
    });
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

  test("without a polkit rule: inspect exits 1 with PERMISSION_DENIED, in --json and in text", async () => {
    const r = await json(["inspect", "--disk", loop]);
    expect(r.code).toBe(1);
    expect(r.doc).toMatchObject({
      ok: false,
      command: "inspect",
      exitCode: 1,
      error: { code: "PERMISSION_DENIED" },
    });
    expect(String((r.doc.error as { message: string }).message)).toContain(
      "Not authorized to org.lifeboat.Lifeboat1.read",
    );
    const text = await lifeboat(["--via-service", "inspect", "--disk", loop]);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe("");
    expect(text.stderr).toContain("Not authorized to org.lifeboat.Lifeboat1.read");
    // Without --via-service, nobody cannot open the disk at all (the point of the service).
    const direct = await lifeboat(["--json", "inspect", "--disk", loop]);
    expect(direct.code).not.toBe(0);
  });

  test("with the rule: inspect, plan, a wrong digest (exit 3), apply keeping /home, resume", async () => {
    await system.setRules(GRANT_NOBODY);
    const inspected = await json(["inspect", "--disk", loop]);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.doc).toMatchObject({
      ok: true,
      command: "inspect",
      data: { disk: null, state: { factory: { product: "P", intact: true } } },
    });
    const text = await lifeboat(["--via-service", "inspect", "--disk", loop]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("Factory snapshot");

    const stamp = "20261205T070000Z";
    const planned = await json(["plan", "--disk", loop, "--stamp", stamp]);
    expect(planned.code, planned.stderr).toBe(0);
    const data = planned.doc.data as { digest: string; plan: { kind: string; digest: string } };
    expect(data.plan.kind).toBe("reset-keep-home");
    expect(data.plan.digest).toBe(data.digest);

    const wrong = await json([
      "apply",
      "--disk",
      loop,
      "--stamp",
      stamp,
      "--yes",
      "--confirm",
      `sha256:${"0".repeat(64)}`,
    ]);
    expect(wrong.code).toBe(3);
    expect(wrong.doc).toMatchObject({ ok: false, error: { code: "CONFIRMATION_MISMATCH" } });

    const applied = await lifeboat([
      "--via-service",
      "--json",
      "--progress",
      "json",
      "apply",
      "--disk",
      loop,
      "--stamp",
      stamp,
      "--yes",
      "--confirm",
      data.digest,
    ]);
    expect(applied.code, `${applied.stdout}${applied.stderr}\n${system.serviceLog()}`).toBe(0);
    const doc = JSON.parse(applied.stdout) as {
      ok: boolean;
      data: { executed: boolean; summary: { planDigest: string; ranStepIds: string[] } };
    };
    expect(doc.ok).toBe(true);
    expect(doc.data.executed).toBe(true);
    expect(doc.data.summary.planDigest).toBe(data.digest);
    expect(doc.data.summary.ranStepIds.length).toBeGreaterThan(0);
    // Progress came through the job's signals, as executor events on stderr.
    const events = applied.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(events).toContain("step-started");
    expect(events).toContain("step-finished");

    await onTop(async (top) => {
      expect(await readFile(path.join(top, HOME_SUBVOLUME, "letter.txt"), "utf8")).toBe(
        "keep me\n",
      );
      expect(existsSync(path.join(top, ROOT_SUBVOLUME, "etc/after-factory"))).toBe(false);
      expect(existsSync(path.join(top, oldRootName(stamp), "etc/after-factory"))).toBe(true);
    });

    const resumed = await json(["resume", "--disk", loop]);
    expect(resumed.code, JSON.stringify(resumed.doc)).toBe(0);
    expect(resumed.doc).toMatchObject({ ok: true, command: "resume" });
  });

  test("Ctrl-C during an apply through the service cancels its job (exit 130, ABORTED); resume through the service finishes it", async () => {
    await system.setRules(GRANT_NOBODY);
    const stamp = "20261205T090000Z";
    const planned = await json(["plan", "--disk", loop, "--stamp", stamp]);
    const digest = (planned.doc.data as { digest: string }).digest;
    const [cmd, ...argv] = asNobody([
      process.execPath,
      cli,
      "--via-service",
      "--json",
      "--progress",
      "json",
      "apply",
      "--disk",
      loop,
      "--stamp",
      stamp,
      "--yes",
      "--confirm",
      digest,
    ]);
    const r = await new Promise<Run>((resolve, reject) => {
      const child = spawn(cmd ?? "", argv, { env: system.env, cwd: "/" });
      let stdout = "";
      let stderr = "";
      let sent = false;
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
        // setpriv execs node: the child's pid is the CLI's.
        if (!sent && stderr.includes('"type":"step-started"')) {
          sent = true;
          child.kill("SIGINT");
        }
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: "ABORTED" } });
    const inspected = await json(["inspect", "--disk", loop]);
    expect(
      (inspected.doc.data as { state: { unfinishedPlan?: { digest: string } } }).state
        .unfinishedPlan?.digest,
    ).toBe(digest);
    const resumed = await json(["resume", "--disk", loop]);
    expect(resumed.code, JSON.stringify(resumed.doc)).toBe(0);
    await onTop(async (top) => {
      expect(existsSync(path.join(top, oldRootName(stamp)))).toBe(true);
      expect(await readFile(path.join(top, HOME_SUBVOLUME, "letter.txt"), "utf8")).toBe(
        "keep me\n",
      );
    });
  });

  test("lifeboatd not on the bus, or no bus at all: CLI_SERVICE_UNAVAILABLE (exit 1) with a clear message", async () => {
    await system.killService();
    try {
      const r = await json(["inspect", "--disk", loop]);
      expect(r.code).toBe(1);
      expect(r.doc).toMatchObject({ ok: false, error: { code: "CLI_SERVICE_UNAVAILABLE" } });
      expect(String((r.doc.error as { message: string }).message)).toContain(
        "lifeboatd (org.lifeboat.Lifeboat1) is not on the bus",
      );
    } finally {
      await system.startService();
    }
    const [cmd, ...argv] = asNobody([
      process.execPath,
      cli,
      "--via-service",
      "--json",
      "inspect",
      "--disk",
      loop,
    ]);
    const r = await new Promise<Run>((resolve, reject) => {
      const child = spawn(cmd ?? "", argv, {
        env: { ...system.env, LIFEBOAT_BUS_ADDRESS: "unix:path=/nonexistent/bus" },
        cwd: "/",
      });
      let stdout = "";
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr: "" }));
    });
    expect(r.code, r.stdout).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      error: { code: "CLI_SERVICE_UNAVAILABLE" },
    });
  });

  test("with the rule: checkpoint create and rollback; a command lifeboatd does not offer exits 2 (CLI_USAGE)", async () => {
    await system.setRules(GRANT_NOBODY);
    const made = await json([
      "checkpoint",
      "create",
      "--disk",
      loop,
      "--name",
      "via-service",
      "--reason",
      "before an upgrade",
    ]);
    expect(made.code, JSON.stringify(made.doc)).toBe(0);
    expect(made.doc).toMatchObject({
      ok: true,
      command: "checkpoint create",
      data: { checkpoint: { id: "via-service", reason: "before an upgrade" } },
    });
    // Roll back to it through the service: its plan, the same confirmation, Apply with the digest.
    const noConfirm = await json([
      "checkpoint",
      "rollback",
      "via-service",
      "--disk",
      loop,
      "--yes",
    ]);
    expect(noConfirm.code).toBe(2);
    const stamp = "20261205T080000Z";
    const dry = await json([
      "checkpoint",
      "rollback",
      "via-service",
      "--disk",
      loop,
      "--stamp",
      stamp,
      "--dry-run",
    ]);
    expect(dry.code, JSON.stringify(dry.doc)).toBe(0);
    const digest = (dry.doc.data as { plan: { digest: string; kind: string } }).plan.digest;
    expect((dry.doc.data as { plan: { kind: string } }).plan.kind).toBe("rollback");
    const rolled = await json([
      "checkpoint",
      "rollback",
      "via-service",
      "--disk",
      loop,
      "--stamp",
      stamp,
      "--yes",
      "--confirm",
      digest,
    ]);
    expect(rolled.code, `${JSON.stringify(rolled.doc)}\n${system.serviceLog()}`).toBe(0);
    expect(rolled.doc).toMatchObject({
      ok: true,
      command: "checkpoint rollback",
      data: { executed: true, summary: { planDigest: digest } },
    });
    const notOffered = await json(["checkpoint", "list", "--disk", loop]);
    expect(notOffered.code).toBe(2);
    expect(notOffered.doc).toMatchObject({ ok: false, error: { code: "CLI_USAGE" } });
    const topGiven = await json(["inspect", "--top", "/"]);
    expect(topGiven.code).toBe(2);
    expect(topGiven.doc).toMatchObject({ ok: false, error: { code: "CLI_USAGE" } });
  });

  test("with the rule: image install <dir> through Update (staged, verified, installed by lifeboatd; progress from the job); --allow-rollback is CLI_USAGE", async () => {
    await system.setRules(GRANT_NOBODY);
    // Readable by nobody, who reads manifest.json for the digest; lifeboatd reads the set as root.
    const parent = await mkdtemp("/tmp/lifeboat-set-");
    scratch.defer(() => rm(parent, { recursive: true, force: true }));
    await chmod(parent, 0o755);
    const set = path.join(parent, "P-2");
    const built = await runner.run(process.execPath, [
      path.join(cliDir, "dist/bin.js"),
      "--json",
      "image",
      "build",
      "--disk",
      loop,
      "--out",
      set,
      "--key",
      keys.privateKey,
      "--product",
      "P",
      "--version",
      "2",
      "--security-epoch",
      "1",
    ]);
    expect(built.isOk(), built.isErr() ? built.error.message : "").toBe(true);
    await runner.run("chmod", ["-R", "a+rX", set]);
    const refused = await json(["image", "install", set, "--disk", loop, "--allow-rollback", "x"]);
    expect(refused.code).toBe(2);
    expect(refused.doc).toMatchObject({ ok: false, error: { code: "CLI_USAGE" } });
    const r = await lifeboat([
      "--via-service",
      "--json",
      "--progress",
      "json",
      "image",
      "install",
      set,
      "--disk",
      loop,
    ]);
    expect(r.code, `${r.stdout}${r.stderr}\n${system.serviceLog()}`).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      data: { setId: string; previousSetId: string | null; securityEpoch: number };
    };
    expect(doc).toMatchObject({ ok: true, data: { securityEpoch: 1 } });
    expect(doc.data.setId).not.toBe(doc.data.previousSetId);
    const events = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(events).toContain("step-progress");
    const inspected = await json(["inspect", "--disk", loop]);
    const digest = `sha256:${createHash("sha256")
      .update(await readFile(path.join(set, "manifest.json")))
      .digest("hex")}`;
    expect(inspected.doc).toMatchObject({ data: { state: { recovery: { digest } } } });
  });

  test("with the rule: rescue --to <device> through PlanRescue/Rescue (a dry run's digest, a wrong one exits 3, the right one copies home); --to a directory is CLI_USAGE", async () => {
    await system.setRules(GRANT_NOBODY);
    await writeFile(scratch.path("target.img"), "");
    await runner.run("truncate", ["-s", "64M", scratch.path("target.img")]);
    await runner.run("mkfs.ext4", ["-q", "-F", scratch.path("target.img")]);
    const target = await attachLoop(scratch, scratch.path("target.img"));
    const stamp = "20261205T100000Z";
    const args = ["rescue", "--disk", loop, "--to", target, "--stamp", stamp];
    const dir = await json(["rescue", "--disk", loop, "--to", "/tmp", "--stamp", stamp]);
    expect(dir.code).toBe(2);
    expect(dir.doc).toMatchObject({ ok: false, error: { code: "CLI_USAGE" } });
    const dry = await json([...args, "--dry-run"]);
    expect(dry.code, `${JSON.stringify(dry.doc)}\n${system.serviceLog()}`).toBe(0);
    const plan = (dry.doc.data as { plan: { kind: string; digest: string } }).plan;
    expect(plan.kind).toBe("rescue");
    const wrong = await json([...args, "--yes", "--confirm", `sha256:${"0".repeat(64)}`]);
    expect(wrong.code).toBe(3);
    expect(wrong.doc).toMatchObject({ ok: false, error: { code: "CONFIRMATION_MISMATCH" } });
    const rescued = await json([...args, "--yes", "--confirm", plan.digest]);
    expect(rescued.code, `${JSON.stringify(rescued.doc)}\n${system.serviceLog()}`).toBe(0);
    expect(rescued.doc).toMatchObject({
      ok: true,
      command: "rescue",
      data: { executed: true, summary: { planDigest: plan.digest } },
    });
    const mnt = await mkdtemp(scratch.path("mnt-"));
    await runner.run("mount", ["-o", "ro", target, mnt]);
    try {
      expect(await readFile(path.join(mnt, `lifeboat-rescue-${stamp}`, "letter.txt"), "utf8")).toBe(
        "keep me\n",
      );
    } finally {
      await runner.run("umount", [mnt]);
    }
  });

  test("with the rule: plan/apply --mode undo-reset put the root from before the last reset back (/home kept); abandon with nothing unfinished", async () => {
    await system.setRules(GRANT_NOBODY);
    await onTop((top) => writeFile(path.join(top, ROOT_SUBVOLUME, "etc/before-reset"), "mine\n"));
    const stamp = "20261205T110000Z";
    const reset = await json(["plan", "--disk", loop, "--stamp", stamp]);
    const resetDigest = (reset.doc.data as { digest: string }).digest;
    const applied = await json([
      ...["apply", "--disk", loop, "--stamp", stamp],
      ...["--yes", "--confirm", resetDigest],
    ]);
    expect(applied.code, `${JSON.stringify(applied.doc)}\n${system.serviceLog()}`).toBe(0);

    const undoStamp = "20261205T110100Z";
    const undo = ["--disk", loop, "--mode", "undo-reset", "--stamp", undoStamp];
    const planned = await json(["plan", ...undo]);
    expect(planned.code, JSON.stringify(planned.doc)).toBe(0);
    const plan = (planned.doc.data as { plan: { kind: string; digest: string } }).plan;
    expect(plan.kind).toBe("undo-reset");
    const undone = await json(["apply", ...undo, "--yes", "--confirm", plan.digest]);
    expect(undone.code, `${JSON.stringify(undone.doc)}\n${system.serviceLog()}`).toBe(0);
    expect(undone.doc).toMatchObject({
      ok: true,
      command: "apply",
      data: { executed: true, summary: { planDigest: plan.digest } },
    });
    await onTop(async (top) => {
      expect(await readFile(path.join(top, ROOT_SUBVOLUME, "etc/before-reset"), "utf8")).toBe(
        "mine\n",
      );
      expect(existsSync(path.join(top, oldRootName(stamp)))).toBe(false);
      expect(existsSync(path.join(top, oldRootName(undoStamp), "etc"))).toBe(true);
      expect(await readFile(path.join(top, HOME_SUBVOLUME, "letter.txt"), "utf8")).toBe(
        "keep me\n",
      );
    });

    const abandoned = await json(["abandon", "--disk", loop]);
    expect(abandoned.code, JSON.stringify(abandoned.doc)).toBe(0);
    expect(abandoned.doc).toMatchObject({ ok: true, command: "abandon", data: { removed: [] } });
    expect((abandoned.doc.data as { planDigest?: string }).planDigest).toBeUndefined();
    const text = await lifeboat(["--via-service", "abandon", "--disk", loop]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("Nothing to abandon");
  });
});
