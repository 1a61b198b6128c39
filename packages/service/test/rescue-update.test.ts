// lifeboatd's Rescue (home copied to a device the service mounts itself, as a job) and
// Update (the caller's image set staged into a root-owned directory, the staged copy
// verified and installed) (issue #20). On a real private system bus with a real polkitd
// and a loop-backed disk provisioned by the real CLI; the rescue target is a second loop
// device with ext4. As nobody without a rule, both are refused; with a rule, a wrong
// digest is refused and the right one succeeds with byte progress. Needs root, loop
// devices, dbus-daemon, polkitd.

import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  attachLoop,
  createImageFile,
  mountTemp,
  type Scratch,
  sh,
  unmount,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { z } from "zod";
import { cliJson } from "../../cli/test/support.js";
import type { PrivateSystem } from "./private-bus.js";
import { GRANT_NOBODY, type ServiceBus, startServiceBus } from "./support.js";

let bus: ServiceBus;
let scratch: Scratch;
let system: PrivateSystem;
let loop: string;
let keys: { readonly privateKey: string; readonly publicKey: string };
const call = (...a: Parameters<ServiceBus["call"]>) => bus.call(...a);
const failure = (...a: Parameters<ServiceBus["failure"]>) => bus.failure(...a);
const jobProperty = (...a: Parameters<ServiceBus["jobProperty"]>) => bus.jobProperty(...a);
const waitForJob = (...a: Parameters<ServiceBus["waitForJob"]>) => bus.waitForJob(...a);

beforeAll(async () => {
  bus = await startServiceBus({ name: "lifeboatd-rescue-" });
  ({ scratch, system, loop, keys } = bus);
}, 300_000);

afterAll(async () => {
  await bus?.cleanup();
});

let target: string;
const stamp = "20261205T070000Z";
const options = JSON.stringify({ stamp });

beforeAll(async () => {
  const file = await createImageFile(scratch, "target.img", 128 * 1024 * 1024);
  await sh("mkfs.ext4", ["-q", "-F", file]);
  target = await attachLoop(scratch, file);
  // Something in home to copy: 4 MiB.
  await bus.onTop(async (top) => {
    await mkdir(path.join(top, "home", "user"), { recursive: true });
    await writeFile(path.join(top, "home", "user", "data.bin"), randomBytes(4 * 1024 * 1024));
  });
}, 120_000);

/** The files in the target's root directory (mounted here for a moment). */
async function onTarget(): Promise<string[]> {
  const dir = await mountTemp(scratch, target);
  try {
    return (await readdir(dir)).filter((n) => n !== "lost+found").sort();
  } finally {
    await unmount(dir);
  }
}

/** A new recovery image set of the disk's factory snapshot signed with its key: version 2, security epoch 1. */
function newSet(name: string): { dir: string; manifest: string } {
  const dir = scratch.path(name);
  cliJson(
    [
      "image",
      "build",
      "--disk",
      loop,
      "--out",
      dir,
      "--key",
      keys.privateKey,
      "--product",
      "P",
      "--version",
      "2",
      "--security-epoch",
      "1",
    ],
    z.unknown(),
  );
  return { dir, manifest: path.join(dir, "manifest.json") };
}

async function digestOf(manifest: string): Promise<string> {
  return `sha256:${createHash("sha256")
    .update(await readFile(manifest))
    .digest("hex")}`;
}

async function currentSet(): Promise<string | undefined> {
  const r = await call("Inspect", "s", [loop], "root");
  expect(r.error).toBe("");
  const state = JSON.parse(String(r.data[0])) as { recovery?: { digest?: string } };
  return state.recovery?.digest;
}

test("without a rule, nobody is refused PlanRescue, Rescue and Update before anything is opened", async () => {
  const digest = `sha256:${"0".repeat(64)}`;
  for (const [method, signature, args] of [
    ["PlanRescue", "sss", [loop, target, options]],
    ["Rescue", "ssss", [loop, target, options, digest]],
    ["Update", "sss", [loop, "/nonexistent", digest]],
  ] as const) {
    expect(await failure(method, signature, args), method).toContain(
      "org.lifeboat.Lifeboat1.Error.PERMISSION_DENIED",
    );
  }
  expect(await onTarget()).toEqual([]);
});

