// lifeboatd end to end (issue #20), on a real private system bus with a real
// polkitd (private mount namespace) and a loop-backed disk provisioned by the
// real CLI. As nobody: Apply is refused by polkit's defaults and changes
// nothing; with a rule granting it, a wrong digest is refused, and the Python
// client (python3-dbus) inspects, plans, applies and sees Progress signals
// until Finished; /home is kept, the root is the factory's again. Two gdbus
// clients apply at once: one gets a job, the other LOCK_HELD; the job runs on
// after its client has gone and a new client reads its result. Needs root,
// loop devices, dbus-daemon, polkitd, python3-dbus, python3-gi.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { HOME_SUBVOLUME, oldRootName, ROOT_SUBVOLUME } from "@lifeboat/reset/layout";
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { asNobody, type PrivateSystem, type Run, run, serviceDir } from "./private-bus.js";
import {
  DEST,
  GRANT_NOBODY,
  MANAGER,
  OBJECT,
  type ServiceBus,
  startServiceBus,
} from "./support.js";

const PYTHON = "/usr/bin/python3"; // the distribution's, with its python3-dbus

let bus: ServiceBus;
let system: PrivateSystem;
let loop: string;
/** Open the disk in this process (the service must not hold it) and run `body` on its top level. */
const onTop = <T>(body: (top: string) => Promise<T>): Promise<T> => bus.onTop(body);

/** A GVariant text literal of a string (what `gdbus call` parses its arguments as). */
const gv = (s: string) => JSON.stringify(s);

/** `gdbus call` of a Manager method (as root unless `nobody`). */
function call(method: string, args: readonly string[], as: "root" | "nobody" = "root") {
  const argv = [
    "gdbus",
    "call",
    "--system",
    "--timeout",
    "600",
    "--dest",
    DEST,
    "--object-path",
    OBJECT,
    "--method",
    `${MANAGER}.${method}`,
    ...args.map(gv),
  ];
  return run(as === "nobody" ? asNobody(argv) : argv, system.env);
}

/** `busctl --json=short call` of a Manager method as root: the reply's values. */
async function callJson(method: string, signature: string, args: readonly string[]) {
  const r = await run(
    [
      "busctl",
      "--system",
      "--json=short",
      "--timeout=600",
      "call",
      DEST,
      OBJECT,
      MANAGER,
      method,
      signature,
      ...args,
    ],
    system.env,
  );
  expect(r.stderr).toBe("");
  return (JSON.parse(r.stdout) as { data: string[] }).data;
}

async function plan(stamp: string): Promise<{ request: string; digest: string }> {
  const request = JSON.stringify({ kind: "reset-keep-home", stamp });
  const [, digest] = await callJson("Plan", "ss", [loop, request]);
  return { request, digest: digest ?? "" };
}

async function subvolumes(): Promise<string[]> {
  const [json] = await callJson("Inspect", "s", [loop]);
  const state = JSON.parse(json ?? "") as {
    btrfs: { subvolumes: { path: string }[] };
  };
  return state.btrfs.subvolumes.map((s) => s.path).sort();
}

async function jobProperty(job: string, name: string): Promise<string> {
  const r = await run(
    ["busctl", "--system", "get-property", DEST, job, "org.lifeboat.Lifeboat1.Job", name],
    system.env,
  );
  return r.stdout.trim();
}

beforeAll(async () => {
  bus = await startServiceBus({ name: "lifeboatd-", tools: ["gdbus", PYTHON] });
  ({ system, loop } = bus);
  await onTop(async (top) => {
    await writeFile(path.join(top, HOME_SUBVOLUME, "letter.txt"), "keep me\n");
    await writeFile(path.join(top, ROOT_SUBVOLUME, "etc/after-factory"), "reset me\n");
  });
}, 300_000);

afterAll(async () => {
  await bus?.cleanup();
});

