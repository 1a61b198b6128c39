// The crash contract, with a real process killed by SIGKILL: completed steps
// are not redone, the interrupted one is, and the run finishes.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireLock, execute, readJournal, resume } from "../src/index.js";
import { makeTestHandlers, makeTestPlan } from "./fixtures/test-plan.js";

const child = fileURLToPath(new URL("./fixtures/executor-child.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

let dir: string;
let journalPath: string;
let logPath: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lifeboat-crash-"));
  journalPath = path.join(dir, "run.journal");
  logPath = path.join(dir, "side-effects.log");
  await writeFile(logPath, "");
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

const log = () => readFileSync(logPath, "utf8").trim().split("\n").filter(Boolean);
const plan = makeTestPlan();

/** Start the child executor (tsx) and wait until it prints `marker`. */
async function startChild(mode: "between" | "mid", marker: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", child, journalPath, logPath, mode], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(proc);
  let out = "";
  let errText = "";
  proc.stderr!.on("data", (d) => {
    errText += String(d);
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on("data", (d) => {
      out += String(d);
      if (out.includes(marker)) resolve();
    });
    proc.on("exit", (code) => reject(new Error(`child exited (${code}) early: ${out}${errText}`)));
  });
  return proc;
}

async function killHard(proc: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  proc.kill("SIGKILL");
  await exited;
}

describe("an executor killed with SIGKILL", () => {
  it("between steps: resume runs only the steps not done", async () => {
    const proc = await startChild("between", "between s2 s3");
    await killHard(proc);
    expect(log()).toEqual(["start s1", "done s1", "start s2", "done s2"]);
    const journal = (await readJournal(journalPath))._unsafeUnwrap();
    // The write that recorded s2 done also named s3 current (one journal
    // write per step boundary), so s3 counts as interrupted.
    expect(journal).toMatchObject({
      status: "running",
      completedStepIds: ["s1", "s2"],
      currentStepId: "s3",
    });
    // Its lock is left behind, held by a dead pid: resume takes it over.
    expect(JSON.parse(readFileSync(`${journalPath}.lock`, "utf8")).pid).toBe(proc.pid);
    const r = await resume(journalPath, makeTestHandlers(logPath));
    expect(r._unsafeUnwrap()).toMatchObject({
      ranStepIds: ["s3", "s4"],
      skippedStepIds: ["s1", "s2"],
      attempt: 2,
    });
    expect(log()).toEqual([
      ...["s1", "s2"].flatMap((s) => [`start ${s}`, `done ${s}`]),
      "start s3 rerun",
      "done s3",
      "start s4",
      "done s4",
    ]);
    expect((await readJournal(journalPath))._unsafeUnwrap().status).toBe("done");
    const again = await resume(journalPath, makeTestHandlers(logPath));
    expect(again._unsafeUnwrap()).toMatchObject({ alreadyDone: true, ranStepIds: [] });
    expect(log()).toHaveLength(8);
  });

  it("in the middle of a step: a second executor gets LOCK_HELD, resume re-runs that step", async () => {
    const proc = await startChild("mid", "in-step s3");
    // While the first executor runs, nobody else may work on the target.
    const second = await execute(plan, makeTestHandlers(logPath), {
      confirm: plan.digest,
      journalPath,
    });
    expect(second._unsafeUnwrapErr()).toEqual({
      code: "LOCK_HELD",
      message: expect.stringContaining(`pid ${proc.pid}`),
      lockPath: `${journalPath}.lock`,
      holderPid: proc.pid,
    });
    expect((await resume(journalPath, makeTestHandlers(logPath)))._unsafeUnwrapErr().code).toBe(
      "LOCK_HELD",
    );
    expect(proc.exitCode).toBe(null); // it really was alive while refused
    await killHard(proc);
    const journal = (await readJournal(journalPath))._unsafeUnwrap();
    expect(journal).toMatchObject({ completedStepIds: ["s1", "s2"], currentStepId: "s3" });
    const r = await resume(journalPath, makeTestHandlers(logPath));
    expect(r._unsafeUnwrap()).toMatchObject({ ranStepIds: ["s3", "s4"] });
    expect(log()).toEqual([
      "start s1",
      "done s1",
      "start s2",
      "done s2",
      "start s3",
      "start s3 rerun",
      "done s3",
      "start s4",
      "done s4",
    ]);
  });
});

describe("acquireLock", () => {
  it("refuses a lock held by a live process and takes over one from another boot", async () => {
    const lockPath = path.join(dir, "t.lock");
    const first = (await acquireLock(lockPath))._unsafeUnwrap();
    expect(first.info).toMatchObject({ pid: process.pid, bootId: expect.any(String) });
    const second = (await acquireLock(lockPath))._unsafeUnwrapErr();
    expect(Object.keys(second).sort()).toEqual(["code", "holderPid", "lockPath", "message"]);
    expect(second).toMatchObject({ code: "LOCK_HELD", lockPath, holderPid: process.pid });
    await first.release();
    await writeFile(
      lockPath,
      JSON.stringify({ ...first.info, bootId: "00000000-0000-0000-0000-000000000000" }),
    );
    const taken = (await acquireLock(lockPath))._unsafeUnwrap();
    expect(JSON.parse(readFileSync(lockPath, "utf8")).bootId).toBe(taken.info.bootId);
    await taken.release();
  });
});
