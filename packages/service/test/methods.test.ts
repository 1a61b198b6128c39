// lifeboatd's methods beyond Inspect/Plan/Apply/Resume (issue #20): PlanDetails (the plan
// as a structured a{sv}), Verify (the recovery image set, as a job with whole-set
// bytes), CheckpointCreate, checkpoint-prune through Plan/Apply with its digest, Cancel,
// and whole-job progress properties. On a real private system bus with a real polkitd
// (private mount namespace) and a loop-backed disk provisioned by the real CLI. As
// nobody without a rule, every one is refused; with a rule granting it, each works;
// bad input gets typed D-Bus errors. Needs root, loop devices, dbus-daemon, polkitd.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { PrivateSystem } from "./private-bus.js";
import { GRANT_NOBODY, type ServiceBus, startServiceBus } from "./support.js";

let bus: ServiceBus;
let system: PrivateSystem;
let loop: string;
const call = (...a: Parameters<ServiceBus["call"]>) => bus.call(...a);
const failure = (...a: Parameters<ServiceBus["failure"]>) => bus.failure(...a);
const jobProperty = (...a: Parameters<ServiceBus["jobProperty"]>) => bus.jobProperty(...a);
const waitForJob = (...a: Parameters<ServiceBus["waitForJob"]>) => bus.waitForJob(...a);

async function checkpointIds(): Promise<string[]> {
  const r = await call("Inspect", "s", [loop], "root");
  expect(r.error).toBe("");
  const state = JSON.parse(String(r.data[0])) as {
    checkpoints?: { id: string; factory?: boolean }[];
  };
  return (state.checkpoints ?? []).filter((c) => !c.factory).map((c) => c.id);
}

beforeAll(async () => {
  bus = await startServiceBus({ name: "lifeboatd-methods-" });
  ({ system, loop } = bus);
}, 300_000);

afterAll(async () => {
  await bus?.cleanup();
});

test("without a rule, nobody is refused every new method before anything is opened", async () => {
  const request = JSON.stringify({ kind: "reset-keep-home", stamp: "20261205T050000Z" });
  for (const [method, signature, args] of [
    ["PlanDetails", "ss", [loop, request]],
    ["Verify", "s", [loop]],
    ["CheckpointCreate", "sss", [loop, "cp1", "before an upgrade"]],
    ["Cancel", "o", ["/org/lifeboat/Lifeboat1/jobs/1"]],
  ] as const) {
    expect(await failure(method, signature, args), method).toContain(
      "org.lifeboat.Lifeboat1.Error.PERMISSION_DENIED",
    );
  }
  expect(await checkpointIds()).toEqual([]);
});

test("PlanDetails: the plan as a{sv} (digest, steps, destroys) beside the same JSON and digest as Plan", async () => {
  await system.setRules(GRANT_NOBODY);
  const request = JSON.stringify({ kind: "reset-keep-home", stamp: "20261205T050000Z" });
  const plain = await call("Plan", "ss", [loop, request]);
  expect(plain.error).toBe("");
  const r = await call("PlanDetails", "ss", [loop, request]);
  expect(r.error).toBe("");
  const [value, json, digest] = r.data as [
    Record<string, { type: string; data: unknown }>,
    string,
    string,
  ];
  expect(digest).toBe(plain.data[1]);
  expect(json).toBe(plain.data[0]);
  const plan = JSON.parse(json) as {
    kind: string;
    steps: { id: string; title: string; destroys: unknown[] }[];
  };
  expect(value.digest).toEqual({ type: "s", data: digest });
  expect(value.kind).toEqual({ type: "s", data: "reset-keep-home" });
  expect(value.steps?.type).toBe("a(sssb)");
  const steps = value.steps?.data as [string, string, string, boolean][];
  expect(steps.map((s) => s[0])).toEqual(plan.steps.map((s) => s.id));
  expect(steps.map((s) => s[2])).toEqual(plan.steps.map((s) => s.title));
  expect(value.destroys?.type).toBe("a(ssstsb)");
  expect((value.destroys?.data as unknown[] | undefined)?.length).toBe(
    plan.steps.reduce((n, s) => n + s.destroys.length, 0),
  );
});

