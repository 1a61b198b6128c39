import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Plan, readJournal } from "@lifeboat/core";
import { exportPublicKeyPem } from "@lifeboat/image";
import { mountTemp, Scratch, sh, unmount } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultHook, withFaultHook } from "../src/_internal/fault-hook.js";
import { checkpointRoot } from "../src/checkpoint/layout.js";
import {
  createCheckpoint,
  executeReset,
  inspect,
  plan,
  type ResetEnvironment,
  type ResetRequest,
  resumeReset,
} from "../src/index.js";
import { FACTORY_ROOT } from "../src/layout.js";
import { bundleChild } from "./support/child-bundle.js";
import {
  buildGolden,
  damage,
  type Golden,
  listing,
  type Machine,
  machine,
  RESET_CHANGES,
  runner,
} from "./support/machine.js";

const stamp = "20261125T230000Z";
let scratch: Scratch;
let golden: Golden;
let childScript: string;
let factory: string[];
const tally = { faultCases: 0, faultPassed: 0, kills: 0, killsInStep: 0, killPassed: 0 };

beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-reset-crash-");
  golden = await buildGolden(scratch, "small");
  childScript = scratch.path("child.mjs");
  await bundleChild(childScript);
}, 600_000);
afterAll(async () => {
  console.log(
    `crash safety: ${tally.faultCases} fault-injection cases run, ${tally.faultPassed} passed; ` +
      `${tally.kills} SIGKILLs (${tally.killsInStep} inside a data-moving step), ${tally.killPassed} passed`,
  );
  await scratch?.cleanup();
});

/** The tree under a fresh mount of a subvolume, as the next boot would see it. */
async function fresh(m: Machine, subvol: string): Promise<string[]> {
  const mnt = await mountTemp(scratch, m.devices.btrfs, {
    type: "btrfs",
    options: `subvol=${subvol},ro`,
  });
  try {
    return await listing(mnt, RESET_CHANGES);
  } finally {
    await unmount(mnt);
  }
}

interface Scenario {
  readonly name: string;
  readonly request: (usb: string) => ResetRequest;
  readonly prep: (m: Machine) => Promise<void>;
  /** Which end states root and home may have: "before", "factory", "checkpoint", "empty". */
  readonly rootEnd: "before" | "factory" | "checkpoint";
  readonly homeEnd: "before" | "empty";
  readonly rescue: boolean;
  readonly dataStep?: string;
}

const usbTarget = (usb: string) => ({ directory: usb, freeBytes: 8 * 1024 ** 3 });
const SCENARIOS: Scenario[] = [
  {
    name: "reset-keep-home",
    request: () => ({ kind: "reset-keep-home", stamp }),
    prep: damage,
    rootEnd: "factory",
    homeEnd: "before",
    rescue: false,
  },
  {
    name: "reset-from-recovery",
    request: () => ({ kind: "reset-from-recovery", stamp }),
    prep: damage,
    rootEnd: "factory",
    homeEnd: "before",
    rescue: false,
    dataStep: "unpack",
  },
  {
    name: "full-restore",
    request: () => ({ kind: "full-restore", stamp }),
    prep: async (m) => {
      await damage(m);
      await sh("btrfs", [
        "subvolume",
        "snapshot",
        "-r",
        path.join(m.top, "root"),
        path.join(m.top, "snap-1"),
      ]);
    },
    rootEnd: "factory",
    homeEnd: "empty",
    rescue: false,
    dataStep: "unpack",
  },
  {
    name: "reset-user-data",
    request: (usb) => ({ kind: "reset-user-data", stamp, rescueTo: usbTarget(usb) }),
    prep: async () => {},
    rootEnd: "before",
    homeEnd: "empty",
    rescue: true,
    dataStep: "rescue-copy",
  },
  {
    name: "rescue",
    request: (usb) => ({ kind: "rescue", stamp, target: usbTarget(usb) }),
    prep: async () => {},
    rootEnd: "before",
    homeEnd: "before",
    rescue: true,
    dataStep: "rescue-copy",
  },
  {
    name: "rollback",
    request: () => ({ kind: "rollback", checkpoint: "pre-upgrade", stamp }),
    prep: async (m) => {
      const cp = await createCheckpoint(
        runner,
        { top: m.top, boot: m.boot },
        { name: "pre-upgrade", reason: "before an upgrade" },
      );
      if (cp.isErr()) throw new Error(JSON.stringify(cp.error));
      await damage(m);
    },
    rootEnd: "checkpoint",
    homeEnd: "before",
    rescue: false,
  },
  {
    name: "cleanup",
    request: () => ({ kind: "cleanup" }),
    prep: async (m) => {
      await sh("btrfs", [
        "subvolume",
        "snapshot",
        path.join(m.top, "root"),
        path.join(m.top, "root.old-20260101T000000Z"),
      ]);
    },
    rootEnd: "before",
    homeEnd: "before",
    rescue: false,
  },
];

