/**
 * Issue 11, proved on real boots: the golden image (the cached boot-chain
 * fixture) deployed to two larger image files and made unique boots to its
 * marker each time with the golden content and no shared identifier; a
 * recovery USB image made from a machine's verified recovery set boots into
 * the recovery environment alone, and resets the machine's disk when both
 * are attached. Every boot runs with Secure Boot enforced (the stick through
 * the system's signed shim and GRUB) and asserts the guest kernel saw it.
 * Every boot's serial console is kept under test-output/qemu/.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import { RECOVERY_PARTITION_TYPE_GUID } from "@lifeboat/core/layout";
import {
  createRecoveryMedia,
  deployImage,
  type MakeUniqueSummary,
  makeMachineUnique,
  planRecoveryMedia,
} from "@lifeboat/factory";
import type { RecoveryLayout } from "@lifeboat/gpt";
import {
  loadPublicKey,
  readCurrentImageSet,
  type VerifiedImageSet,
  verifyImageSet,
} from "@lifeboat/image";
import {
  boot,
  type FedoraFixture,
  fedoraFixture,
  fixtureFingerprints,
  mountFixture,
  partitionsOf,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { cliBundle } from "./support/cli-bundle.js";
import {
  carveRecoveryPartition,
  copyInstalledEnvironment,
  type InstalledEnvironment,
  provisionFixture,
  withPartitionMounted,
} from "./support/recovery.js";
import { must, stepLogger } from "./support/steps.js";

const MARKER = /LIFEBOAT-MARKER root=([0-9a-f]{64}) home=([0-9a-f]{64})/;
const MACHINE_ID = /LIFEBOAT-MACHINE-ID ([0-9a-f]{32})/;
const runner: CommandRunner = createExecaRunner();
const GiB = 1024 * 1024 * 1024;

const say = stepLogger("factory-boot");

/** Disk GUID, partition GUIDs, filesystem UUIDs, Btrfs device and subvolume UUIDs of an image, in a fixed order. */
async function identifiers(image: string): Promise<Record<string, string>> {
  const table = JSON.parse(await sh("sfdisk", ["-J", image])) as {
    partitiontable: { id: string; partitions: { node: string; uuid: string }[] };
  };
  const ids: Record<string, string> = { disk: table.partitiontable.id.toLowerCase() };
  table.partitiontable.partitions.forEach((p, i) => {
    ids[`partuuid${i + 1}`] = p.uuid.toLowerCase();
  });
  const parts = await partitionsOf(image);
  for (const [i, p] of parts.entries()) {
    const dev = (
      await sh("losetup", [
        "--find",
        "--show",
        "--read-only",
        "--offset",
        String(p.offsetBytes),
        "--sizelimit",
        String(p.sizeBytes),
        image,
      ])
    ).trim();
    try {
      const uuid = (
        await sh("blkid", ["-p", "-o", "value", "-s", "UUID", dev]).catch(() => "")
      ).trim();
      if (uuid) ids[`fsuuid${i + 1}`] = uuid.toLowerCase();
      // Btrfs: the device UUID (UUID_SUB) and every subvolume's UUID (ROOT_ITEMs of the root tree).
      const sub = (
        await sh("blkid", ["-p", "-o", "value", "-s", "UUID_SUB", dev]).catch(() => "")
      ).trim();
      if (sub) {
        ids[`devuuid${i + 1}`] = sub.toLowerCase();
        const tree = await sh("btrfs", ["inspect-internal", "dump-tree", "-t", "root", dev]);
        for (const m of tree.matchAll(
          /key \((\d+|FS_TREE) ROOT_ITEM \d+\) itemoff \d+ itemsize \d+\n(?:[^\n]*\n){4}\s*uuid ([0-9a-f-]{36})/g,
        ))
          if (m[2] !== "00000000-0000-0000-0000-000000000000")
            ids[`subvol${i + 1}.${m[1]}`] = m[2]!;
      }
    } finally {
      await sh("losetup", ["-d", dev]);
    }
  }
  return ids;
}

/** The fixture's partitions as they are on `image` now (makeMachineUnique may have grown the last). */
async function layoutOf(image: string, fx: FedoraFixture) {
  const parts = await partitionsOf(image);
  const at = (n: number) => {
    const p = parts.find((q) => q.number === n);
    if (p === undefined) throw new Error(`${image} has no partition ${n}`);
    return {
      number: n,
      uuid: "",
      offsetBytes: Number(p.offsetBytes),
      sizeBytes: Number(p.sizeBytes),
    };
  };
  return { boot: at(fx.boot.number), root: at(fx.root.number) };
}

