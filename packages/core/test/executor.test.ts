import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { errAsync, okAsync } from "neverthrow";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createPlan,
  type ExecutorEvent,
  execute,
  journalFiles,
  readJournal,
  resume,
  type StepHandlers,
} from "../src/index.js";
import { makeTestHandlers, makeTestPlan } from "./fixtures/test-plan.js";

let dir: string;
let journalPath: string;
let logPath: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lifeboat-exec-"));
  journalPath = path.join(dir, "run.journal");
  logPath = path.join(dir, "side-effects.log");
  await writeFile(logPath, "");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const log = () => readFileSync(logPath, "utf8").trim().split("\n").filter(Boolean);
const plan = makeTestPlan();
const allDone = ["s1", "s2", "s3", "s4"].flatMap((s) => [`start ${s}`, `done ${s}`]);

describe("execute", () => {
  it("runs every step in order, journals it and reports typed progress", async () => {
    const events: ExecutorEvent[] = [];
    const r = await execute(plan, makeTestHandlers(logPath), {
      confirm: plan.digest,
      journalPath,
      onProgress: (e) => events.push(e),
    });
    expect(r._unsafeUnwrap()).toMatchObject({
      planDigest: plan.digest,
      ranStepIds: ["s1", "s2", "s3", "s4"],
      skippedStepIds: [],
      attempt: 1,
      alreadyDone: false,
    });
    expect(log()).toEqual(allDone);
    expect(events.map((e) => e.type)).toEqual([
      "plan-started",
      ...Array(4).fill(["step-started", "step-progress", "step-progress", "step-finished"]).flat(),
      "plan-finished",
    ]);
    expect(events[2]).toEqual({
      type: "step-progress",
      stepId: "s1",
      stepIndex: 0,
      bytesDone: 1,
      bytesTotal: 2,
    });
    const journal = (await readJournal(journalPath))._unsafeUnwrap();
    expect(journal).toMatchObject({
      version: 1,
      planDigest: plan.digest,
      status: "done",
      completedStepIds: ["s1", "s2", "s3", "s4"],
      currentStepId: null,
      attempt: 1,
      lastError: null,
    });
    expect(journal.plan).toEqual(plan);
    expect(journal.finishedAt).toEqual(expect.any(String));
    // The lock is released.
    await expect(readFile(`${journalPath}.lock`)).rejects.toThrow(/ENOENT/);
  });

  it("creates the journal's directory, with the lock elsewhere", async () => {
    const nested = path.join(dir, "a", "b", "run.journal");
    const r = await execute(plan, makeTestHandlers(logPath), {
      confirm: plan.digest,
      journalPath: nested,
      lockPath: path.join(dir, "x.lock"),
    });
    expect(r.isOk()).toBe(true);
    expect((await readJournal(nested))._unsafeUnwrap().status).toBe("done");
  });

  it("returns ok without rerunning a plan whose journal says done", async () => {
    await execute(plan, makeTestHandlers(logPath), { confirm: plan.digest, journalPath });
    const events: ExecutorEvent[] = [];
    const again = await execute(plan, makeTestHandlers(logPath), {
      confirm: plan.digest,
      journalPath,
      onProgress: (e) => events.push(e),
    });
    expect(again._unsafeUnwrap()).toMatchObject({ alreadyDone: true, ranStepIds: [] });
    expect(events).toEqual([
      { type: "plan-finished", planDigest: plan.digest, durationMs: 0, alreadyDone: true },
    ]);
    expect(log()).toEqual(allDone);
  });

  it("refuses a destructive plan without the digest, or with another one", async () => {
    const missing = (
      await execute(plan, makeTestHandlers(logPath), { journalPath })
    )._unsafeUnwrapErr();
    expect(missing).toEqual({
      code: "CONFIRMATION_REQUIRED",
      message: expect.stringMatching(/destroys data/),
      planDigest: plan.digest,
    });
    const wrong = (
      await execute(plan, makeTestHandlers(logPath), { confirm: "sha256:00", journalPath })
    )._unsafeUnwrapErr();
    expect(wrong).toEqual({
      code: "CONFIRMATION_MISMATCH",
      message: expect.any(String),
      planDigest: plan.digest,
      given: "sha256:00",
    });
    expect(log()).toEqual([]);
    expect((await readJournal(journalPath))._unsafeUnwrapErr().code).toBe("JOURNAL_NOT_FOUND");
  });

  it("runs a plan that destroys nothing without confirmation", async () => {
    const safe = createPlan({
      ...plan,
      steps: plan.steps.map((s) => ({ ...s, destroys: [] })),
    })._unsafeUnwrap();
    expect((await execute(safe, makeTestHandlers(logPath), { journalPath })).isOk()).toBe(true);
    expect(log()).toEqual(allDone);
  });

  it("refuses a plan changed after its digest was computed (PLAN_TAMPERED)", async () => {
    const tampered = {
      ...plan,
      steps: plan.steps.map((s) => (s.id === "s3" ? { ...s, destroys: [] } : s)),
    };
    const e = (
      await execute(tampered, makeTestHandlers(logPath), { confirm: plan.digest, journalPath })
    )._unsafeUnwrapErr();
    expect(e).toEqual({
      code: "PLAN_TAMPERED",
      message: expect.any(String),
      recorded: plan.digest,
      actual: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    expect(log()).toEqual([]);
  });

  it("refuses unknown step kinds before running anything (UNKNOWN_STEP)", async () => {
    const odd = createPlan({
      ...plan,
      steps: [...plan.steps, { ...plan.steps[0]!, id: "s5", kind: "test.unknown" }],
    })._unsafeUnwrap();
    const e = (
      await execute(odd, makeTestHandlers(logPath), { confirm: odd.digest, journalPath })
    )._unsafeUnwrapErr();
    expect(e).toEqual({
      code: "UNKNOWN_STEP",
      message: expect.any(String),
      stepId: "s5",
      kind: "test.unknown",
    });
    expect(log()).toEqual([]);
  });

  it("refuses a journal that belongs to another plan (JOURNAL_PLAN_MISMATCH)", async () => {
    await execute(plan, makeTestHandlers(logPath), { confirm: plan.digest, journalPath });
    const other = makeTestPlan("/elsewhere");
    const e = (
      await execute(other, makeTestHandlers(logPath), { confirm: other.digest, journalPath })
    )._unsafeUnwrapErr();
    expect(e).toEqual({
      code: "JOURNAL_PLAN_MISMATCH",
      message: expect.stringContaining(plan.digest),
      journalPath,
    });
  });

  it("records a failed step (STEP_FAILED) and resume retries it", async () => {
    const base = makeTestHandlers(logPath);
    const failing: StepHandlers = {
      "test.append": (step, ctx) =>
        step.id === "s2"
          ? errAsync({ code: "TEST_BOOM", message: "boom", detail: 7 })
          : base["test.append"]!(step, ctx),
    };
    const events: ExecutorEvent[] = [];
    const e = (
      await execute(plan, failing, {
        confirm: plan.digest,
        journalPath,
        onProgress: (ev) => events.push(ev),
      })
    )._unsafeUnwrapErr();
    expect(Object.keys(e).sort()).toEqual(["cause", "code", "message", "stepId", "stepIndex"]);
    expect(e).toMatchObject({
      code: "STEP_FAILED",
      stepId: "s2",
      stepIndex: 1,
      cause: { code: "TEST_BOOM", message: "boom", detail: 7 },
    });
    expect(events.at(-1)).toEqual({
      type: "plan-failed",
      planDigest: plan.digest,
      stepId: "s2",
      error: e,
    });
    const journal = (await readJournal(journalPath))._unsafeUnwrap();
    expect(journal).toMatchObject({
      status: "failed",
      completedStepIds: ["s1"],
      currentStepId: "s2",
      lastError: { code: "STEP_FAILED", stepId: "s2", cause: { code: "TEST_BOOM", detail: 7 } },
    });
    const r = await resume(journalPath, base);
    expect(r._unsafeUnwrap()).toMatchObject({
      ranStepIds: ["s2", "s3", "s4"],
      skippedStepIds: ["s1"],
      attempt: 2,
    });
    expect(log()).toEqual([
      "start s1",
      "done s1",
      "start s2 rerun",
      "done s2",
      ...allDone.slice(4),
    ]);
  });

  it("stops with ABORTED when the signal fires inside a step", async () => {
    const ac = new AbortController();
    const handlers: StepHandlers = {
      "test.append": (step) => {
        if (step.id === "s2") {
          ac.abort();
          return errAsync({
            code: "ABORTED",
            message: "Cancelled while copying.",
            during: "copying",
          });
        }
        return okAsync(undefined);
      },
    };
    const e = (
      await execute(plan, handlers, { confirm: plan.digest, journalPath, signal: ac.signal })
    )._unsafeUnwrapErr();
    expect(e).toEqual({ code: "ABORTED", message: "Cancelled while copying.", during: "copying" });
    expect((await readJournal(journalPath))._unsafeUnwrap()).toMatchObject({
      status: "failed",
      currentStepId: "s2",
    });
  });

  it("turns a handler that throws into STEP_FAILED with cause HANDLER_THREW", async () => {
    const e = (
      await execute(
        plan,
        {
          "test.append": () => {
            throw new Error("oops");
          },
        },
        { confirm: plan.digest, journalPath },
      )
    )._unsafeUnwrapErr();
    expect(e).toMatchObject({ code: "STEP_FAILED", cause: { code: "HANDLER_THREW" } });
  });
});

describe("resume and readJournal", () => {
  it("gives JOURNAL_NOT_FOUND and JOURNAL_CORRUPT with the journal path", async () => {
    const missing = (await resume(journalPath, {}))._unsafeUnwrapErr();
    expect(Object.keys(missing).sort()).toEqual(["cause", "code", "journalPath", "message"]);
    expect(missing).toMatchObject({ code: "JOURNAL_NOT_FOUND", journalPath });
    await writeFile(journalPath, "{ half");
    expect((await readJournal(journalPath))._unsafeUnwrapErr()).toMatchObject({
      code: "JOURNAL_CORRUPT",
      journalPath,
    });
    await writeFile(journalPath, JSON.stringify({ version: 1, plan: {} }));
    expect((await resume(journalPath, {}))._unsafeUnwrapErr().code).toBe("JOURNAL_CORRUPT");
  });

  it("refuses a journal whose plan was edited on disk (PLAN_TAMPERED)", async () => {
    const failing: StepHandlers = {
      "test.append": () => errAsync({ code: "TEST_BOOM", message: "boom" }),
    };
    await execute(plan, failing, { confirm: plan.digest, journalPath });
    // Edited by hand, as one whole journal file (no slot checksum to trip over).
    const journal = JSON.parse(JSON.stringify((await readJournal(journalPath))._unsafeUnwrap()));
    journal.plan.steps[3].params.line = "rm -rf /";
    for (const file of journalFiles(journalPath)) await rm(file, { force: true });
    await writeFile(journalPath, JSON.stringify(journal));
    const e = (await resume(journalPath, makeTestHandlers(logPath)))._unsafeUnwrapErr();
    expect(e).toMatchObject({ code: "PLAN_TAMPERED", recorded: plan.digest });
    expect(log()).toEqual([]);
  });
});

describe("the journal's two slots", () => {
  const failing: StepHandlers = {
    "test.append": (step) =>
      step.id === "s3" ? errAsync({ code: "TEST_BOOM", message: "boom" }) : okAsync(undefined),
  };

  it("writes step boundaries in place, alternating slots; readJournal takes the newest", async () => {
    await execute(plan, failing, { confirm: plan.digest, journalPath });
    const [a, b] = journalFiles(journalPath);
    const seqs = [JSON.parse(await readFile(a, "utf8")), JSON.parse(await readFile(b, "utf8"))].map(
      (j: { journalSeq: number }) => j.journalSeq,
    );
    // first write (seq 1, slot A), s1 done (2, B), s2 done (3, A), failure recorded (4, B)
    expect(seqs).toEqual([3, 4]);
    const j = (await readJournal(journalPath))._unsafeUnwrap();
    expect(j).toMatchObject({ status: "failed", completedStepIds: ["s1", "s2"] });
    expect(j).not.toHaveProperty("journalSeq");
  });

  it("falls back to the other slot when the newest one is torn, and resumes from there", async () => {
    await execute(plan, failing, { confirm: plan.digest, journalPath });
    const [, b] = journalFiles(journalPath);
    // A power cut in the middle of the last in-place write: half of slot B, the rest old bytes.
    const text = await readFile(b, "utf8");
    await writeFile(
      b,
      text.slice(0, text.length / 2) + text.slice(text.length / 2).replace(/"/g, "'"),
    );
    const older = (await readJournal(journalPath))._unsafeUnwrap();
    expect(older).toMatchObject({ status: "running", completedStepIds: ["s1", "s2"] });
    // A slot whose JSON is whole but whose content changed fails its checksum just the same.
    await writeFile(b, text.replace('"failed"', '"done"'));
    expect((await readJournal(journalPath))._unsafeUnwrap().status).toBe("running");
    const r = await resume(journalPath, makeTestHandlers(logPath));
    expect(r._unsafeUnwrap().ranStepIds).toEqual(["s3", "s4"]);
    expect((await readJournal(journalPath))._unsafeUnwrap().status).toBe("done");
  });

  it("is JOURNAL_CORRUPT when neither slot holds a whole record", async () => {
    await execute(plan, failing, { confirm: plan.digest, journalPath });
    for (const file of journalFiles(journalPath)) {
      const text = await readFile(file, "utf8");
      await writeFile(file, text.replace('"s1"', '"s9"'));
    }
    expect((await readJournal(journalPath))._unsafeUnwrapErr()).toMatchObject({
      code: "JOURNAL_CORRUPT",
      journalPath,
    });
  });

  it("a new run outranks a stale second slot left by an older one", async () => {
    await execute(plan, failing, { confirm: plan.digest, journalPath });
    const [a, b] = journalFiles(journalPath);
    const staleB = await readFile(b, "utf8");
    await rm(a);
    (
      await execute(plan, makeTestHandlers(logPath), { confirm: plan.digest, journalPath })
    )._unsafeUnwrap();
    await writeFile(b, staleB);
    expect((await readJournal(journalPath))._unsafeUnwrap().status).toBe("done");
  });
});
