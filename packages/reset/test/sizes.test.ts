/**
 * Issue #19, sizes: one measure of a subvolume, nested subvolumes counted
 * once; `listCheckpoints` gives each checkpoint's size; deleting a snapshot
 * leaves no empty directory behind. Real Btrfs on a loop device.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createPlan, formatBytes, planDataLoss } from "@lifeboat/core";
import { createBtrfs, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createCheckpoint,
  executeReset,
  inspect,
  listCheckpoints,
  plan,
  type SystemState,
} from "../src/index.js";
import { makeStep } from "../src/steps/catalogue.js";
import { laptop } from "./fixtures.js";
import { runner } from "./support/machine.js";

const MiB = 1024 ** 2;
let scratch: Scratch;
let top: string;
let boot: string;

const bytesOf = (n: number) => Buffer.alloc(n, 0x5a);

beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-sizes-");
  top = (await createBtrfs(scratch, { bytes: 512 * MiB })).mountpoint;
  await sh("btrfs", ["subvolume", "create", path.join(top, "root")]);
  await mkdir(path.join(top, "root/etc"));
  await writeFile(path.join(top, "root/etc/big"), bytesOf(3 * MiB));
  await sh("btrfs", ["subvolume", "create", path.join(top, "home")]);
  await writeFile(path.join(top, "home/a"), bytesOf(4 * MiB));
  await sh("btrfs", ["subvolume", "create", path.join(top, "home/.snapshots")]);
  await writeFile(path.join(top, "home/.snapshots/b"), bytesOf(8 * MiB));
  await mkdir(path.join(top, "snapshots"));
  await sh("btrfs", [
    "subvolume",
    "snapshot",
    "-r",
    path.join(top, "root"),
    path.join(top, "snapshots/pre-update"),
  ]);
  await sh("sync", []);
  boot = scratch.path("boot");
  await mkdir(path.join(boot, "loader/entries"), { recursive: true });
  await writeFile(path.join(boot, "vmlinuz-6.8.5-301.fc40.x86_64"), bytesOf(64 * 1024));
  await writeFile(path.join(boot, "initramfs-6.8.5-301.fc40.x86_64.img"), bytesOf(64 * 1024));
}, 120_000);
afterAll(async () => {
  await scratch?.cleanup();
});

async function state(): Promise<SystemState> {
  const s = await inspect(runner, { top, disks: [] });
  if (s.isErr()) throw new Error(JSON.stringify(s.error));
  return s.value;
}

describe("sizes", () => {
  it("a home with a nested subvolume: the data-loss line says what inspect measured, nested counted once", async () => {
    const s = await state();
    const home = s.btrfs?.subvolumes.find((v) => v.path === "home")?.bytes ?? 0;
    const nested = s.btrfs?.subvolumes.find((v) => v.path === "home/.snapshots")?.bytes ?? 0;
    // The measure of home walks the whole tree: the nested subvolume's 8 MiB are in it already.
    expect(home).toBeGreaterThanOrEqual(12 * MiB);
    expect(nested).toBeGreaterThanOrEqual(8 * MiB);
    const p = plan(s, { kind: "reset-user-data", stamp: "20261205T020000Z" })._unsafeUnwrap();
    const loss = planDataLoss(p).find((l) => l.what.startsWith("subvolume home"));
    expect(loss?.bytes).toBe(home);
    expect(loss?.detail).toContain("home/.snapshots");
  });

  it("the full restore's warning and its data-loss line give home the same size, in the same words", () => {
    const p = plan(laptop(), {
      kind: "full-restore",
      stamp: "20261205T020000Z",
    })._unsafeUnwrap();
    const loss = planDataLoss(p).find((l) => l.what.startsWith("subvolume home"));
    expect(loss?.bytes).toBe(37 * 1024 ** 3);
    const words = formatBytes(loss?.bytes ?? 0);
    expect(words).toBe("37.0 GiB");
    expect(p.warnings.join("\n")).toContain(
      `Every user's files in /home will be erased (${words})`,
    );
  });

  it("listCheckpoints gives every checkpoint's size (the checkpoint list's size column)", async () => {
    (
      await createCheckpoint(runner, { top, boot }, { name: "before-x", reason: "test" })
    )._unsafeUnwrap();
    const list = (await listCheckpoints(runner, { top }))._unsafeUnwrap();
    const cp = list.find((c) => c.id === "before-x");
    expect(cp?.bytes).toBeGreaterThanOrEqual(3 * MiB);
    const s = await state();
    expect(s.checkpoints?.find((c) => c.id === "before-x")?.bytes).toBe(cp?.bytes);
  });

  it("deleting snapshots/pre-update leaves no empty snapshots/ directory", async () => {
    const s = await state();
    const step = makeStep("drop", "reset.delete-subvolume", {
      role: "data",
      path: "snapshots/pre-update",
      readOnly: true,
    });
    const p = createPlan({
      kind: "test-delete",
      title: "Delete snapshots/pre-update",
      target: `btrfs:${s.btrfs?.fsUuid}`,
      warnings: [],
      steps: [step],
    })._unsafeUnwrap();
    (await executeReset({ runner, top }, p, { confirm: p.digest }))._unsafeUnwrap();
    expect(await readdir(top)).not.toContain("snapshots");
    // The rest is untouched.
    expect(await readdir(top)).toEqual(expect.arrayContaining(["root", "home"]));
  }, 60_000);
});