/** Boot an image normally; the marker's fingerprints and the machine-id the test hook prints. */
async function bootToMarker(image: string, name: string) {
  const vm = await boot({ disks: [image], timeoutMs: 600_000, name });
  try {
    const m = await vm.waitFor(MARKER, 540_000);
    const id = await vm.waitFor(MACHINE_ID, 60_000);
    await vm.waitForExit(90_000);
    vm.assertSecureBoot();
    say(`  ${name}: marker after ${(vm.elapsedMs() / 1000).toFixed(0)} s (log ${vm.logFile})`);
    return { root: m[1] as string, home: m[2] as string, machineId: id[1] as string };
  } finally {
    await vm.kill();
  }
}

/** Files that differ between two trees (paths relative to them), by `diff -rq`. */
async function differing(a: string, b: string, dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    const r = await runner.run(
      "diff",
      ["-rq", "--no-dereference", path.join(a, d), path.join(b, d)],
      {
        okExitCodes: [0, 1],
      },
    );
    const text = r.isOk() ? r.value.stdout : "";
    for (const line of text.split("\n").filter(Boolean)) {
      const m = /^Files (\S+) and \S+ differ$/.exec(line);
      out.push(m ? path.relative(a, m[1] as string) : line);
    }
  }
  return out.sort();
}

const HOOK = '#!/bin/sh\necho "LIFEBOAT-MACHINE-ID $(cat /etc/machine-id)"\n';