interface Prepared {
  m: Machine;
  usb: string;
  p: Plan;
  rootBefore: string[];
  homeBefore: string[];
  /** The root a rollback goes back to. */
  checkpoint: string[];
}

async function prepare(s: Scenario, tag: string): Promise<Prepared> {
  const m = await machine(scratch, golden);
  factory ??= await listing(path.join(m.top, FACTORY_ROOT), RESET_CHANGES);
  await s.prep(m);
  const checkpoint =
    s.rootEnd === "checkpoint"
      ? await listing(path.join(m.top, checkpointRoot("pre-upgrade")), RESET_CHANGES)
      : [];
  const usb = scratch.path(`usb-${s.name}-${tag}`);
  await mkdir(usb, { recursive: true });
  const rootBefore = await fresh(m, "root");
  const homeBefore = await fresh(m, "home");
  const state = (
    await inspect(runner, {
      top: m.top,
      boot: m.boot,
      disks: [m.disk],
      recovery: m.recoveryState,
      measureSizes: false,
    })
  )._unsafeUnwrap();
  return {
    m,
    usb,
    p: plan(state, s.request(usb))._unsafeUnwrap(),
    rootBefore,
    homeBefore,
    checkpoint,
  };
}

/** At any instant: a fresh mount finds a complete root (old or new) and home as before (or emptied, when planned). */
async function checkInvariant(s: Scenario, x: Prepared): Promise<void> {
  const root = await fresh(x.m, "root");
  const rootOk = [
    x.rootBefore,
    ...(s.rootEnd === "factory" ? [factory] : []),
    ...(s.rootEnd === "checkpoint" ? [x.checkpoint] : []),
  ].some((t) => JSON.stringify(t) === JSON.stringify(root));
  expect(rootOk, `${s.name}: root is neither the old nor the new root`).toBe(true);
  const home = await fresh(x.m, "home");
  const homeOk = [x.homeBefore, ...(s.homeEnd === "empty" ? [[]] : [])].some(
    (t) => JSON.stringify(t) === JSON.stringify(home),
  );
  expect(homeOk, `${s.name}: home changed`).toBe(true);
}

async function checkEnd(s: Scenario, x: Prepared): Promise<void> {
  expect(await fresh(x.m, "root")).toEqual(
    s.rootEnd === "factory" ? factory : s.rootEnd === "checkpoint" ? x.checkpoint : x.rootBefore,
  );
  expect(await fresh(x.m, "home")).toEqual(s.homeEnd === "empty" ? [] : x.homeBefore);
  if (s.rescue)
    expect(await listing(path.join(x.usb, `lifeboat-rescue-${stamp}`))).toEqual(x.homeBefore);
  const j = (await readJournal(path.join(x.m.top, ".lifeboat/journal.json")))._unsafeUnwrap();
  expect(j.status).toBe("done");
  const subs = (
    await inspect(runner, { top: x.m.top, disks: [x.m.disk], measureSizes: false })
  )._unsafeUnwrap();
  const names = subs.btrfs?.subvolumes.map((v) => v.path) ?? [];
  expect(names.filter((n) => /\.(new|partial)-|rescue-/.test(n))).toEqual([]);
}

function env(x: Prepared, hook?: FaultHook): ResetEnvironment {
  const e: ResetEnvironment = {
    runner,
    top: x.m.top,
    boot: x.m.boot,
    recovery: x.m.recovery,
    // Where full restore finds the partitions it removes (by PARTUUID): the disk image.
    disks: [x.m.disk.device],
  };
  return hook ? withFaultHook(e, hook) : e;
}