test("Rescue: the disk itself as target and a wrong digest are refused; the plan's digest copies home to the device as a job with bytes", async () => {
  await system.setRules(GRANT_NOBODY);
  expect(await failure("PlanRescue", "sss", [loop, loop, options])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_NOT_A_DISK",
  );
  expect(await failure("Rescue", "ssss", [loop, "/dev/null", options, "x"])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_NOT_A_DISK",
  );
  expect(await failure("Rescue", "ssss", [loop, target, "{}", "x"])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_BAD_REQUEST",
  );
  const planned = await call("PlanRescue", "sss", [loop, target, options]);
  expect(planned.error).toBe("");
  const plan = JSON.parse(String(planned.data[0])) as { kind: string; steps: { id: string }[] };
  expect(plan.kind).toBe("rescue");
  expect(plan.steps.map((s) => s.id)).toContain("rescue-copy");
  expect(
    await failure("Rescue", "ssss", [loop, target, options, `sha256:${"0".repeat(64)}`]),
  ).toContain("org.lifeboat.Lifeboat1.Error.CONFIRMATION_MISMATCH");
  expect(await onTarget()).toEqual([]);

  const r = await call("Rescue", "ssss", [loop, target, options, String(planned.data[1])]);
  expect(r.error).toBe("");
  const job = String(r.data[0]);
  expect(await waitForJob(job), system.serviceLog()).toBe("succeeded");
  expect(await jobProperty(job, "Kind")).toBe("rescue");
  expect(Number(await jobProperty(job, "JobBytesDone"))).toBeGreaterThan(0);
  expect(await jobProperty(job, "StepNumber")).toBe(await jobProperty(job, "StepCount"));
  expect(await onTarget()).toEqual([`lifeboat-rescue-${stamp}`]);
});

test("Update: a wrong digest and a symlink in the set fail the job and change nothing; the right digest installs the staged copy, with bytes", async () => {
  await system.setRules(GRANT_NOBODY);
  const before = await currentSet();
  expect(before).toBeDefined();
  const set = newSet("set-v2");
  const digest = await digestOf(set.manifest);
  expect(await failure("Update", "sss", [loop, "relative", digest])).toContain(
    "org.lifeboat.Lifeboat1.Error.INVALID_ARGUMENT",
  );
  expect(await failure("Update", "sss", [loop, set.dir, "sha256:x"])).toContain(
    "org.lifeboat.Lifeboat1.Error.INVALID_ARGUMENT",
  );

  const wrong = await call("Update", "sss", [loop, set.dir, `sha256:${"0".repeat(64)}`]);
  expect(wrong.error).toBe("");
  expect(await waitForJob(String(wrong.data[0]))).toBe("failed");
  expect(await jobProperty(String(wrong.data[0]), "ErrorCode")).toBe("CONFIRMATION_MISMATCH");
  expect(await currentSet()).toBe(before);

  const linked = newSet("set-linked");
  await symlink("/etc/passwd", path.join(linked.dir, "extra"));
  const l = await call("Update", "sss", [loop, linked.dir, await digestOf(linked.manifest)]);
  expect(await waitForJob(String(l.data[0]))).toBe("failed");
  expect(await jobProperty(String(l.data[0]), "ErrorCode")).toBe("INVALID_ARGUMENT");
  expect(await currentSet()).toBe(before);

  const r = await call("Update", "sss", [loop, set.dir, digest]);
  expect(r.error).toBe("");
  const job = String(r.data[0]);
  expect(await waitForJob(job), system.serviceLog()).toBe("succeeded");
  const result = JSON.parse(String(await jobProperty(job, "Result"))) as {
    setId: string;
    previousSetId: string;
    digest: string;
    securityEpoch: number;
  };
  expect(result).toMatchObject({ digest, securityEpoch: 1 });
  expect(result.previousSetId).toBeTruthy();
  expect(result.setId).not.toBe(result.previousSetId);
  expect(await currentSet()).toBe(digest);
  expect(await jobProperty(job, "StepCount")).toBe(3);
  expect(await jobProperty(job, "StepNumber")).toBe(3);
  expect(Number(await jobProperty(job, "JobBytesDone"))).toBeGreaterThan(1024 * 1024);
  // The staging directory is gone again.
  expect(await readdir(scratch.path("run", "staging"))).toEqual([]);
});

