import { writeFile } from "node:fs/promises";
import path from "node:path";
import { planDataLoss } from "@lifeboat/core";
import { mountTemp, Scratch, unmount } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withFaultHook } from "../src/_internal/fault-hook.js";
import { checkpointRoot } from "../src/checkpoint/layout.js";
import {
  createCheckpoint,
  describeBootPayload,
  executeReset,
  inspect,
  listCheckpoints,
  plan,
  planPrune,
  renderPlan,
  resumeReset,
  type SystemState,
} from "../src/index.js";
import {
  buildGolden,
  damage,
  type Golden,
  KVER,
  listing,
  type Machine,
  machine,
  runner,
} from "./support/machine.js";

const MARKER_DIR = (rel: string) => rel.startsWith("var/lib/lifeboat");
let scratch: Scratch;
let golden: Golden;

beforeAll(async () => {
  // This file runs every Btrfs question, snapshot and exchange with `btrfs` programs, as
  // where lifeboat-btrfs-agent cannot be built; the other reset tests use the agent.
  process.env.LIFEBOAT_BTRFS_AGENT = "0";
  scratch = await Scratch.create("lifeboat-reset-checkpoint-");
  golden = await buildGolden(scratch, "small");
}, 600_000);
afterAll(async () => {
  delete process.env.LIFEBOAT_BTRFS_AGENT;
  await scratch?.cleanup();
});

/** A fresh mount of `subvol=root` (what the next boot sees), listed; only the reset marker left out. */
async function freshRoot(m: Machine): Promise<string[]> {
  const mnt = await mountTemp(scratch, m.devices.btrfs, {
    type: "btrfs",
    options: "subvol=root,ro",
  });
  try {
    return await listing(mnt, MARKER_DIR);
  } finally {
    await unmount(mnt);
  }
}

async function stateOf(m: Machine): Promise<SystemState> {
  return (
    await inspect(runner, { top: m.top, boot: m.boot, disks: [m.disk], measureSizes: false })
  )._unsafeUnwrap();
}

/** The /boot payload (kernels, initramfs, BLS entries) as `path bytes sha256` lines. */
async function bootPayload(dir: string): Promise<string[]> {
  return (await describeBootPayload(dir))
    ._unsafeUnwrap()
    .map((f) => `${f.path} ${f.bytes} ${f.sha256}`);
}