describe.concurrent("crash safety", () => {
  it.each(SCENARIOS)(
    "$name: a fault at every step boundary, then resume",
    async (s) => {
      const x = await prepare(s, "fault");
      // Every boundary between steps: before the first, and after each step (the step has
      // acted but the journal does not know, so the resume re-runs it).
      const first = x.p.steps[0]?.id ?? "";
      const boundaries = [
        { stepId: first, at: "before" as const },
        ...x.p.steps.map((st) => ({ stepId: st.id, at: "after" as const })),
      ];
      for (const [i, b] of boundaries.entries()) {
        tally.faultCases++;
        let fired = false;
        const hook = (id: string, at: "before" | "after") => {
          if (fired || id !== b.stepId || at !== b.at) return false;
          fired = true;
          return true;
        };
        const r =
          i === 0
            ? await executeReset(env(x, hook), x.p, { confirm: x.p.digest })
            : await resumeReset(env(x, hook));
        if (
          r.isErr() &&
          r.error.cause &&
          (r.error.cause as { code?: string }).code !== "RESET_FAULT_INJECTED"
        )
          throw new Error(`${s.name} at ${b.at} ${b.stepId}: ${JSON.stringify(r.error)}`);
        expect(r._unsafeUnwrapErr()).toMatchObject({
          code: "STEP_FAILED",
          stepId: b.stepId,
          cause: { code: "RESET_FAULT_INJECTED" },
        });
        await checkInvariant(s, x);
        tally.faultPassed++;
      }
      tally.faultCases++;
      (await resumeReset(env(x)))._unsafeUnwrap();
      await checkEnd(s, x);
      tally.faultPassed++;
    },
    900_000,
  );

  // Kill until 5 kills per scenario have landed inside the data-moving step (at most 12 tries
  // per machine; a kill that lands after the step finished still counts as a crash, not as
  // "inside"). The step's length depends on how busy the machine is, so the delay window
  // starts generous and shrinks below any delay that turned out to be too late.
  const DELAY_MS: Record<string, number> = { unpack: 500, "rescue-copy": 150 };
  it.each(SCENARIOS.filter((s) => s.dataStep))(
    "$name: SIGKILL at random moments in $dataStep, then resume",
    async (s) => {
      const pem = exportPublicKeyPem(golden.publicKey);
      let inStep = 0;
      let maxDelay = DELAY_MS[s.dataStep ?? ""] ?? 500;
      // A machine per round: a round ends when the data-moving step has finished (a kill
      // landed after it); then the plan is resumed to its end and checked, and a fresh
      // machine is taken until 5 kills have landed inside the step.
      for (let round = 0; inStep < 5 && round < 8; round++) {
        const x = await prepare(s, `kill-${round}`);
        for (let k = 0; inStep < 5 && k < 12; k++) {
          const config = scratch.path(`child-${s.name}-${round}-${k}.json`);
          await writeFile(
            config,
            JSON.stringify({
              top: x.m.top,
              boot: x.m.boot,
              recoveryDir: x.m.recoveryDir,
              disks: [x.m.disk.device],
              publicKeyPem: pem,
              plan: x.p,
              mode: k === 0 ? "execute" : "resume",
            }),
          );
          const delay = Math.floor(Math.random() * maxDelay);
          const outcome = await runAndKill(config, s.dataStep ?? "", delay);
          tally.kills++;
          const j = (
            await readJournal(path.join(x.m.top, ".lifeboat/journal.json"))
          )._unsafeUnwrap();
          const stepDone = j.completedStepIds.includes(s.dataStep ?? "");
          if (outcome === "killed" && !stepDone) {
            tally.killsInStep++;
            inStep++;
          } else {
            maxDelay = Math.max(1, Math.floor(delay * 0.6));
          }
          await checkInvariant(s, x);
          tally.killPassed++;
          if (stepDone) break;
        }
        (await resumeReset(env(x)))._unsafeUnwrap();
        await checkEnd(s, x);
      }
      expect(inStep).toBeGreaterThanOrEqual(5);
    },
    900_000,
  );
});

/** Start the child; once it starts `stepId`, wait `delayMs` and SIGKILL it. */
function runAndKill(
  config: string,
  stepId: string,
  delayMs: number,
): Promise<"killed" | "finished"> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, config], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let buffer = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      buffer += text;
      if (timer === undefined && buffer.includes(`"type":"step-started","stepId":"${stepId}"`)) {
        timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (timer) clearTimeout(timer);
      resolve(signal === "SIGKILL" ? "killed" : "finished");
    });
  });
}