test("Verify: a job that hashes the whole recovery image set, with whole-job bytes and step 1 of 1", async () => {
  await system.setRules(GRANT_NOBODY);
  const r = await call("Verify", "s", [loop]);
  expect(r.error).toBe("");
  const job = String(r.data[0]);
  expect(await waitForJob(job), system.serviceLog()).toBe("succeeded");
  const result = JSON.parse(String(await jobProperty(job, "Result"))) as {
    digest: string;
    bytesVerified: number;
  };
  expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(result.bytesVerified).toBeGreaterThan(1024 * 1024);
  expect(await jobProperty(job, "JobBytesDone")).toBe(result.bytesVerified);
  expect(await jobProperty(job, "JobBytesTotal")).toBe(result.bytesVerified);
  expect(await jobProperty(job, "StepNumber")).toBe(1);
  expect(await jobProperty(job, "StepCount")).toBe(1);
  expect(await jobProperty(job, "Kind")).toBe("verify");
});

test("CheckpointCreate, then checkpoint-prune through Plan/Apply: a wrong digest is refused, the plan's deletes it", async () => {
  await system.setRules(GRANT_NOBODY);
  const made = await call("CheckpointCreate", "sss", [loop, "before-upgrade", "before an upgrade"]);
  expect(made.error).toBe("");
  const cp = JSON.parse(String(made.data[0])) as { id: string; reason: string };
  expect(cp).toMatchObject({ id: "before-upgrade", reason: "before an upgrade" });
  expect(await checkpointIds()).toEqual(["before-upgrade"]);
  expect(await failure("CheckpointCreate", "sss", [loop, "before-upgrade", "again"])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_CHECKPOINT_EXISTS",
  );

  const prune = JSON.stringify({ kind: "checkpoint-prune", keepLast: 0 });
  const planned = await call("Plan", "ss", [loop, prune]);
  expect(planned.error).toBe("");
  expect(await failure("Apply", "sss", [loop, prune, `sha256:${"0".repeat(64)}`])).toContain(
    "org.lifeboat.Lifeboat1.Error.CONFIRMATION_MISMATCH",
  );
  expect(await checkpointIds()).toEqual(["before-upgrade"]);
  const applied = await call("Apply", "sss", [loop, prune, String(planned.data[1])]);
  expect(applied.error).toBe("");
  const job = String(applied.data[0]);
  expect(await waitForJob(job), system.serviceLog()).toBe("succeeded");
  expect(await jobProperty(job, "StepNumber")).toBe(await jobProperty(job, "StepCount"));
  expect(await checkpointIds()).toEqual([]);
});

test("Cancel: a running keep-home apply stops (ABORTED, Cancelled true) and Resume finishes it; an unknown job is SERVICE_NO_SUCH_JOB", async () => {
  await system.setRules(GRANT_NOBODY);
  const request = JSON.stringify({ kind: "reset-keep-home", stamp: "20261205T060000Z" });
  const planned = await call("Plan", "ss", [loop, request]);
  const applied = await call("Apply", "sss", [loop, request, String(planned.data[1])]);
  expect(applied.error).toBe("");
  const job = String(applied.data[0]);
  const cancelled = await call("Cancel", "o", [job]);
  expect(cancelled).toEqual({ data: [true], error: "" });
  // Cancelled right after the reply: the executor sees the signal before or between steps.
  expect(await waitForJob(job)).toBe("failed");
  expect(await jobProperty(job, "ErrorCode")).toBe("ABORTED");
  const resumed = await call("Resume", "s", [loop]);
  expect(resumed.error).toBe("");
  expect(await waitForJob(String(resumed.data[0])), system.serviceLog()).toBe("succeeded");
  expect(await jobProperty(job, "Cancelled")).toBe(true);
  expect(await call("Cancel", "o", [job])).toEqual({ data: [false], error: "" });

  expect(await failure("Cancel", "o", ["/org/lifeboat/Lifeboat1/jobs/999"])).toContain(
    "org.lifeboat.Lifeboat1.Error.SERVICE_NO_SUCH_JOB",
  );
});

test("bad input gets typed errors: empty reason, bad checkpoint name, wrong signature", async () => {
  await system.setRules(GRANT_NOBODY);
  expect(await failure("CheckpointCreate", "sss", [loop, "x", ""])).toContain(
    "org.lifeboat.Lifeboat1.Error.INVALID_ARGUMENT",
  );
  expect(await failure("CheckpointCreate", "sss", [loop, "../etc", "why"])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_BAD_CHECKPOINT_NAME",
  );
  const badPrune = JSON.stringify({ kind: "checkpoint-prune", keepLast: -1 });
  expect(await failure("Plan", "ss", [loop, badPrune])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_BAD_REQUEST",
  );
  expect(await failure("Verify", "s", ["/dev/null"])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_NOT_A_DISK",
  );
  expect(await failure("Cancel", "s", ["x"])).toContain("org.freedesktop.DBus.Error.InvalidArgs");
  expect(await checkpointIds()).toEqual([]);
});
