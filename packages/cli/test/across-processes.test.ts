/**
 * Plans hold across processes: for each of the seven request kinds, three
 * `plan` runs (each mounting the disk somewhere else) give one digest; `apply`
 * with that digest in another process is SIGKILLed inside a data-moving step
 * (seen through `--progress json`); `resume` in a third process, with every
 * mount at yet another path, finishes it. Only the documented CLI is used.
 */
import { mkdirSync } from "node:fs";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkpointCreateDataSchema,
  inspectDataSchema,
  resumeDataSchema,
} from "../src/json-schemas.js";
import {
  applyAndKill,
  cliJson,
  ensureBuilt,
  json,
  keygen,
  provisionSmall,
  smallDisk,
} from "./support.js";

let scratch: Scratch;
let disk: string;
let publicKey: string;
let usb: string;
const tally = { kinds: 0, killedInStep: 0, finishedBeforeKill: 0 };

/** A run-time directory of its own: the process mounts the disk there. */
function runDir(name: string): Record<string, string> {
  const dir = scratch.path(`run-${name}`);
  mkdirSync(dir, { recursive: true });
  return { LIFEBOAT_RUN_DIR: dir };
}

const subvolumes = (env: Record<string, string>) =>
  json<{ subvolumes: { path: string }[] }>(env, ["subvol", "list", "--disk", disk]).subvolumes.map(
    (s) => s.path,
  );

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-across-");
  disk = await smallDisk(scratch);
  const keys = keygen(scratch);
  publicKey = keys.publicKey;
  provisionSmall(disk, keys.privateKey);
  usb = scratch.path("usb");
  mkdirSync(usb, { recursive: true });
  cliJson(
    ["checkpoint", "create", "--disk", disk, "--name", "before-update", "--reason", "test"],
    checkpointCreateDataSchema,
  );
}, 600_000);
afterAll(async () => {
  console.info(
    `across processes: ${tally.kinds} request kinds, ${tally.killedInStep} SIGKILLed inside their data-moving step, ${tally.finishedBeforeKill} finished before the kill landed`,
  );
  await scratch?.cleanup();
});

interface Case {
  readonly kind: string;
  readonly stamp: string;
  readonly extra: readonly string[];
  /** The data-moving step to kill in. */
  readonly killIn: (e: { stepId: string; kind: string }) => boolean;
  /** What must hold once the run is finished. */
  readonly check: (paths: readonly string[], stamp: string) => void;
}

const CASES: readonly Case[] = [
  {
    kind: "reset-keep-home",
    stamp: "20261204T100000Z",
    extra: [],
    killIn: (e) => e.stepId === "stage-boot",
    check: (p, s) => expect(p).toContain(`root.old-${s}`),
  },
  {
    kind: "cleanup",
    stamp: "20261204T110000Z",
    extra: [],
    killIn: (e) => e.kind === "reset.delete-subvolume",
    check: (p) => expect(p.filter((x) => x.startsWith("root.old-"))).toEqual([]),
  },
  {
    kind: "reset-from-recovery",
    stamp: "20261204T120000Z",
    extra: [],
    killIn: (e) => e.stepId === "unpack",
    check: (p, s) => expect(p).toContain(`root.old-${s}`),
  },
  {
    kind: "rollback",
    stamp: "20261204T130000Z",
    extra: ["--checkpoint", "before-update"],
    killIn: (e) => e.stepId === "stage-boot",
    check: (p, s) => expect(p).toContain(`root.old-${s}`),
  },
  {
    kind: "rescue",
    stamp: "20261204T140000Z",
    extra: ["--to", "USB"],
    killIn: (e) => e.stepId === "rescue-copy",
    check: (p, s) => expect(p).not.toContain(`.lifeboat/rescue-${s}`),
  },
  {
    kind: "reset-user-data",
    stamp: "20261204T150000Z",
    extra: [],
    killIn: (e) => e.stepId === "drop-old-home",
    check: (p) => expect(p).toContain("home"),
  },
  {
    kind: "full-restore",
    stamp: "20261204T160000Z",
    extra: [],
    killIn: (e) => e.stepId === "unpack",
    check: (p) => expect(p).toEqual(expect.arrayContaining(["root", "home"])),
  },
];

describe("plans across processes, mount points and a SIGKILL", () => {
  for (const c of CASES) {
    it(`${c.kind}: one digest from three plan runs; apply killed in its data-moving step; resume elsewhere finishes`, async () => {
      const extra = c.extra.map((a) => (a === "USB" ? usb : a));
      const request = [
        "--disk",
        disk,
        "--mode",
        c.kind,
        "--stamp",
        c.stamp,
        "--trusted-key",
        publicKey,
        ...extra,
      ];
      const digests = ["a", "b", "c"].map(
        (n) => json<{ digest: string }>(runDir(`${c.kind}-plan-${n}`), ["plan", ...request]).digest,
      );
      expect(new Set(digests).size).toBe(1);

      const outcome = await applyAndKill(
        runDir(`${c.kind}-apply`),
        ["apply", ...request, "--yes", "--confirm", digests[0] as string],
        c.killIn,
      );
      tally.kinds++;
      if (outcome === "killed") tally.killedInStep++;
      else tally.finishedBeforeKill++;

      const resumeEnv = runDir(`${c.kind}-resume`);
      const resumed = json<{ summary: { alreadyDone: boolean } }>(resumeEnv, [
        "resume",
        "--disk",
        disk,
        "--trusted-key",
        publicKey,
      ]);
      resumeDataSchema.parse(resumed);
      expect(resumed.summary.alreadyDone).toBe(outcome === "finished");
      const state = json<{ state: { unfinishedPlan?: unknown } }>(resumeEnv, [
        "inspect",
        "--disk",
        disk,
      ]);
      inspectDataSchema.parse(state);
      expect(state.state.unfinishedPlan).toBeUndefined();
      c.check(subvolumes(resumeEnv), c.stamp);
    });
  }
});