test("nobody calling Apply is refused by polkit's defaults, and nothing changes", async () => {
  const before = await subvolumes();
  const { request, digest } = await plan("20261205T010000Z");
  const r = await call("Apply", [loop, request, digest], "nobody");
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("GDBus.Error:org.lifeboat.Lifeboat1.Error.PERMISSION_DENIED");
  // Refused before anything was opened: the disk is as it was, no job, nothing mounted.
  expect(await subvolumes()).toEqual(before);
  expect(await onTop(async (top) => existsSync(path.join(top, "root/etc/after-factory")))).toBe(
    true,
  );
  // Reading is refused too for a caller outside an active session.
  const read = await call("Inspect", [loop], "nobody");
  expect(read.stderr).toContain("org.lifeboat.Lifeboat1.Error.PERMISSION_DENIED");
});

test("with a rule granting it: a wrong digest is refused, the right one resets keeping /home (Python client, Progress signals)", async () => {
  await system.setRules(GRANT_NOBODY);
  const before = await subvolumes();
  const { request } = await plan("20261205T010000Z");
  const wrong = await call("Apply", [loop, request, "0".repeat(64)], "nobody");
  expect(wrong.stderr).toContain("org.lifeboat.Lifeboat1.Error.CONFIRMATION_MISMATCH");
  expect(await subvolumes()).toEqual(before);

  const stamp = "20261205T010000Z";
  const py = await run(
    // The program text on the command line: the checkout may be in a folder nobody cannot read.
    asNobody([
      PYTHON,
      "-c",
      await readFile(path.join(serviceDir, "examples/reset-keep-home.py"), "utf8"),
      loop,
      stamp,
    ]),
    system.env,
  );
  expect(py.code, `${py.stdout}${py.stderr}\n${system.serviceLog()}`).toBe(0);
  const lines = py.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines[0]).toEqual({ inspect: { factory: "P", intact: true } });
  const progress = lines.filter((l) => "progress" in l).map((l) => l.progress as unknown[]);
  expect(progress.map((p) => p[0])).toContain("plan-started");
  expect(progress.map((p) => p[0])).toContain("step-finished");
  expect(progress.at(-1)?.[0]).toBe("plan-finished");
  expect(lines.at(-1)).toMatchObject({ finished: { success: true, error_code: "" } });
  const job = lines.find((l) => "job" in l)?.job as string;
  expect(job).toMatch(/^\/org\/lifeboat\/Lifeboat1\/jobs\/\d+$/);
  // Another client, later: the job's result is still on the bus.
  expect(await jobProperty(job, "State")).toBe('s "succeeded"');

  await onTop(async (top) => {
    expect(await readFile(path.join(top, HOME_SUBVOLUME, "letter.txt"), "utf8")).toBe("keep me\n");
    expect(existsSync(path.join(top, ROOT_SUBVOLUME, "etc/after-factory"))).toBe(false);
    expect(existsSync(path.join(top, oldRootName(stamp), "etc/after-factory"))).toBe(true);
  });
});

test("two clients apply at once: one runs (and finishes after its client left), the other gets LOCK_HELD", async () => {
  const { request, digest } = await plan("20261205T020000Z");
  const [a, b] = await Promise.all([
    call("Apply", [loop, request, digest], "nobody"),
    call("Apply", [loop, request, digest], "nobody"),
  ]);
  const outcomes = [a, b].map((r) => (r.code === 0 ? "job" : r.stderr));
  const job = [a, b].find((r) => r.code === 0);
  expect(
    outcomes.filter((o) => o === "job"),
    JSON.stringify(outcomes),
  ).toHaveLength(1);
  expect(outcomes.find((o) => o !== "job")).toContain("org.lifeboat.Lifeboat1.Error.LOCK_HELD");
  // gdbus has exited: the job is nobody's client's, and runs to its end.
  const jobPath = /objectpath '([^']+)'/.exec(job?.stdout ?? "")?.[1] ?? "";
  expect(jobPath).not.toBe("");
  expect(await waitForJob(jobPath)).toBe('s "succeeded"');
  expect(await subvolumes()).toContain(oldRootName("20261205T020000Z"));
});

