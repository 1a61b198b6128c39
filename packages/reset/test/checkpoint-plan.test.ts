import { computePlanDigest } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import {
  type CheckpointState,
  checkCheckpointName,
  plan,
  planPrune,
  renderPlan,
  type SystemState,
} from "../src/index.js";
import { laptop } from "./fixtures.js";

const GiB = 1024 ** 3;
const stamp = "20261126T000000Z";

function cp(id: string, createdAt: string, uuid: string): CheckpointState {
  return {
    id,
    factory: false,
    reason: `before ${id}`,
    createdAt,
    rootPath: `.lifeboat/checkpoints/${id}/root`,
    rootUuid: uuid,
    bootPath: `.lifeboat/checkpoints/${id}/boot`,
    bootFiles: [
      { path: "vmlinuz-6.9.1-200.fc40.x86_64", bytes: 15 * 1024 ** 2, sha256: "c".repeat(64) },
    ],
    kernelVersions: ["6.9.1-200.fc40.x86_64"],
    parent: "factory",
    bytes: 12 * GiB,
    intact: true,
  };
}

/** The laptop with three checkpoints; `rootParent` is the UUID root was snapshotted from. */
function withCheckpoints(rootParent?: string, extra: Partial<SystemState> = {}): SystemState {
  const base = laptop();
  const btrfs = base.btrfs!;
  const cps = [
    cp("a", "2026-10-01T00:00:00.000Z", "u-a"),
    cp("b", "2026-11-01T00:00:00.000Z", "u-b"),
    cp("c", "2026-11-20T00:00:00.000Z", "u-c"),
  ];
  return laptop({
    btrfs: {
      ...btrfs,
      subvolumes: [
        ...btrfs.subvolumes.map((s) => (s.path === "root" ? { ...s, parentUuid: rootParent } : s)),
        ...cps.flatMap((c, i) => [
          {
            id: 400 + 2 * i,
            path: c.rootPath,
            uuid: c.rootUuid,
            parentUuid: "aaaa",
            readOnly: true,
            bytes: 12 * GiB,
          },
          {
            id: 401 + 2 * i,
            path: c.bootPath,
            uuid: `${c.rootUuid}-boot`,
            parentUuid: undefined,
            readOnly: true,
            bytes: 100,
          },
        ]),
      ],
    },
    checkpoints: [
      {
        ...cp("factory", "2026-09-01T00:00:00.000Z", "cccc"),
        factory: true,
        rootPath: ".lifeboat/factory/root",
        parent: undefined,
      },
      ...cps,
    ],
    ...extra,
  });
}

describe("rollback plans", () => {
  it("a rollback to a checkpoint is the factory reset's plan from another snapshot, machine-id kept", () => {
    const r = plan(withCheckpoints(), { kind: "rollback", checkpoint: "b", stamp })._unsafeUnwrap();
    expect(computePlanDigest(r)._unsafeUnwrap()).toBe(r.digest);
    expect(renderPlan(r)).toMatchInlineSnapshot(`
      "Roll the system back to checkpoint b, taken 2026-11-01T00:00:00.000Z: before b, keeping /home
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      WARNINGS:
        ! Windows (partitions 3, 2, 4) is on this disk; this reset does not touch it.

      This destroys:
        - subvolume root (the installed system: programs, settings in /etc, data in /var), 14.0 GiB (kept as root.old-20261126T000000Z until you run cleanup, so files can still be copied from it)
        - kernels and boot entries in /boot that did not come from checkpoint b (their modules are no longer in the new root)

      Steps:
        1. Check that the filesystem and checkpoint b are the ones planned for
        2. Make root.new-20261126T000000Z as a writable snapshot of checkpoint b (copy-on-write, no copying)
        3. Prepare root.new-20261126T000000Z (reset marker; /etc/machine-id kept)
        4. Keep a copy of the current /boot payload as .lifeboat/boot.old-20261126T000000Z
        5. Stage the /boot payload of checkpoint b (1 file) beside the current one
        6. Swap root and root.new-20261126T000000Z in one atomic rename  [destroys]
        7. Keep the old root as root.old-20261126T000000Z
        8. Bring /boot back to the kernels, initramfs and boot entries of checkpoint b  [destroys]"
    `);
    expect(r.steps.find((s) => s.id === "prepare-root")?.params.firstBoot).toBe(false);
  });
  it("the factory checkpoint gives the factory reset's steps", () => {
    const state = withCheckpoints();
    const r = plan(state, { kind: "rollback", checkpoint: "factory", stamp })._unsafeUnwrap();
    const k = plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    expect(r.steps).toEqual(
      k.steps.map((s) =>
        s.kind === "reset.prepare-root" ? { ...s, params: { ...s.params, kind: "rollback" } } : s,
      ),
    );
    expect(r.title).toMatch(/^Roll the system back to the factory checkpoint/);
  });
  it("refuses a missing or damaged checkpoint, and a request without one", () => {
    expect(
      plan(withCheckpoints(), { kind: "rollback", checkpoint: "zz", stamp })._unsafeUnwrapErr(),
    ).toMatchObject({ code: "RESET_NO_CHECKPOINT", id: "zz", reason: "missing" });
    const s = withCheckpoints();
    const damaged = {
      ...s,
      checkpoints: (s.checkpoints ?? []).map((c) => (c.id === "b" ? { ...c, intact: false } : c)),
    };
    expect(
      plan(damaged, { kind: "rollback", checkpoint: "b", stamp })._unsafeUnwrapErr(),
    ).toMatchObject({ code: "RESET_NO_CHECKPOINT", reason: "damaged" });
    expect(plan(s, { kind: "rollback", checkpoint: "", stamp })._unsafeUnwrapErr()).toMatchObject({
      code: "RESET_BAD_REQUEST",
      field: "checkpoint",
    });
  });
});

