// Anti-rollback in the reset planner (issue #22): reset-from-recovery and
// full-restore refuse a verified recovery set whose security epoch is below
// the floor in the state; the override plans it and says so. The floor is
// read from a real recovery root (the partition's security-epoch record).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import {
  createImageSet,
  generateKeyPair,
  installImageSet,
  signImageSet,
  verifyImageSet,
} from "@lifeboat/image";
import { SECURITY_EPOCH_FILE } from "@lifeboat/image/layout";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openRecoveryImageSet, plan, type SystemState } from "../src/index.js";
import { RECOVERY_FILES } from "../src/layout.js";
import { laptop } from "./fixtures.js";

const stamp = "20261204T100000Z";

function withEpochs(securityEpoch: number | undefined, epochFloor: number | undefined) {
  const base = laptop();
  return laptop({ recovery: { ...base.recovery!, securityEpoch, epochFloor } });
}

describe("planning against the epoch floor", () => {
  test.each(["reset-from-recovery", "full-restore"] as const)(
    "%s refuses an older set with RESET_IMAGE_ROLLBACK",
    (kind) => {
      const e = plan(withEpochs(1, 2), { kind, stamp })._unsafeUnwrapErr();
      expect(e).toMatchObject({ code: "RESET_IMAGE_ROLLBACK", securityEpoch: 1, floorEpoch: 2 });
      expect(e.message).toContain("--allow-rollback");
      // An old manifest without the field is epoch 0.
      expect(plan(withEpochs(undefined, 1), { kind, stamp })._unsafeUnwrapErr().code).toBe(
        "RESET_IMAGE_ROLLBACK",
      );
    },
  );

  test.each(["reset-from-recovery", "full-restore"] as const)(
    "%s plans an equal or newer set as before, and without a floor",
    (kind) => {
      const before = plan(laptop(), { kind, stamp })._unsafeUnwrap();
      for (const [epoch, floor] of [
        [2, 2],
        [3, 2],
        [0, undefined],
      ] as const) {
        const p = plan(withEpochs(epoch, floor), { kind, stamp })._unsafeUnwrap();
        expect(p.steps).toEqual(before.steps);
        expect(p.warnings).toEqual(before.warnings);
      }
    },
  );

  test("the override plans the older set and its reason is in the plan's warnings", () => {
    const p = plan(withEpochs(1, 2), {
      kind: "reset-from-recovery",
      stamp,
      allowRollback: { reason: "ticket 4711" },
    })._unsafeUnwrap();
    expect(p.warnings[0]).toBe(
      "Rollback allowed: the recovery image set has security epoch 1, older than 2 (reason: ticket 4711).",
    );
    expect(
      plan(withEpochs(1, 2), {
        kind: "full-restore",
        stamp,
        allowRollback: { reason: "" },
      })._unsafeUnwrapErr().code,
    ).toBe("RESET_BAD_REQUEST");
  });
});

describe("the floor from a real recovery root", () => {
  const key = generateKeyPair();
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "lifeboat-reset-rollback-"));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function installSet(root: string, name: string, securityEpoch: number) {
    const dir = path.join(work, name);
    const factory = path.join(work, `${name}.json`);
    await writeFile(
      factory,
      JSON.stringify({
        version: 1,
        product: "Contoso Laptop 14",
        build: name,
        createdAt: "2026-01-01T00:00:00Z",
        snapshot: { path: "/lifeboat/factory/root", uuid: "u", source: "/root", bytes: 1024 },
        boot: { path: "/lifeboat/factory/boot", uuid: "b", files: [], kernelVersions: [] },
        layout: { btrfsUuid: "f", rootSubvolume: "root", homeSubvolume: "home" },
      }),
    );
    (
      await createImageSet({
        dir,
        product: "Contoso Laptop 14",
        version: name,
        securityEpoch,
        sourceDateEpoch: 1767225600,
        minimumPartitionBytes: 0,
        files: [{ path: RECOVERY_FILES.factory, kind: "file", source: factory }],
      })
    )._unsafeUnwrap();
    (await signImageSet(dir, key))._unsafeUnwrap();
    const set = (await verifyImageSet(dir, { trustedKeys: [key.publicKey] }))._unsafeUnwrap();
    return (await installImageSet(set, root))._unsafeUnwrap();
  }

  async function stateOf(root: string, minimumEpoch?: number): Promise<SystemState> {
    const { state } = (
      await openRecoveryImageSet(createExecaRunner(), {
        dir: path.join(root, "current"),
        trustedKeys: [key.publicKey],
        recoveryRoot: root,
        ...(minimumEpoch === undefined ? {} : { minimumEpoch }),
      })
    )._unsafeUnwrap();
    expect(state.verified).toBe(true);
    return laptop({ recovery: { ...laptop().recovery!, ...state } });
  }

  test("a set swapped below the partition's record is refused by reset-from-recovery planning", async () => {
    const root = path.join(work, "root-a");
    await installSet(root, "v1", 1);
    let state = await stateOf(root);
    expect(state.recovery).toMatchObject({ securityEpoch: 1, epochFloor: 1 });
    expect(plan(state, { kind: "reset-from-recovery", stamp }).isOk()).toBe(true);

    // v2 was installed once (the record says 2), then current was put back to v1 by hand.
    await writeFile(path.join(root, SECURITY_EPOCH_FILE), "2\n");
    state = await stateOf(root);
    expect(state.recovery).toMatchObject({ securityEpoch: 1, epochFloor: 2 });
    expect(plan(state, { kind: "reset-from-recovery", stamp })._unsafeUnwrapErr()).toMatchObject({
      code: "RESET_IMAGE_ROLLBACK",
      securityEpoch: 1,
      floorEpoch: 2,
    });
  });

  test("the OEM minimum counts as the floor too", async () => {
    const root = path.join(work, "root-b");
    await installSet(root, "v3", 3);
    expect((await stateOf(root, 5)).recovery?.epochFloor).toBe(5);
    expect((await stateOf(root, 2)).recovery?.epochFloor).toBe(3);
    expect(
      plan(await stateOf(root, 5), { kind: "full-restore", stamp })._unsafeUnwrapErr().code,
    ).toBe("RESET_IMAGE_ROLLBACK");
  });
});