describe("checkpoints: take, change the system, roll back, prune", () => {
  it("rollback brings root and /boot back to the checkpoint, /home untouched; retention keeps what is in use", async () => {
    const m = await machine(scratch, golden);
    const machineIds = { top: m.top, boot: m.boot };
    const home = await listing(path.join(m.top, "home"));
    const bootBefore = await bootPayload(m.boot);

    // names: hostile ones are refused, nothing is created
    for (const name of ["../root", "a/b", "factory", "", ".hidden", "x".repeat(64), "a..b"]) {
      const r = await createCheckpoint(runner, machineIds, { name, reason: "x" });
      expect(r._unsafeUnwrapErr()).toMatchObject({ code: "RESET_BAD_CHECKPOINT_NAME", name });
    }

    const cp = (
      await createCheckpoint(runner, machineIds, {
        name: "before-f41",
        reason: "before dnf system-upgrade to Fedora 41",
      })
    )._unsafeUnwrap();
    expect(cp).toMatchObject({
      id: "before-f41",
      parent: "factory",
      boot: { kernelVersions: [KVER] },
    });
    expect(
      (
        await createCheckpoint(runner, machineIds, { name: "before-f41", reason: "again" })
      )._unsafeUnwrapErr(),
    ).toMatchObject({ code: "RESET_CHECKPOINT_EXISTS", id: "before-f41" });
    const atCheckpoint = await freshRoot(m);
    expect(await listing(path.join(m.top, checkpointRoot("before-f41")), MARKER_DIR)).toEqual(
      atCheckpoint,
    );
    expect(await bootPayload(path.join(m.top, cp.boot.path))).toEqual(bootBefore);

    // the "upgrade": root changed (etc deleted, files overwritten, junk added), a new kernel and entry in /boot,
    // the checkpoint's initramfs rewritten in place
    await damage(m);
    await writeFile(path.join(m.boot, `initramfs-${KVER}.img`), "rebuilt by the upgrade\n");
    expect(await freshRoot(m)).not.toEqual(atCheckpoint);

    const state = await stateOf(m);
    expect(state.checkpoints?.map((c) => [c.id, c.factory, c.intact])).toEqual([
      ["factory", true, true],
      ["before-f41", false, true],
    ]);
    const p = plan(state, {
      kind: "rollback",
      checkpoint: "before-f41",
      stamp: "20261126T000000Z",
    })._unsafeUnwrap();
    expect(p.title).toMatch(/^Roll the system back to checkpoint before-f41/);
    expect(renderPlan(p)).toContain("kept as root.old-20261126T000000Z");
    expect(planDataLoss(p).map((l) => l.kind)).toEqual(["subvolume", "boot-entry"]);
    (await executeReset({ runner, ...machineIds }, p, { confirm: p.digest }))._unsafeUnwrap();

    expect(await freshRoot(m)).toEqual(atCheckpoint); // machine-id included: a rollback keeps it
    expect(await bootPayload(m.boot)).toEqual(bootBefore);
    expect(await listing(path.join(m.top, "home"))).toEqual(home);

    // retention: two more checkpoints, then keep none
    for (const name of ["second", "third"])
      (
        await createCheckpoint(runner, machineIds, { name, reason: `checkpoint ${name}` })
      )._unsafeUnwrap();
    const listed = (await listCheckpoints(runner, { top: m.top }))._unsafeUnwrap();
    expect(listed.map((c) => [c.id, c.parent ?? null])).toEqual([
      ["factory", null],
      ["before-f41", "factory"],
      ["second", "before-f41"],
      ["third", "second"],
    ]);
    let s = await stateOf(m);
    expect(planPrune(s, { ids: ["factory"] })._unsafeUnwrapErr()).toMatchObject({
      code: "RESET_CHECKPOINT_PROTECTED",
      reason: "factory",
    });
    expect(planPrune(s, { ids: ["before-f41"] })._unsafeUnwrapErr()).toMatchObject({
      code: "RESET_CHECKPOINT_PROTECTED",
      reason: "running-root",
    });
    expect(planPrune(s, { ids: ["nope"] })._unsafeUnwrapErr()).toMatchObject({
      code: "RESET_NO_CHECKPOINT",
    });
    expect(planPrune(s, { keepLast: -1 })._unsafeUnwrapErr()).toMatchObject({
      code: "RESET_BAD_REQUEST",
    });

    // an unfinished rollback to "third" (stopped before its snapshot step) protects "third"
    const toThird = plan(s, {
      kind: "rollback",
      checkpoint: "third",
      stamp: "20261126T010000Z",
    })._unsafeUnwrap();
    const stopped = await executeReset(
      withFaultHook({ runner, ...machineIds }, (id, at) => id === "snapshot" && at === "before"),
      toThird,
      { confirm: toThird.digest },
    );
    expect(stopped._unsafeUnwrapErr()).toMatchObject({ code: "STEP_FAILED", stepId: "snapshot" });
    s = await stateOf(m);
    expect(s.unfinishedPlan?.digest).toBe(toThird.digest);
    const pruned = planPrune(s, { keepLast: 0 })._unsafeUnwrap();
    expect(pruned.deleted).toEqual(["second"]);
    expect(pruned.kept).toEqual([
      { id: "factory", reason: "factory" },
      { id: "third", reason: "unfinished-plan" },
      { id: "before-f41", reason: "running-root" },
    ]);
    expect(planPrune(s, { ids: ["third"] })._unsafeUnwrapErr()).toMatchObject({
      reason: "unfinished-plan",
    });
    (await resumeReset({ runner, ...machineIds }))._unsafeUnwrap();

    // now the running root came from "third": keep the last 1 deletes before-f41 and second
    s = await stateOf(m);
    expect(s.unfinishedPlan).toBeUndefined();
    const keepOne = planPrune(s, { keepLast: 1 })._unsafeUnwrap();
    expect(keepOne.deleted).toEqual(["before-f41", "second"]);
    expect(planDataLoss(keepOne.plan).map((l) => l.what)).toEqual([
      `checkpoint before-f41 (before dnf system-upgrade to Fedora 41, ${cp.createdAt})`,
      expect.stringMatching(/^checkpoint second \(checkpoint second, /),
    ]);
    expect(
      (await executeReset({ runner, ...machineIds }, keepOne.plan))._unsafeUnwrapErr().code,
    ).toBe("CONFIRMATION_REQUIRED");
    (
      await executeReset({ runner, ...machineIds }, keepOne.plan, { confirm: keepOne.plan.digest })
    )._unsafeUnwrap();
    const after = await stateOf(m);
    expect(after.checkpoints?.map((c) => c.id)).toEqual(["factory", "third"]);
    expect(after.factory?.intact).toBe(true);
    const paths = after.btrfs?.subvolumes.map((v) => v.path) ?? [];
    expect(paths.filter((v) => v.includes("before-f41") || v.includes("second"))).toEqual([]);
    expect(await listing(path.join(m.top, "home"))).toEqual(home);
    // nothing left to delete: an empty plan
    expect(planPrune(after, { keepLast: 0 })._unsafeUnwrap().plan.steps).toEqual([]);
  });
});
