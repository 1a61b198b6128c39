import { open, readdir } from "node:fs/promises";
import path from "node:path";
import { type ExecutorEvent, planDataLoss } from "@lifeboat/core";
import { Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exists } from "../src/_internal/fs.js";
import { executeReset, inspect, plan, renderPlan } from "../src/index.js";
import { FACTORY_ROOT } from "../src/layout.js";
import {
  buildGolden,
  damage,
  deviceDigest,
  freshRootListing,
  type Golden,
  listing,
  machine,
  markerOf,
  RESET_CHANGES,
  runner,
} from "./support/machine.js";

const stamp = "20261125T210000Z";
let scratch: Scratch;
let golden: Golden;

beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-reset-e2e-");
  golden = await buildGolden(scratch, "large");
}, 600_000);
let cachedFactory: string[] | undefined;
async function factoryListing(m: { top: string }): Promise<string[]> {
  cachedFactory ??= await listing(path.join(m.top, FACTORY_ROOT), RESET_CHANGES);
  return cachedFactory;
}
afterAll(async () => {
  await scratch?.cleanup();
});

describe("reset keeping /home, end to end on loop devices", () => {
  it("provision, damage, reset: root equals the factory tree, home byte-identical", async () => {
    const m = await machine(scratch, golden);
    const factory = await factoryListing(m);
    expect(factory.length).toBeGreaterThan(1000);
    await damage(m);
    const home = await listing(path.join(m.top, "home"));
    const windows = await deviceDigest(m.devices.windows);
    expect(await freshRootListing(scratch, m)).not.toEqual(factory);

    const inspectOptions = {
      top: m.top,
      boot: m.boot,
      disks: [m.disk],
      recovery: m.recoveryState,
    };
    // Free space moves while Btrfs commits what provision and the damage wrote: commit it
    // first, so that inspect, df and the second inspect below read one settled number.
    await sh("btrfs", ["subvolume", "sync", m.top]); // deleted subvolumes cleaned up
    await sh("btrfs", ["filesystem", "sync", m.top]);
    const state = (await inspect(runner, inspectOptions))._unsafeUnwrap();
    expect(state.factory?.intact).toBe(true);
    expect(state.rootMount).toEqual({ by: "name", subvolume: "root" });
    expect(state.otherOses.map((o) => o.name)).toEqual(["Windows"]);
    // What inspect read without programs (agent, superblock, statfs) is what the tools say.
    const bootDev = state.boot?.device ?? "";
    expect(state.boot?.fsUuid).toBe(
      (await sh("blkid", ["-o", "value", "-s", "UUID", bootDev])).trim(),
    );
    const btrfsDev = state.btrfs?.device ?? "";
    expect(state.btrfs?.fsUuid).toBe(
      (await sh("blkid", ["-o", "value", "-s", "UUID", btrfsDev])).trim(),
    );
    const [avail] = (await sh("df", ["--output=avail", "-B1", m.top])).trim().split("\n").slice(1);
    expect(state.btrfs?.freeBytes).toBe(Number(avail));
    // The same state without the agent (btrfs programs, as where it cannot be built).
    process.env.LIFEBOAT_BTRFS_AGENT = "0";
    try {
      const byPrograms = (await inspect(runner, inspectOptions))._unsafeUnwrap();
      expect(byPrograms).toEqual(state);
    } finally {
      delete process.env.LIFEBOAT_BTRFS_AGENT;
    }
    const p = plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    expect(renderPlan(p)).toContain("Windows");
    expect(planDataLoss(p).some((l) => l.kind === "operating-system")).toBe(false);

    const run = await executeReset({ runner, top: m.top, boot: m.boot }, p, { confirm: p.digest });
    expect(run._unsafeUnwrap().ranStepIds).toEqual(p.steps.map((s) => s.id));

    expect(await freshRootListing(scratch, m)).toEqual(factory);
    expect(await listing(path.join(m.top, "home"))).toEqual(home);
    expect(await markerOf(path.join(m.top, "root"))).toBe(stamp);
    const machineId = await import("node:fs/promises").then((fs) =>
      fs.readFile(path.join(m.top, "root/etc/machine-id"), "utf8"),
    );
    expect(machineId).toBe("");
    // the old root is kept, damaged as it was
    expect(await listing(path.join(m.top, `root.old-${stamp}`))).toContain("opt/junk dir 755 0 ");
    // /boot holds exactly the factory payload (plus grub2)
    const bootList = (
      await listing(m.boot, (r) => r.startsWith("lost+found") || r.startsWith("grub2"))
    ).map((l) => l.split(" ")[0]);
    expect(bootList).toEqual([
      "System.map-6.8.5-301.fc40.x86_64",
      "initramfs-6.8.5-301.fc40.x86_64.img",
      "loader",
      "loader/entries",
      "loader/entries/0123456789abcdef-6.8.5-301.fc40.x86_64.conf",
      "vmlinuz-6.8.5-301.fc40.x86_64",
    ]);
    expect(await deviceDigest(m.devices.windows)).toBe(windows);

    // cleanup removes the old root
    const after = (
      await inspect(runner, { top: m.top, boot: m.boot, disks: [m.disk] })
    )._unsafeUnwrap();
    const c = plan(after, { kind: "cleanup" })._unsafeUnwrap();
    expect(planDataLoss(c).map((l) => l.what)).toEqual([
      `subvolume root.old-${stamp} (the system as it was before a reset)`,
    ]);
    (
      await executeReset({ runner, top: m.top, boot: m.boot }, c, { confirm: c.digest })
    )._unsafeUnwrap();
    const final = (
      await inspect(runner, { top: m.top, disks: [m.disk], measureSizes: false })
    )._unsafeUnwrap();
    expect(final.btrfs?.subvolumes.map((s) => s.path).sort()).toEqual([
      ".lifeboat/factory/boot",
      ".lifeboat/factory/root",
      "home",
      "root",
    ]);
  });

  it("from the recovery partition when the factory snapshot is gone", async () => {
    const m = await machine(scratch, golden);
    const factory = await factoryListing(m);
    await damage(m);
    await sh("btrfs", ["subvolume", "delete", "--commit-after", path.join(m.top, FACTORY_ROOT)]);
    const home = await listing(path.join(m.top, "home"));
    const windows = await deviceDigest(m.devices.windows);
    const state = (
      await inspect(runner, {
        top: m.top,
        boot: m.boot,
        disks: [m.disk],
        recovery: m.recoveryState,
        measureSizes: false,
      })
    )._unsafeUnwrap();
    expect(plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrapErr()).toMatchObject({
      code: "RESET_NO_FACTORY_SNAPSHOT",
      reason: "missing",
    });
    const p = plan(state, { kind: "reset-from-recovery", stamp })._unsafeUnwrap();
    const events: ExecutorEvent[] = [];
    (
      await executeReset({ runner, top: m.top, boot: m.boot, recovery: m.recovery }, p, {
        confirm: p.digest,
        onProgress: (e) => events.push(e),
      })
    )._unsafeUnwrap();
    const progressOf = (id: string) =>
      events.flatMap((e) => (e.type === "step-progress" && e.stepId === id ? [e] : []));
    // Verified once, when the set was opened: its files are unchanged since, so neither the
    // verify step nor the unpack hashes it again.
    expect(progressOf("verify-image")).toEqual([]);
    // Unpacking reports bytes written against the root's size from the signed manifest.
    const rootBytes = m.recoveryState.rootBytes;
    const unpack = progressOf("unpack");
    expect(unpack.length).toBeGreaterThan(0);
    expect(unpack.every((e) => e.bytesTotal === rootBytes)).toBe(true);
    expect(unpack.at(-1)?.bytesDone).toBe(rootBytes);
    expect(await freshRootListing(scratch, m)).toEqual(factory);
    expect(await listing(path.join(m.top, "home"))).toEqual(home);
    expect(await deviceDigest(m.devices.windows)).toBe(windows);
    expect(await exists(path.join(m.boot, "vmlinuz-6.9.0-junk"))).toBe(false);
  });

  it("a recovery image changed after it was opened is verified again (with progress) and refused", async () => {
    const m = await machine(scratch, golden);
    const state = (
      await inspect(runner, {
        top: m.top,
        boot: m.boot,
        disks: [m.disk],
        recovery: m.recoveryState,
        measureSizes: false,
      })
    )._unsafeUnwrap();
    const p = plan(state, { kind: "reset-from-recovery", stamp })._unsafeUnwrap();
    // One byte of the root image flipped in place, after the set was verified and planned.
    const image = path.join(m.recoveryDir, "root.squashfs");
    const fd = await open(image, "r+");
    try {
      const at = 4096;
      const b = Buffer.alloc(1);
      await fd.read(b, 0, 1, at);
      b[0] = (b[0] ?? 0) ^ 0xff;
      await fd.write(b, 0, 1, at);
    } finally {
      await fd.close();
    }
    const before = await readdir(m.top);
    const events: ExecutorEvent[] = [];
    const r = await executeReset({ runner, top: m.top, boot: m.boot, recovery: m.recovery }, p, {
      confirm: p.digest,
      onProgress: (e) => events.push(e),
    });
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "STEP_FAILED", stepId: "verify-image" });
    const hashed = events.flatMap((e) =>
      e.type === "step-progress" && e.stepId === "verify-image" ? [e] : [],
    );
    expect(hashed.length).toBeGreaterThan(0);
    expect(hashed.every((e) => (e.bytesTotal ?? 0) > 0)).toBe(true);
    // Nothing was unpacked.
    expect((await readdir(m.top)).sort()).toEqual(before.sort());
  });

  it("full restore: root from the image, empty home, Windows removed from the GPT, ESP and recovery kept", async () => {
    const m = await machine(scratch, golden);
    const factory = await factoryListing(m);
    await damage(m);
    await sh("btrfs", [
      "subvolume",
      "snapshot",
      "-r",
      path.join(m.top, "root"),
      path.join(m.top, "pre-update"),
    ]);
    const esp = await deviceDigest(m.devices.esp);
    const recoverySet = await listing(m.recoveryDir);
    const state = (
      await inspect(runner, {
        top: m.top,
        boot: m.boot,
        disks: [m.disk],
        recovery: m.recoveryState,
      })
    )._unsafeUnwrap();
    const p = plan(state, { kind: "full-restore", stamp })._unsafeUnwrap();
    const os = planDataLoss(p).filter((l) => l.kind === "operating-system");
    expect(os).toEqual([expect.objectContaining({ loud: true })]);
    // Partitions by number and unique GUID: the plan names no loop device.
    expect(os[0]?.what).toMatch(/^Windows \(partitions? [0-9, ]+\)$/);
    expect(JSON.stringify(p)).not.toContain("/dev/");
    expect(planDataLoss(p).map((l) => l.what)).toContain("snapshot pre-update");
    (
      await executeReset(
        { runner, top: m.top, boot: m.boot, recovery: m.recovery, disks: [m.disk.device] },
        p,
        { confirm: p.digest },
      )
    )._unsafeUnwrap();
    expect(await freshRootListing(scratch, m)).toEqual(factory);
    expect(await listing(path.join(m.top, "home"))).toEqual([]);
    const subs = (
      await inspect(runner, { top: m.top, disks: [m.disk], measureSizes: false })
    )._unsafeUnwrap();
    expect(subs.btrfs?.subvolumes.map((s) => s.path).sort()).toEqual([
      ".lifeboat/factory/boot",
      ".lifeboat/factory/root",
      "home",
      "root",
    ]);
    const types = JSON.parse(await sh("sfdisk", ["-J", m.image])).partitiontable.partitions.map(
      (x: { type: string }) => x.type.toLowerCase(),
    );
    expect(types).not.toContain("ebd0a0a2-b9e5-4433-87c0-68b6b72699c7");
    expect(types).not.toContain("e3c9e316-0b5c-4db8-817d-f92df00215ae");
    expect(types).toContain("d999c366-3126-4451-b3c1-be31e091158c");
    expect(await deviceDigest(m.devices.esp)).toBe(esp);
    expect(await listing(m.recoveryDir)).toEqual(recoverySet);
  });
});
