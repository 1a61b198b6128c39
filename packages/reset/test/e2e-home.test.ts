import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { planDataLoss } from "@lifeboat/core";
import { Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeReset, inspect, plan } from "../src/index.js";
import { FACTORY_ROOT } from "../src/layout.js";
import {
  buildGolden,
  deviceDigest,
  freshRootListing,
  type Golden,
  listing,
  machine,
  runner,
} from "./support/machine.js";

const stamp = "20261125T210000Z";
let scratch: Scratch;
let golden: Golden;

beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-reset-home-");
  golden = await buildGolden(scratch, "small");
}, 600_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("home: rescue, reset user data; refusals", () => {
  it("reset user data after a verified rescue copy; rescue as a send stream", async () => {
    const m = await machine(scratch, golden);
    const usb = scratch.path("usb");
    await mkdir(usb, { recursive: true });
    const home = await listing(path.join(m.top, "home"));
    const root = await freshRootListing(scratch, m);
    const windows = await deviceDigest(m.devices.windows);
    const state = (
      await inspect(runner, { top: m.top, boot: m.boot, disks: [m.disk] })
    )._unsafeUnwrap();
    const s = plan(state, {
      kind: "rescue",
      stamp,
      target: { directory: usb, freeBytes: 10 * 1024 ** 3 },
      format: "send-stream",
    })._unsafeUnwrap();
    expect(planDataLoss(s)).toEqual([]);
    const bytes: number[] = [];
    (
      await executeReset({ runner, top: m.top }, s, {
        onProgress: (e) => e.type === "step-progress" && bytes.push(e.bytesDone),
      })
    )._unsafeUnwrap();
    expect(bytes.length).toBeGreaterThan(0);
    await mkdir(path.join(m.top, "rx"));
    await sh("btrfs", [
      "receive",
      "-f",
      path.join(usb, `lifeboat-rescue-${stamp}.btrfs-send`),
      path.join(m.top, "rx"),
    ]);
    expect(await listing(path.join(m.top, "rx", `rescue-${stamp}`))).toEqual(home);
    await sh("btrfs", ["subvolume", "delete", path.join(m.top, "rx", `rescue-${stamp}`)]);

    const stamp2 = "20261125T220000Z";
    const state2 = (
      await inspect(runner, { top: m.top, boot: m.boot, disks: [m.disk] })
    )._unsafeUnwrap();
    const p = plan(state2, {
      kind: "reset-user-data",
      stamp: stamp2,
      rescueTo: { directory: usb, freeBytes: 10 * 1024 ** 3 },
    })._unsafeUnwrap();
    expect(planDataLoss(p).map((l) => l.what)).toEqual(["subvolume home (every user's files)"]);
    (
      await executeReset({ runner, top: m.top, boot: m.boot }, p, { confirm: p.digest })
    )._unsafeUnwrap();
    expect(await listing(path.join(usb, `lifeboat-rescue-${stamp2}`))).toEqual(home);
    expect(await listing(path.join(m.top, "home"))).toEqual([]);
    expect(await freshRootListing(scratch, m)).toEqual(root);
    expect(await deviceDigest(m.devices.windows)).toBe(windows);
  });

  it("refuses a wrong digest, a changed plan, a stale plan, and a second executor", async () => {
    const m = await machine(scratch, golden);
    const env = { runner, top: m.top, boot: m.boot };
    const state = (
      await inspect(runner, { top: m.top, boot: m.boot, disks: [m.disk] })
    )._unsafeUnwrap();
    const p = plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    expect((await executeReset(env, p))._unsafeUnwrapErr().code).toBe("CONFIRMATION_REQUIRED");
    expect(
      (await executeReset(env, p, { confirm: `sha256:${"0".repeat(64)}` }))._unsafeUnwrapErr().code,
    ).toBe("CONFIRMATION_MISMATCH");
    const edited = (name: string, value: string) => ({
      ...p,
      steps: p.steps.map((s, i) =>
        i === 1 ? { ...s, params: { ...s.params, [name]: value } } : s,
      ),
    });
    // An edit its words would show is refused by the plan-text check, one they would not by the digest.
    expect(
      (await executeReset(env, edited("target", "home"), { confirm: p.digest }))._unsafeUnwrapErr()
        .code,
    ).toBe("RESET_PLAN_TEXT_MISMATCH");
    expect(
      (
        await executeReset(env, edited("sourceUuid", "0000"), { confirm: p.digest })
      )._unsafeUnwrapErr().code,
    ).toBe("PLAN_TAMPERED");
    // stale: the factory snapshot changed after planning; the check step stops before anything is touched
    await sh("btrfs", ["subvolume", "delete", path.join(m.top, FACTORY_ROOT)]);
    await sh("btrfs", [
      "subvolume",
      "snapshot",
      "-r",
      path.join(m.top, "root"),
      path.join(m.top, FACTORY_ROOT),
    ]);
    const before = await freshRootListing(scratch, m);
    const stale = await executeReset(env, p, { confirm: p.digest });
    expect(stale._unsafeUnwrapErr()).toMatchObject({
      code: "STEP_FAILED",
      stepId: "check",
      cause: { code: "RESET_UNEXPECTED_STATE" },
    });
    expect(await freshRootListing(scratch, m)).toEqual(before);
    await rm(path.join(m.top, ".lifeboat/journal.json"));
    // two executors: the second is refused while the first runs
    const fresh = (
      await inspect(runner, { top: m.top, boot: m.boot, disks: [m.disk] })
    )._unsafeUnwrap();
    const q = plan(fresh, {
      kind: "rescue",
      stamp,
      target: { directory: scratch.path("usb2"), freeBytes: 10 * 1024 ** 3 },
    })._unsafeUnwrap();
    await mkdir(scratch.path("usb2"), { recursive: true });
    let second: Promise<unknown> | undefined;
    const first = await executeReset(env, q, {
      onProgress: (e) => {
        if (e.type === "step-started" && e.stepId === "rescue-copy" && !second)
          second = Promise.resolve(executeReset(env, q));
      },
    });
    expect(first.isOk()).toBe(true);
    const r2 = (await second) as Awaited<ReturnType<typeof executeReset>>;
    expect(r2._unsafeUnwrapErr().code).toBe("LOCK_HELD");
  });
});