/** Watch the service's signals (`gdbus monitor`) until `stopWhen` matches a line; returns the lines seen. */
function watchSignals(stopWhen: (line: string) => boolean): {
  done: Promise<string[]>;
  stop: () => void;
} {
  const child = spawn("gdbus", ["monitor", "--system", "--dest", DEST], {
    env: system.env,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const lines: string[] = [];
  let buffered = "";
  const done = new Promise<string[]>((resolve) => {
    child.stdout.on("data", (c: Buffer) => {
      buffered += c.toString();
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (stopWhen(line)) resolve(lines);
      }
    });
    child.on("close", () => resolve(lines));
  });
  return { done, stop: () => child.kill("SIGTERM") };
}

async function waitForJob(job: string): Promise<string> {
  const end = Date.now() + 300_000;
  let state = await jobProperty(job, "State");
  while (state === 's "running"' && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    state = await jobProperty(job, "State");
  }
  return state;
}

test("lifeboatd killed mid-apply: after a restart, Resume finishes the plan from its journal", async () => {
  await system.setRules(GRANT_NOBODY);
  const stamp = "20261205T030000Z";
  const { request, digest } = await plan(stamp);
  const [planJson] = await callJson("Plan", "ss", [loop, request]);
  const steps = (JSON.parse(planJson ?? "") as { steps: { id: string }[] }).steps;
  const killAt = steps[1]?.id ?? "";
  expect(killAt).not.toBe("");

  const watch = watchSignals((l) => l.includes(`Progress ('step-started', '${killAt}'`));
  await new Promise((r) => setTimeout(r, 300)); // the monitor's match rules are in place
  const applied = await call("Apply", [loop, request, digest], "nobody");
  expect(applied.code, applied.stderr).toBe(0);
  const seen = await watch.done;
  await system.killService();
  watch.stop();
  expect(seen.some((l) => l.includes("Finished ("))).toBe(false);

  await system.startService();
  const [stateJson] = await callJson("Inspect", "s", [loop]);
  const state = JSON.parse(stateJson ?? "") as { unfinishedPlan?: { digest: string } };
  expect(state.unfinishedPlan?.digest).toBe(digest);

  const resumed = await call("Resume", [loop], "nobody");
  expect(resumed.code, resumed.stderr).toBe(0);
  const job = /objectpath '([^']+)'/.exec(resumed.stdout)?.[1] ?? "";
  expect(await waitForJob(job), system.serviceLog()).toBe('s "succeeded"');
  await onTop(async (top) => {
    expect(await readFile(path.join(top, HOME_SUBVOLUME, "letter.txt"), "utf8")).toBe("keep me\n");
    expect(existsSync(path.join(top, oldRootName(stamp)))).toBe(true);
  });
  const [after] = await callJson("Inspect", "s", [loop]);
  expect((JSON.parse(after ?? "") as { unfinishedPlan?: unknown }).unfinishedPlan).toBeUndefined();
});