describe("factory boot: deployed copies boot as machines of their own; recovery media", () => {
  const scratches: Scratch[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.cleanup();
  });
  let scratch: Scratch;
  let fx: FedoraFixture;
  const copies: string[] = [];
  const summaries: MakeUniqueSummary[] = [];
  let golden = { root: "", home: "" };

  it("deploys the golden image twice; each copy boots to its marker with the golden content and shares no identifier", async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "sfdisk", "blkid", "mkfs.vfat", "mcopy", "sbverify");
    scratch = await Scratch.create("lifeboat-factory-boot-");
    scratches.push(scratch);
    say("step 1: golden image (the cached boot-chain fixture)");
    fx = await fedoraFixture(scratch, { name: "golden.img", onProgress: say });
    const goldenIds = await identifiers(fx.image);
    let goldenMachineId: string;
    {
      const m = await mountFixture(scratch, fx.image, fx);
      golden = await fixtureFingerprints(m);
      goldenMachineId = (
        await readFile(path.join(m.btrfsTop, "root/etc/machine-id"), "utf8")
      ).trim();
      await m.release();
    }
    const machineIds = new Set<string>([goldenMachineId]);
    const all: Record<string, string>[] = [goldenIds];
    for (const [i, grow] of [
      [1, false],
      [2, true],
    ] as const) {
      const image = scratch.path(`copy-${i}.img`);
      await sh("truncate", ["-s", String(6 * GiB), image]);
      const d = await must(
        deployImage(runner, { source: fx.image, target: image, targetZeroed: true }),
      );
      say(
        `  copy ${i}: deployed ${(d.bytesWritten / 2 ** 20).toFixed(0)} MiB written, ${(d.bytesSkipped / 2 ** 20).toFixed(0)} MiB zero skipped, verified=${d.verified} in ${(d.durationMs / 1000).toFixed(1)} s`,
      );
      const u = await must(makeMachineUnique(runner, { disk: image, growLastPartition: grow }));
      summaries.push(u);
      say(
        `  copy ${i}: ${u.ids.length} identifiers changed, grown ${(u.grownBytes / 2 ** 20).toFixed(0)} MiB, patched ${u.patchedFiles.join(" ")}`,
      );
      // The test hook prints the machine-id systemd made on this first boot.
      const m = await mountFixture(scratch, image, await layoutOf(image, fx));
      const hook = path.join(m.btrfsTop, "root/var/lib/lifeboat-test/hook");
      await mkdir(path.dirname(hook), { recursive: true });
      await writeFile(hook, HOOK);
      await chmod(hook, 0o755);
      const onHost = await fixtureFingerprints(m);
      expect(onHost.home).toBe(golden.home);
      // The root differs from the golden one only where identifiers were rewritten.
      const g = await mountFixture(scratch, fx.image, fx);
      const changed = await differing(
        path.join(g.btrfsTop, "root"),
        path.join(m.btrfsTop, "root"),
        ["etc", "usr/bin"],
      );
      expect(changed.filter((f) => f !== "etc/machine-id")).toEqual(["etc/fstab"]);
      const map = new Map(u.ids.map((c) => [c.from, c.to]));
      let fstab = await readFile(path.join(g.btrfsTop, "root/etc/fstab"), "utf8");
      for (const [from, to] of map) fstab = fstab.replaceAll(from, to);
      expect(await readFile(path.join(m.btrfsTop, "root/etc/fstab"), "utf8")).toBe(fstab);
      await g.release();
      await m.release();

      const seen = await bootToMarker(image, `factory-copy-${i}`);
      expect(seen.home).toBe(golden.home);
      expect(seen.root).toBe(onHost.root);
      machineIds.add(seen.machineId);
      all.push(await identifiers(image));
      copies.push(image);
    }
    expect(machineIds.size).toBe(3);
    const [g, a, b] = all as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
    ];
    expect(Object.keys(a)).toEqual(Object.keys(g));
    expect(Object.keys(b)).toEqual(Object.keys(g));
    for (const key of Object.keys(g)) {
      expect(new Set([g[key], a[key], b[key]]).size, key).toBe(3);
    }
    say(
      `  ${Object.keys(g).length} identifiers + machine-id differ between golden, copy 1, copy 2: ${Object.keys(g).join(" ")} machine-id`,
    );
  }, 1_500_000);

  let keysDir = "";
  let kit: InstalledEnvironment;
  let factoryRoot = "";
  const stick = () => scratch.path("recovery-stick.img");

  /** Copy 1's recovery partition (carved in step 2). */
  let recoveryPartition: RecoveryLayout["recovery"];

  /** Mount copy 1's recovery partition read-only, verify its current image set and hand it to `use`. */
  function withMachineImageSet<T>(image: string, use: (set: VerifiedImageSet) => Promise<T>) {
    const dir = scratch.path("machine-recovery");
    return withPartitionMounted(
      runner,
      image,
      recoveryPartition,
      dir,
      async () => {
        const current = await must(readCurrentImageSet(dir));
        const pub = await must(loadPublicKey(await readFile(path.join(keysDir, "public.pem"))));
        return use(await must(verifyImageSet(current.dir, { trustedKeys: [pub] })));
      },
      { readOnly: true },
    );
  }

  function writeStick(unattended?: { request: string; default: boolean }) {
    return withMachineImageSet(copies[0] as string, async (set) => {
      const options = {
        target: stick(),
        imageSet: set,
        environment: { kernel: kit.kernel, initrd: kit.initrd },
        extraFiles: [
          { source: kit.exchangeHelper, path: "lifeboat-exch", mode: 0o755 },
          { source: kit.agentHelper, path: "lifeboat-btrfs-agent", mode: 0o755 },
        ],
        kernelArgs: ["console=ttyS0,115200"],
        timeoutSeconds: 2,
        ...(unattended ? { unattended } : {}),
      };
      const plan = await must(planRecoveryMedia(runner, options));
      // The stick carries this system's signed shim and GRUB and the fixture's signed kernel.
      expect(plan.warnings.filter((w) => w.startsWith("Secure Boot"))).toEqual([]);
      const refused = await createRecoveryMedia(runner, {
        plan,
        confirm: undefined,
        imageSet: set,
      });
      expect(refused._unsafeUnwrapErr().code).toBe("CONFIRMATION_REQUIRED");
      const done = await must(
        createRecoveryMedia(runner, { plan, confirm: plan.digest, imageSet: set }),
      );
      say(
        `  stick ${(done.diskBytes / 2 ** 20).toFixed(0)} MiB, recovery fs ${done.fsUuid}, set ${done.setId}, written in ${(done.durationMs / 1000).toFixed(1)} s; plan erases: ${plan.steps.flatMap((x) => x.destroys.map((d) => d.what)).join(", ") || "nothing"}`,
      );
      return { plan, done };
    });
  }

  it("makes a recovery USB image from copy 1's verified recovery set; alone it boots into the recovery environment", async () => {
    expect(copies).toHaveLength(2);
    const copy = copies[0] as string;
    say(
      "step 2: provision copy 1 (recovery partition, factory snapshot, signed image), recovery environment",
    );
    const bundle = await cliBundle(say);
    recoveryPartition = (await carveRecoveryPartition(runner, copy)).recovery;
    keysDir = scratch.path("keys");
    const t0 = Date.now();
    await provisionFixture(bundle, copy, { build: fx.key, keysDir });
    say(`  provision of copy 1: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    {
      const m = await mountFixture(scratch, copy, fx);
      factoryRoot = (await fixtureFingerprints(m)).root;
      await m.release();
    }
    // provision installed the recovery environment; the stick takes it from the partition.
    kit = await copyInstalledEnvironment(
      runner,
      copy,
      recoveryPartition,
      scratch.path("machine-recovery"),
      scratch.path("env"),
    );
    say(`  recovery environment: initrd ${(kit.initrdBytes / 2 ** 20).toFixed(1)} MiB`);

    say("step 2: recovery media from copy 1's verified set; boot it alone");
    const { done } = await writeStick();
    const parts = await partitionsOf(stick());
    expect(parts.map((p) => p.type)).toEqual([
      "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
      RECOVERY_PARTITION_TYPE_GUID,
    ]);
    const vm = await boot({ disks: [stick()], timeoutMs: 600_000, name: "media-alone" });
    try {
      await vm.waitFor(/LIFEBOAT-RECOVERY init /, 400_000);
      await vm.waitFor(`media=/dev/vda uuid=${done.fsUuid}`, 120_000);
      await vm.waitFor("LIFEBOAT-RECOVERY no-machine-disk", 60_000);
      await vm.waitFor("shell (exit to power off)", 30_000);
      vm.assertSecureBoot();
      say(
        `  stick alone: recovery environment, no machine disk, shell after ${(vm.elapsedMs() / 1000).toFixed(0)} s (log ${vm.logFile})`,
      );
    } finally {
      await vm.kill();
    }
  }, 1_500_000);

  it("boots the stick with copy 1 attached and resets copy 1's damaged root from the request on the stick", async () => {
    expect(kit).toBeDefined();
    const copy = copies[0] as string;
    say("step 3: damage copy 1's root, add user files; stick with an unattended request");
    let expectedHome: string;
    {
      const m = await mountFixture(scratch, copy, fx);
      const sys = path.join(m.btrfsTop, "root");
      for (const name of await readdir(path.join(sys, "etc")))
        if (name !== "fstab")
          await rm(path.join(sys, "etc", name), { recursive: true, force: true });
      for (const bin of ["usr/bin/sha256sum", "usr/bin/find", "usr/bin/ls"])
        await writeFile(path.join(sys, bin), randomBytes(4096));
      const home = path.join(m.btrfsTop, "home", fx.user);
      await writeFile(path.join(home, "after-deploy.txt"), "written on this machine\n");
      const damaged = await fixtureFingerprints(m);
      expect(damaged.root).not.toBe(factoryRoot);
      expectedHome = damaged.home;
      expect(expectedHome).not.toBe(golden.home);
      await m.release();
    }
    const request = `${JSON.stringify({ kind: "reset-keep-home", stamp: "20261126T000000Z" })}\n`;
    const { plan, done } = await writeStick({ request, default: true });
    // The plan over the old stick lists its two partitions as erased.
    expect(plan.steps[0]?.destroys.map((d) => d.kind)).toEqual(["partition", "partition"]);
    expect(done.grubConfig).toContain("lifeboat.mode=unattended");
    const vm = await boot({ disks: [stick(), copy], timeoutMs: 900_000, name: "media-reset" });
    try {
      await vm.waitFor(`media=/dev/vda uuid=${done.fsUuid}`, 400_000);
      await vm.waitFor("LIFEBOAT-RECOVERY disk=/dev/vdb", 60_000);
      await vm.waitFor("LIFEBOAT-RECOVERY mode=unattended", 60_000);
      await vm.waitFor(/LIFEBOAT-RECOVERY cli-exit=(\d+)/, 600_000);
      await vm.waitForExit(60_000);
      vm.assertSecureBoot();
    } finally {
      await vm.kill();
    }
    const exit = /LIFEBOAT-RECOVERY cli-exit=(\d+)/.exec(vm.output());
    expect(exit?.[1], `recovery from the stick failed; log ${vm.logFile}`).toBe("0");
    say(`  reset from the stick: ${(vm.elapsedMs() / 1000).toFixed(0)} s (log ${vm.logFile})`);
    const m = await mountFixture(scratch, copy, fx);
    const after = await fixtureFingerprints(m);
    await m.release();
    expect(after.root).toBe(factoryRoot);
    expect(after.home).toBe(expectedHome);
    say(
      `  on the host: root=${after.root.slice(0, 12)}… (factory) home=${after.home.slice(0, 12)}… (user's)`,
    );
  }, 1_500_000);
});
