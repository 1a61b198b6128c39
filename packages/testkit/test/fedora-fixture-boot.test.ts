import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  boot,
  type FedoraFixture,
  fedoraFixture,
  fixtureFingerprints,
  Keys,
  mountFixture,
  partitionsOf,
  type QemuHandle,
  readFatFile,
  requireRoot,
  requireTools,
  Scratch,
} from "../src/index.js";

const log = (line: string) => console.log(line);

describe("Fedora-shaped fixture (Debian bookworm inside)", () => {
  let scratch: Scratch;
  let fx: FedoraFixture;

  beforeAll(async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "debootstrap", "mformat");
    scratch = await Scratch.create("lifeboat-fixture-test-");
    const t0 = Date.now();
    fx = await fedoraFixture(scratch, { onProgress: log });
    log(
      `fixture ${fx.key}: ${fx.cached ? "cached copy" : `built in ${fx.buildSeconds} s`}, ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, 900_000);

  afterAll(async () => {
    await scratch?.cleanup();
  });

  it("has Fedora's partition layout with free space at the end", async () => {
    const parts = await partitionsOf(fx.image);
    expect(parts.map((p) => [p.number, p.type, p.name])).toEqual([
      [1, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "EFI System Partition"],
      [2, "0fc63daf-8483-4772-8e79-3d69d8477de4", "boot"],
      [3, "0fc63daf-8483-4772-8e79-3d69d8477de4", "fedora"],
    ]);
    expect(Number(parts[2]!.offsetBytes)).toBe(fx.root.offsetBytes);
    expect(fx.freeSpace.offsetBytes).toBe(fx.root.offsetBytes + fx.root.sizeBytes);
    expect(fx.freeSpace.sizeBytes).toBeGreaterThan(1024 ** 3);
    expect((await stat(fx.image)).size).toBe(fx.sizeBytes);
    const grubEfi = await readFatFile(fx.image, "EFI/BOOT/BOOTX64.EFI", fx.esp.offsetBytes);
    expect(grubEfi.subarray(0, 2).toString("latin1")).toBe("MZ");
    const stub = (
      await readFatFile(fx.image, "EFI/fedora/grub.cfg", fx.esp.offsetBytes)
    ).toString();
    expect(stub).toContain(`--fs-uuid --set=root ${fx.boot.uuid}`);
  });

  it("boots through OVMF, GRUB and systemd to the marker unit, then powers off", async () => {
    // From the host: add a user file and compute the fingerprints the guest must print.
    const m0 = await mountFixture(scratch, fx.image, fx);
    await writeFile(
      path.join(m0.btrfsTop, "home", fx.user, "added-by-test.txt"),
      "hello from the host\n",
    );
    const expected = await fixtureFingerprints(m0);
    await m0.release();
    let vm: QemuHandle | undefined;
    try {
      vm = await boot({ disks: [fx.image], timeoutMs: 660_000, name: "fixture-boot" });
      await vm.waitFor("LIFEBOAT-GRUB default=", 120_000);
      const grubAt = vm.elapsedMs();
      // Type at GRUB over the serial console: stop the countdown, open its
      // command line, run a command whose output differs from its echo.
      await vm.waitFor("[Fedora-shaped fixture]", 30_000);
      await vm.send("c");
      await vm.waitFor("grub>", 30_000);
      await vm.send("set t=typed; echo LIFEBOAT-$t-AT-GRUB\r");
      await vm.waitFor("LIFEBOAT-typed-AT-GRUB", 30_000);
      await vm.send(Keys.escape);
      await vm.waitFor("[Fedora-shaped fixture]", 30_000);
      await vm.send(Keys.enter);
      const m = await vm.waitFor(
        /LIFEBOAT-MARKER root=([0-9a-f]{64}) home=([0-9a-f]{64})/,
        600_000,
      );
      const markerAt = vm.elapsedMs();
      vm.assertSecureBoot();
      const info = await vm.waitFor(/LIFEBOAT-MARKER-INFO subvol=(\S+) ms=(\d+)/, 30_000);
      const exit = await vm.waitForExit(120_000);
      log(
        `fixture boot: GRUB at ${(grubAt / 1000).toFixed(1)} s, marker at ${(markerAt / 1000).toFixed(1)} s ` +
          `(fingerprint took ${info[2]} ms), powered off at ${(vm.elapsedMs() / 1000).toFixed(1)} s; log ${vm.logFile}`,
      );
      expect(info[1]).toBe("/root");
      expect(m[2]).toBe(expected.home);
      expect(m[1]).toBe(expected.root);
      expect(exit.code).toBe(0);
      const text = await readFile(vm.logFile, "utf8");
      expect(text).toContain("LIFEBOAT-MARKER root=");
    } finally {
      await vm?.kill();
    }
  }, 720_000);
});
