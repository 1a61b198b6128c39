import { existsSync } from "node:fs";
import path from "node:path";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withFaultHook } from "../src/_internal/fault-hook.js";
import {
  executeReset,
  inspect,
  plan,
  runScheduledReset,
  type ScheduledRunEvent,
  scheduleResetOn,
} from "../src/index.js";
import {
  oldRootName,
  RESET_UNIT_WANTED_BY,
  ROOT_SUBVOLUME,
  SCHEDULED_REQUEST,
} from "../src/layout.js";
import { buildGolden, type Golden, machine, runner } from "./support/machine.js";

const stamp = "20261205T140000Z";
let scratch: Scratch;
let golden: Golden;

beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-reset-run-scheduled-");
  golden = await buildGolden(scratch, "small");
}, 600_000);
afterAll(async () => {
  await scratch?.cleanup();
});

/** A fresh machine with a keep-home reset scheduled on it (scheduleResetOn, the public way). */
async function scheduledMachine() {
  const m = await machine(scratch, golden);
  const state = (await inspect(runner, { top: m.top, boot: m.boot }))._unsafeUnwrap();
  const systemRoot = path.join(m.top, ROOT_SUBVOLUME);
  const scheduled = (
    await scheduleResetOn(
      runner,
      { top: m.top, boot: m.boot, state },
      { request: { kind: "reset-keep-home", stamp }, systemRoot },
    )
  )._unsafeUnwrap();
  return { m, state, systemRoot, scheduled };
}

describe("runScheduledReset: the next boot's side of scheduleResetOn", () => {
  it("refuses another digest (nothing done), runs the request journaled and removes the schedule; then finds nothing", async () => {
    const { m, systemRoot, scheduled } = await scheduledMachine();
    const env = { runner, top: m.top, boot: m.boot };

    const wrong = await runScheduledReset(env, { digest: `sha256:${"0".repeat(64)}` });
    expect(wrong._unsafeUnwrapErr().code).toBe("PRECONDITION_FAILED");
    expect(existsSync(path.join(m.top, SCHEDULED_REQUEST))).toBe(true);
    expect(existsSync(path.join(m.top, oldRootName(stamp)))).toBe(false);

    const events: ScheduledRunEvent[] = [];
    const done = (
      await runScheduledReset(env, { digest: scheduled.digest, onEvent: (e) => events.push(e) })
    )._unsafeUnwrap();
    expect(done).toEqual({ action: "executed", planDigest: scheduled.plannedNow.digest });
    expect(events).toEqual([
      {
        kind: "planned",
        planKind: scheduled.plannedNow.kind,
        steps: scheduled.plannedNow.steps,
        digest: scheduled.plannedNow.digest,
      },
    ]);
    // The reset ran (the old root is kept under its stamped name) and the schedule is gone:
    // the request, and the unit from the system that will boot next (the new root).
    expect(existsSync(path.join(m.top, oldRootName(stamp)))).toBe(true);
    expect(existsSync(path.join(m.top, SCHEDULED_REQUEST))).toBe(false);
    for (const target of RESET_UNIT_WANTED_BY)
      expect(
        existsSync(
          path.join(
            systemRoot,
            `etc/systemd/system/${target}.wants/lifeboat-factory-reset.service`,
          ),
        ),
      ).toBe(false);

    const again = await runScheduledReset(env, { digest: scheduled.digest });
    expect(again._unsafeUnwrap()).toEqual({ action: "nothing-scheduled" });
  }, 600_000);

  it("resumes an interrupted reset from its journal (a power cut during the scheduled run) and removes the schedule", async () => {
    const { m, state, scheduled } = await scheduledMachine();
    // The first run stops after its first step, as a power cut would leave it.
    const p = plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    const firstStep = p.steps[0]?.id;
    const cut = await executeReset(
      withFaultHook(
        { runner, top: m.top, boot: m.boot },
        (id, at) => id === firstStep && at === "after",
      ),
      p,
      { confirm: p.digest },
    );
    expect(cut._unsafeUnwrapErr().code).toBe("STEP_FAILED"); // the injected fault, inside the step

    const events: ScheduledRunEvent[] = [];
    const done = (
      await runScheduledReset(
        { runner, top: m.top, boot: m.boot },
        { digest: scheduled.digest, onEvent: (e) => events.push(e) },
      )
    )._unsafeUnwrap();
    expect(done).toEqual({ action: "resumed", planDigest: p.digest });
    expect(events).toEqual([{ kind: "resuming" }]);
    expect(existsSync(path.join(m.top, oldRootName(stamp)))).toBe(true);
    expect(existsSync(path.join(m.top, SCHEDULED_REQUEST))).toBe(false);
  }, 600_000);
});