test("a fuzz of every method with wrong types, huge strings and hostile values: only Lifeboat's D-Bus errors, the service stays up, the disk is unchanged", async () => {
  const before = await subvolumes();
  const huge = "x".repeat(1_000_000);
  const stamp = "20261205T040000Z";
  const good = JSON.stringify({ kind: "reset-keep-home", stamp });
  const disks = [
    "",
    "relative/disk",
    "/nonexistent",
    "/dev/null",
    "/etc/passwd",
    "/dev/../etc/shadow",
    `/${huge}`,
    `${loop}\n`,
    "/dev/ℓoop0",
    ...fc.sample(fc.string({ unit: "binary", maxLength: 300 }), { numRuns: 8, seed: 20 }),
  ].map((d) => d.replaceAll("\0", "")); // D-Bus strings cannot hold NUL
  const requests = [
    "",
    "null",
    "[]",
    "{}",
    huge,
    "[".repeat(200_000),
    JSON.stringify({ kind: "cleanup", extra: 1 }),
    JSON.stringify({ kind: "reset-keep-home", stamp: "../../etc" }),
    `{"kind": "reset-keep-home", "stamp": "${stamp}", "__proto__": {"kind": "cleanup"}}`,
    '{"__proto__": {"kind": "cleanup"}}',
    JSON.stringify({ kind: "full-restore", stamp, allowRollback: { reason: "x" } }),
    JSON.stringify({ kind: "rollback", stamp, checkpoint: "../../../etc" }),
    JSON.stringify({ kind: "undo-reset", stamp, reset: "../../etc" }),
    JSON.stringify({ kind: "undo-reset", stamp, reset: "20261205T040000Z" }),
    JSON.stringify({ kind: "undo-reset", stamp, reset: stamp, extra: true }),
    JSON.stringify({ kind: "rescue", stamp, target: { directory: "/", freeBytes: 1e18 } }),
    JSON.stringify({ kind: "reset-keep-home", stamp: huge }),
    JSON.stringify({ kind: "checkpoint-prune", keepLast: 1e300 }),
    JSON.stringify({ kind: "checkpoint-prune", ids: ["factory"] }),
    JSON.stringify({ kind: "checkpoint-prune", ids: ["../../etc"] }),
    ...fc.sample(fc.json(), { numRuns: 8, seed: 20 }),
  ];
  type Case = { method: string; signature: string; args: unknown[] };
  const cases: Case[] = [
    // Wrong types and counts.
    { method: "Inspect", signature: "", args: [] },
    { method: "Inspect", signature: "i", args: [5] },
    { method: "Inspect", signature: "as", args: [[loop]] },
    { method: "Plan", signature: "s", args: [loop] },
    { method: "Plan", signature: "sss", args: [loop, good, "x"] },
    { method: "Apply", signature: "ssi", args: [loop, good, 1] },
    { method: "Apply", signature: "ss", args: [loop, good] },
    { method: "Resume", signature: "b", args: [true] },
    { method: "Abandon", signature: "", args: [] },
    { method: "Schedule", signature: "s", args: [loop] },
    { method: "Unschedule", signature: "ss", args: [loop, good] },
    { method: "NoSuchMethod", signature: "s", args: [loop] },
    { method: "Rescue", signature: "sss", args: [loop, loop, good] },
    { method: "Update", signature: "ssb", args: [loop, "/", true] },
    // Hostile disks, in every method.
    ...disks.flatMap((d): Case[] => [
      { method: "Inspect", signature: "s", args: [d] },
      { method: "Plan", signature: "ss", args: [d, good] },
      { method: "Apply", signature: "sss", args: [d, good, "sha256:0"] },
      { method: "Resume", signature: "s", args: [d] },
      { method: "Abandon", signature: "s", args: [d] },
      { method: "PlanDetails", signature: "ss", args: [d, good] },
      { method: "Verify", signature: "s", args: [d] },
      { method: "CheckpointCreate", signature: "sss", args: [d, "cp", "why"] },
      { method: "Schedule", signature: "ss", args: [d, good] },
      { method: "Unschedule", signature: "s", args: [d] },
      { method: "ScheduledReset", signature: "s", args: [d] },
      { method: "PlanRescue", signature: "sss", args: [d, "/dev/null", good] },
      { method: "Rescue", signature: "ssss", args: [d, "/dev/null", good, "sha256:0"] },
      { method: "Update", signature: "sss", args: [d, "/", `sha256:${"0".repeat(64)}`] },
      // Hostile rescue targets on the real disk (the disk itself among them).
      { method: "PlanRescue", signature: "sss", args: [loop, d, JSON.stringify({ stamp })] },
      { method: "Rescue", signature: "ssss", args: [loop, d, JSON.stringify({ stamp }), "x"] },
    ]),
    { method: "PlanRescue", signature: "sss", args: [loop, loop, JSON.stringify({ stamp })] },
    // Update refuses bad directories and digests before it starts a job.
    ...["", "relative", huge].map(
      (dir): Case => ({
        method: "Update",
        signature: "sss",
        args: [loop, dir, `sha256:${"0".repeat(64)}`],
      }),
    ),
    ...["", huge, "sha256:0", `sha256:${"G".repeat(64)}`].map(
      (digest): Case => ({ method: "Update", signature: "sss", args: [loop, "/", digest] }),
    ),
    // Hostile checkpoints and jobs.
    ...["", "../../etc", huge.slice(0, 300), ".", "a/b"].map(
      (name): Case => ({ method: "CheckpointCreate", signature: "sss", args: [loop, name, ""] }),
    ),
    { method: "CheckpointCreate", signature: "sss", args: [loop, "../x", "why"] },
    { method: "CheckpointCreate", signature: "sss", args: [loop, "x", huge] },
    { method: "Cancel", signature: "o", args: ["/org/lifeboat/Lifeboat1/jobs/0"] },
    { method: "Cancel", signature: "o", args: ["/"] },
    { method: "Cancel", signature: "s", args: [huge] },
    // Hostile requests on the real disk.
    ...requests.flatMap((r): Case[] => [
      { method: "Plan", signature: "ss", args: [loop, r] },
      { method: "Apply", signature: "sss", args: [loop, r, "sha256:0"] },
      { method: "PlanDetails", signature: "ss", args: [loop, r] },
      { method: "Schedule", signature: "ss", args: [loop, r] },
      { method: "PlanRescue", signature: "sss", args: [loop, "/dev/null", r] },
      { method: "Rescue", signature: "ssss", args: [loop, "/dev/null", r, "sha256:0"] },
    ]),
    // A good request with digests that are not the plan's.
    ...["", huge, `sha256:${"0".repeat(64)}`].map(
      (digest): Case => ({ method: "Apply", signature: "sss", args: [loop, good, digest] }),
    ),
  ];
  const r = await new Promise<Run>((resolve, reject) => {
    const child = spawn(PYTHON, [path.join(serviceDir, "test/call-many.py")], {
      env: system.env,
      stdio: ["pipe", "pipe", "pipe"],
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
    child.stdin.end(JSON.stringify(cases));
  });
  expect(r.code, r.stderr).toBe(0);
  const outcomes = JSON.parse(r.stdout) as { ok: boolean; name: string; message: string }[];
  expect(outcomes).toHaveLength(cases.length);
  const unexpected = outcomes
    .map((o, i) => ({
      ...o,
      method: cases[i]?.method,
      args: JSON.stringify(cases[i]?.args).slice(0, 120),
    }))
    .filter(
      (o) =>
        o.ok ||
        !/^(org\.lifeboat\.Lifeboat1\.Error\.(?!SERVICE_FAILED)[A-Z_]+|org\.freedesktop\.DBus\.Error\.(InvalidArgs|UnknownMethod))$/.test(
          o.name,
        ),
    );
  expect(unexpected).toEqual([]);
  // Still up, and nothing changed on the disk.
  const version = await run(
    ["busctl", "--system", "get-property", DEST, OBJECT, MANAGER, "Version"],
    system.env,
  );
  expect(version.stdout.trim()).toBe("u 1");
  expect(await subvolumes()).toEqual(before);
});

test("undo-reset through the bus: after a reset, Plan undo-reset and Apply its digest put the old root back with /home untouched; Abandon while the reset runs is LOCK_HELD", async () => {
  await system.setRules(GRANT_NOBODY);
  await onTop((top) => writeFile(path.join(top, ROOT_SUBVOLUME, "etc/before-reset"), "mine\n"));
  const homeUuid = async () => {
    const [json] = await callJson("Inspect", "s", [loop]);
    const state = JSON.parse(json ?? "") as {
      btrfs: { subvolumes: { path: string; uuid: string }[] };
    };
    return state.btrfs.subvolumes.find((s) => s.path === HOME_SUBVOLUME)?.uuid;
  };
  const home = await homeUuid();
  expect(home).toBeDefined();

  const stamp = "20261205T050000Z";
  const { request, digest } = await plan(stamp);
  const applied = await call("Apply", [loop, request, digest], "nobody");
  expect(applied.code, applied.stderr).toBe(0);
  // The reset runs for seconds: Abandon (one action per disk) is refused meanwhile.
  const busy = await call("Abandon", [loop], "nobody");
  expect(busy.stderr).toContain("org.lifeboat.Lifeboat1.Error.LOCK_HELD");
  const job = /objectpath '([^']+)'/.exec(applied.stdout)?.[1] ?? "";
  expect(await waitForJob(job), system.serviceLog()).toBe('s "succeeded"');
  expect(
    await onTop(async (top) => existsSync(path.join(top, ROOT_SUBVOLUME, "etc/before-reset"))),
  ).toBe(false);

  const undoStamp = "20261205T050100Z";
  const undo = JSON.stringify({ kind: "undo-reset", stamp: undoStamp, reset: stamp });
  const [planJson, undoDigest] = await callJson("Plan", "ss", [loop, undo]);
  expect((JSON.parse(planJson ?? "") as { kind: string }).kind).toBe("undo-reset");
  const wrong = await call("Apply", [loop, undo, `sha256:${"0".repeat(64)}`], "nobody");
  expect(wrong.stderr).toContain("org.lifeboat.Lifeboat1.Error.CONFIRMATION_MISMATCH");
  const undone = await call("Apply", [loop, undo, undoDigest ?? ""], "nobody");
  expect(undone.code, undone.stderr).toBe(0);
  const undoJob = /objectpath '([^']+)'/.exec(undone.stdout)?.[1] ?? "";
  expect(await waitForJob(undoJob), system.serviceLog()).toBe('s "succeeded"');
  expect(await jobProperty(undoJob, "Kind")).toBe('s "undo-reset"');

  await onTop(async (top) => {
    // The root from before the reset is root again; the factory root it had is kept in turn.
    expect(await readFile(path.join(top, ROOT_SUBVOLUME, "etc/before-reset"), "utf8")).toBe(
      "mine\n",
    );
    expect(existsSync(path.join(top, oldRootName(stamp)))).toBe(false);
    expect(existsSync(path.join(top, oldRootName(undoStamp), "etc"))).toBe(true);
    expect(existsSync(path.join(top, oldRootName(undoStamp), "etc/before-reset"))).toBe(false);
    expect(await readFile(path.join(top, HOME_SUBVOLUME, "letter.txt"), "utf8")).toBe("keep me\n");
  });
  expect(await homeUuid()).toBe(home);
});