/** The disk's subvolume paths and its unfinished plan, from `Inspect`. */
async function diskState(): Promise<{
  paths: string[];
  unfinished?: { kind: string; status: string; digest: string };
}> {
  const r = await call("Inspect", "s", [loop], "root");
  expect(r.error).toBe("");
  const state = JSON.parse(String(r.data[0])) as {
    btrfs: { subvolumes: { path: string }[] };
    unfinishedPlan?: { kind: string; status: string; digest: string };
  };
  return {
    paths: state.btrfs.subvolumes.map((s) => s.path),
    ...(state.unfinishedPlan ? { unfinished: state.unfinishedPlan } : {}),
  };
}

test("Abandon: a rescue that failed half-way (a read-only target) blocks a new plan; Abandon (the act action) removes its snapshot, and the new plan applies", async () => {
  await system.setRules(GRANT_NOBODY);
  const file = await createImageFile(scratch, "ro-target.img", 64 * 1024 * 1024);
  await sh("mkfs.ext4", ["-q", "-F", file]);
  // Mounted read-only (the device is): planned like any target, the copy fails after the snapshot.
  const readOnly = await attachLoop(scratch, file, { readOnly: true });
  const failedStamp = "20261205T080000Z";
  const failedOptions = JSON.stringify({ stamp: failedStamp });
  const planned = await call("PlanRescue", "sss", [loop, readOnly, failedOptions]);
  expect(planned.error).toBe("");
  const failedDigest = String(planned.data[1]);
  const r = await call("Rescue", "ssss", [loop, readOnly, failedOptions, failedDigest]);
  expect(r.error).toBe("");
  expect(await waitForJob(String(r.data[0]))).toBe("failed");
  const snapshot = `.lifeboat/rescue-${failedStamp}`;
  const failed = await diskState();
  expect(failed.unfinished).toMatchObject({
    kind: "rescue",
    status: "failed",
    digest: failedDigest,
  });
  expect(failed.paths).toContain(snapshot);

  // A new plan is refused while the failed run is there.
  const next = JSON.stringify({ kind: "reset-keep-home", stamp: "20261205T080100Z" });
  const blocked = await call("Apply", "sss", [
    loop,
    next,
    String((await call("Plan", "ss", [loop, next])).data[1]),
  ]);
  if (blocked.error === "") {
    expect(await waitForJob(String(blocked.data[0]))).toBe("failed");
    expect(await jobProperty(String(blocked.data[0]), "ErrorCode")).toBe("JOURNAL_PLAN_MISMATCH");
  } else expect(blocked.error).toContain("JOURNAL_PLAN_MISMATCH");

  // Abandon is the destructive action: refused without the rule, nothing removed.
  await system.setRules("");
  expect(await failure("Abandon", "s", [loop])).toContain(
    "org.lifeboat.Lifeboat1.Error.PERMISSION_DENIED",
  );
  expect((await diskState()).paths).toContain(snapshot);
  await system.setRules(GRANT_NOBODY);
  expect(await failure("Abandon", "s", ["/dev/null"])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_NOT_A_DISK",
  );

  const abandoned = await call("Abandon", "s", [loop]);
  expect(abandoned.error).toBe("");
  const summary = JSON.parse(String(abandoned.data[0])) as {
    planDigest: string | null;
    removed: string[];
    archivedAs: string | null;
  };
  expect(summary.planDigest).toBe(failedDigest);
  expect(summary.removed).toContain(snapshot);
  expect(summary.archivedAs).toMatch(/^\.lifeboat\/journals\/.+-abandoned\.json$/);
  const after = await diskState();
  expect(after.unfinished).toBeUndefined();
  expect(after.paths).not.toContain(snapshot);

  // The new plan applies now.
  const planAgain = await call("Plan", "ss", [loop, next]);
  const applied = await call("Apply", "sss", [loop, next, String(planAgain.data[1])]);
  expect(applied.error).toBe("");
  expect(await waitForJob(String(applied.data[0])), system.serviceLog()).toBe("succeeded");
  expect((await diskState()).paths).toContain("root.old-20261205T080100Z");
});
