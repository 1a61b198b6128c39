import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { requireTools, Scratch, sh } from "@lifeboat/testkit";
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
  RESET_ENTRY_ID,
  RESET_UNIT_WANTED_BY,
  ROOT_SUBVOLUME,
  SAVED_ENTRY_KEPT,
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

  it("keeps the reset entry across a power cut between GRUB clearing next_entry and the unit; gives saved_entry back as it starts and when there is nothing to run", async () => {
    requireTools("grub-editenv");
    const { m, scheduled } = await scheduledMachine();
    const grubenv = path.join(m.boot, "grub2/grubenv");
    const listed = async () =>
      (await sh("grub-editenv", [grubenv, "list"])).split("\n").filter(Boolean).sort();
    /** What a Fedora grub.cfg does at boot: take next_entry once (clearing it), else saved_entry. */
    const grubBoots = async () => {
      const vars = new Map(
        (await listed()).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
      const next = vars.get("next_entry");
      if (next) {
        await sh("grub-editenv", [grubenv, "unset", "next_entry"]);
        return next;
      }
      return vars.get("saved_entry") ?? "0";
    };
    // The boot after `reset schedule` takes the reset entry; the power is cut before the unit.
    expect(await grubBoots()).toBe(RESET_ENTRY_ID);
    // The boot after the cut takes it again (saved_entry held it)...
    expect(await grubBoots()).toBe(RESET_ENTRY_ID);
    // ...and run-scheduled, as it starts, makes it the one next boot's only: a reset that
    // cannot finish does not hold every later boot.
    let grubenvAtStart = "";
    const done = await runScheduledReset(
      { runner, top: m.top, boot: m.boot },
      {
        digest: scheduled.digest,
        onEvent: (e) => {
          if (e.kind === "planned") grubenvAtStart = readFileSync(grubenv, "latin1");
        },
      },
    );
    expect(done._unsafeUnwrap().action).toBe("executed");
    expect(grubenvAtStart.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([
      `next_entry=${RESET_ENTRY_ID}`,
    ]);
    // Done: nothing of the schedule is left in grubenv; later boots are the system's own.
    expect(await listed()).toEqual([]);
    expect(await grubBoots()).toBe("0");

    // A stale arm with nothing on the top level (e.g. a cut before `schedule` wrote the request):
    // the unit finds nothing and lets go, so later boots do not keep coming back.
    await sh("grub-editenv", [
      grubenv,
      "set",
      `saved_entry=${RESET_ENTRY_ID}`,
      `${SAVED_ENTRY_KEPT}=abc-6.1`,
    ]);
    const none = await runScheduledReset(
      { runner, top: m.top, boot: m.boot },
      { digest: scheduled.digest },
    );
    expect(none._unsafeUnwrap()).toEqual({ action: "nothing-scheduled" });
    expect(await listed()).toEqual(["saved_entry=abc-6.1"]);
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