test("Abandon after the swap: a reset killed at install-boot is RESET_CANNOT_ABANDON over the bus, and Resume finishes it", async () => {
  await system.setRules(GRANT_NOBODY);
  const unfinishedDigest = async () => {
    const [stateJson] = await callJson("Inspect", "s", [loop]);
    return (JSON.parse(stateJson ?? "") as { unfinishedPlan?: { digest: string } }).unfinishedPlan
      ?.digest;
  };
  // The kill follows the signal through the bus monitor: on a loaded machine the last steps can
  // finish first. Then that reset is simply done, and another one is killed (at most three).
  let stamp = "";
  let digest = "";
  for (const attempt of [1, 2, 3]) {
    stamp = `20261205T06000${attempt}Z`;
    const planned = await plan(stamp);
    digest = planned.digest;
    // Started means the steps before it are journaled as done: the swap has happened.
    const watch = watchSignals((l) => l.includes("Progress ('step-started', 'install-boot'"));
    await new Promise((r) => setTimeout(r, 300)); // the monitor's match rules are in place
    const applied = await call("Apply", [loop, planned.request, digest], "nobody");
    expect(applied.code, applied.stderr).toBe(0);
    await watch.done;
    await system.killService();
    watch.stop();
    await system.startService();
    if ((await unfinishedDigest()) === digest) break;
    console.info(`Abandon after the swap: attempt ${attempt}: the reset finished before the kill`);
  }
  expect(await unfinishedDigest(), "no attempt was killed past the swap").toBe(digest);

  const refused = await call("Abandon", [loop], "nobody");
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("org.lifeboat.Lifeboat1.Error.RESET_CANNOT_ABANDON");
  expect(await unfinishedDigest()).toBe(digest);

  const resumed = await call("Resume", [loop], "nobody");
  expect(resumed.code, resumed.stderr).toBe(0);
  const job = /objectpath '([^']+)'/.exec(resumed.stdout)?.[1] ?? "";
  expect(await waitForJob(job), system.serviceLog()).toBe('s "succeeded"');
  expect(await subvolumes()).toContain(oldRootName(stamp));
  // Nothing unfinished now: Abandon has nothing to give up.
  const nothing = await call("Abandon", [loop], "nobody");
  expect(nothing.code, nothing.stderr).toBe(0);
  expect(nothing.stdout).toContain('"planDigest":null');
});
