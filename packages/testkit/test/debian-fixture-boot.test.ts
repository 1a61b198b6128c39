/**
 * The Debian-flavoured fixture (hand-written /boot/grub/grub.cfg that only
 * sources custom.cfg; no BLS, no grub.d) and the GRUB menu helper: a second
 * entry added through custom.cfg is chosen by arrow keys over the serial
 * console and runs; in the same boot nothing else is needed. A second boot
 * takes the default entry to the marker with the host's fingerprints.
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  boot,
  chooseGrubEntry,
  type DebianFixture,
  debianFixture,
  fixtureFingerprints,
  mountFixture,
  type QemuHandle,
  requireRoot,
  requireTools,
  Scratch,
} from "../src/index.js";

const log = (line: string) => console.log(line);

describe("Debian-flavoured fixture (hand-written grub.cfg) and chooseGrubEntry", () => {
  let scratch: Scratch;
  let fx: DebianFixture;

  beforeAll(async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "debootstrap", "mformat", "grub-mkimage");
    scratch = await Scratch.create("lifeboat-debian-fixture-test-");
    fx = await debianFixture(scratch, { onProgress: log });
    log(`debian fixture ${fx.key}: ${fx.cached ? "cached copy" : `built in ${fx.buildSeconds} s`}`);
  }, 900_000);

  afterAll(async () => {
    await scratch?.cleanup();
  });

  it("has Debian's naming and a hand-written grub.cfg, and no BLS entries or grub.d", async () => {
    const m = await mountFixture(scratch, fx.image, fx);
    try {
      const names = await readdir(m.boot);
      expect(names).toContain(`vmlinuz-${fx.kernelVersion}`);
      expect(names).toContain(`initrd.img-${fx.kernelVersion}`);
      expect(names).not.toContain("loader");
      expect(names).not.toContain("grub2");
      const cfg = await readFile(path.join(m.boot, "grub/grub.cfg"), "utf8");
      expect(cfg).toContain(`source \${config_directory}/custom.cfg`);
      expect(cfg).toContain(`linux /vmlinuz-${fx.kernelVersion} `);
      await expect(stat(path.join(m.btrfsTop, "root/etc/grub.d"))).rejects.toThrow();
      await expect(stat(path.join(m.boot, "grub/custom.cfg"))).rejects.toThrow();
    } finally {
      await m.release();
    }
  });

  it("chooses a custom.cfg entry by arrow keys, then boots the default entry to the marker", async () => {
    const m = await mountFixture(scratch, fx.image, fx);
    await writeFile(
      path.join(m.boot, "grub/custom.cfg"),
      [
        "menuentry 'Chosen by keys (test)' --id chosen {",
        "  echo LIFEBOAT-CHOSEN-BY-KEYS",
        "  sleep 600",
        "}",
        "",
      ].join("\n"),
    );
    const expected = await fixtureFingerprints(m);
    await m.release();
    let vm: QemuHandle | undefined;
    try {
      vm = await boot({ disks: [fx.image], timeoutMs: 300_000, name: "debian-menu-keys" });
      const choice = await chooseGrubEntry(vm, ["Chosen by keys (test)"], { onProgress: log });
      expect(choice.seen[0]?.[0]).toMatch(/^Debian GNU\/Linux 12 .*\[hand-written grub\.cfg\]/);
      await vm.waitFor("LIFEBOAT-CHOSEN-BY-KEYS", 60_000);
    } finally {
      await vm?.kill();
    }
    try {
      vm = await boot({ disks: [fx.image], timeoutMs: 660_000, name: "debian-fixture-boot" });
      const marker = await vm.waitFor(
        /LIFEBOAT-MARKER root=([0-9a-f]{64}) home=([0-9a-f]{64})/,
        600_000,
      );
      const exit = await vm.waitForExit(120_000);
      log(`debian fixture: marker, powered off at ${(vm.elapsedMs() / 1000).toFixed(0)} s`);
      expect(marker[1]).toBe(expected.root);
      expect(marker[2]).toBe(expected.home);
      expect(exit.code).toBe(0);
    } finally {
      await vm?.kill();
    }
  }, 900_000);
});