describe("retention", () => {
  it("keeps the newest N and the factory snapshot; lists sizes", () => {
    const p = planPrune(withCheckpoints(), { keepLast: 1 })._unsafeUnwrap();
    expect(p.deleted).toEqual(["a", "b"]);
    expect(p.kept).toEqual([
      { id: "factory", reason: "factory" },
      { id: "c", reason: "recent" },
    ]);
    expect(renderPlan(p.plan)).toMatchInlineSnapshot(`
      "Delete 2 checkpoints (2 kept)
      target: btrfs:2b0f6a7e-0000-4000-8000-000000000001

      WARNINGS:
        ! Checkpoint factory is kept: the factory snapshot is never deleted.

      This destroys:
        - checkpoint a (before a, 2026-10-01T00:00:00.000Z), 12.0 GiB (its root snapshot and /boot payload are deleted for good)
        - checkpoint b (before b, 2026-11-01T00:00:00.000Z), 12.0 GiB (its root snapshot and /boot payload are deleted for good)

      Steps:
        1. Check that the filesystem is the one planned for
        2. Delete checkpoint a (2026-10-01T00:00:00.000Z)  [destroys]
        3. Delete checkpoint b (2026-11-01T00:00:00.000Z)  [destroys]"
    `);
  });
  it("never deletes the checkpoint the running root came from, nor one an unfinished plan uses", () => {
    const state = withCheckpoints("u-a", {
      unfinishedPlan: {
        digest: "sha256:x",
        kind: "rollback",
        title: "Roll back to checkpoint b",
        status: "running",
        stoppedAt: "swap-root",
        lastError: undefined,
        paths: [".lifeboat/checkpoints/b/root", "root"],
      },
    });
    const p = planPrune(state, { keepLast: 0 })._unsafeUnwrap();
    expect(p.deleted).toEqual(["c"]);
    expect(p.kept).toEqual([
      { id: "factory", reason: "factory" },
      { id: "b", reason: "unfinished-plan" },
      { id: "a", reason: "running-root" },
    ]);
    for (const [id, reason] of [
      ["factory", "factory"],
      ["a", "running-root"],
      ["b", "unfinished-plan"],
    ] as const)
      expect(planPrune(state, { ids: [id] })._unsafeUnwrapErr()).toEqual({
        code: "RESET_CHECKPOINT_PROTECTED",
        message: expect.stringContaining(`Checkpoint ${id} is kept`),
        id,
        reason,
      });
  });
  it("hostile names are refused", () => {
    for (const name of ["..", "../x", "a/b", "-x", "factory", "a b", "é", "a".repeat(64)])
      expect(checkCheckpointName(name)._unsafeUnwrapErr().code).toBe("RESET_BAD_CHECKPOINT_NAME");
    expect(checkCheckpointName("before-f41_2.0")._unsafeUnwrap()).toBe("before-f41_2.0");
  });
});
