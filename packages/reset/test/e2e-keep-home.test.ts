import path from "node:path";
import { planDataLoss } from "@lifeboat/core";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeReset, FACTORY_ROOT, inspect, plan, renderPlan } from "../src/index.js";
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
afterAll(async () => {
  await scratch?.cleanup();
});

describe("reset keeping /home, end to end on loop devices", () => {
  it("provision, damage, reset: root equals the factory tree, home byte-identical", async () => {
    const m = await machine(scratch, golden);
    const factory = await listing(path.join(m.top, FACTORY_ROOT), RESET_CHANGES);
    expect(factory.length).toBeGreaterThan(1000);
    await damage(m);
    const home = await listing(path.join(m.top, "home"));
    const windows = await deviceDigest(m.devices.windows);
    expect(await freshRootListing(scratch, m)).not.toEqual(factory);

    const state = (
      await inspect(runner, {
        top: m.top,
        boot: m.boot,
        disks: [m.disk],
        recovery: m.recoveryState,
      })
    )._unsafeUnwrap();
    expect(state.factory?.intact).toBe(true);
    expect(state.rootMount).toEqual({ by: "name", subvolume: "root" });
    expect(state.otherOses.map((o) => o.name)).toEqual(["Windows"]);
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
});
