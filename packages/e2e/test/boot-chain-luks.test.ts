/**
 * Issue 10 step 8 / issue 7 (encrypted disks): the reset keeping /home on a
 * Btrfs inside LUKS2, run by `lifeboat recovery` in the recovery environment
 * (our kernel + initramfs, whose kernel has device-mapper; this host's has
 * none). One QEMU boot with Secure Boot enforced (the disk's signed shim and
 * GRUB, a one-shot entry to the environment's signed kernel), driven through
 * the serial console: the guest makes
 * the Btrfs inside LUKS from the fixture's trees, provisions it, breaks it,
 * is refused with a wrong key (nothing changed), resets with the key typed
 * at the prompt, and prints the fingerprints of root and /home, which must
 * equal the host's fingerprints of the factory tree and of the user's home.
 * The serial log is kept under test-output/qemu/.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import {
  addPartition,
  attachPartition,
  createGptTable,
  ESP_TYPE,
  LIFEBOAT_RECOVERY_TYPE,
  LINUX_DATA_TYPE,
  MiB,
  writeGpt,
} from "@lifeboat/gpt";
import {
  boot,
  fedoraFixture,
  fingerprintFunction,
  fixtureFingerprints,
  mountFixture,
  type QemuHandle,
  renderGrubenv,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { cliBundle } from "./support/cli-bundle.js";
import {
  carveRecoveryPartition,
  installEnvironmentWithSdk,
  withPartitionMounted,
} from "./support/recovery.js";
import { must, stepLogger } from "./support/steps.js";

const LUKS_TYPE = "ca7d7ccb-63ed-4c53-861c-1742536059cc";
const KEY = "lifeboat luks test key 2026";
const runner: CommandRunner = createExecaRunner();
const say = stepLogger("boot-chain-luks");

/** Copy `bytes` bytes at `from` in one image to `to` in another (sparse). */
function copyBytes(src: string, from: number, dest: string, to: number, bytes: number) {
  return sh("dd", [
    `if=${src}`,
    `of=${dest}`,
    "bs=4M",
    `skip=${from}`,
    `seek=${to}`,
    `count=${bytes}`,
    "iflag=skip_bytes,count_bytes",
    "oflag=seek_bytes",
    "conv=notrunc,sparse",
    "status=none",
  ]);
}

/** A shell on the guest's serial console: each command ends with a numbered exit-status line. */
function guestShell(vm: QemuHandle) {
  let n = 0;
  return async (command: string, timeoutMs = 300_000): Promise<{ rc: number; out: string }> => {
    n += 1;
    const tag = `@@${n}@@`;
    const begin = vm.output().length;
    await vm.send(`${command}; echo "${tag} rc=$?"\r`);
    const m = await vm.waitFor(new RegExp(`${tag} rc=(\\d+)`), timeoutMs);
    return { rc: Number(m[1]), out: vm.output().slice(begin) };
  };
}

describe("boot chain, encrypted: reset on a Btrfs inside LUKS2, in the recovery environment", () => {
  const scratches: Scratch[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.cleanup();
  });

  it("opens LUKS only with the right key and resets keeping /home on the opened mapping", async () => {
    requireRoot();
    requireTools(
      "qemu-system-x86_64",
      "cryptsetup",
      "mksquashfs",
      "mkfs.ext4",
      "blkid",
      "cc",
      "zstd",
      "cpio",
      "busybox",
    );
    const scratch = await Scratch.create("lifeboat-e2e-luks-");
    scratches.push(scratch);

    // ---- 1. the factory trees from the fixture, and what the guest must end with
    say("step 1: fixture trees (root, home) as squashfs payload; expected fingerprints");
    const fx = await fedoraFixture(scratch, { onProgress: say });
    const payload = scratch.path("payload");
    const expectedTop = scratch.path("expected");
    await mkdir(path.join(payload, "user-files/Pictures"), { recursive: true });
    await mkdir(expectedTop, { recursive: true });
    let factory: { root: string; home: string };
    let expectedHome: string;
    {
      const m = await mountFixture(scratch, fx.image, fx);
      factory = await fixtureFingerprints(m);
      // The kernel modules (395 of the root's ~750 MB) are left out: writing through dm-crypt
      // under TCG is slow, this root is never booted, and the fingerprint covers /etc and /usr/bin.
      for (const tree of ["root", "home"])
        await sh("mksquashfs", [
          path.join(m.btrfsTop, tree),
          path.join(payload, `${tree}.sqfs`),
          ...(tree === "root" ? ["-e", "usr/lib/modules"] : []),
          "-noappend",
          "-noI",
          "-noD",
          "-noF",
          "-noX",
          "-quiet",
          "-no-progress",
        ]);
      // The user's files after the factory: written in the guest from the payload, here beside a copy of home.
      const docs = path.join(m.btrfsTop, "home", fx.user, "Documents");
      await mkdir(path.join(payload, "user-files/Documents"));
      await chmod(path.join(payload, "user-files/Documents"), (await stat(docs)).mode & 0o7777);
      await chmod(path.join(payload, "user-files/Pictures"), 0o755);
      await writeFile(
        path.join(payload, "user-files/Documents/after-factory.txt"),
        "written after OOBE, inside LUKS\n",
      );
      await writeFile(
        path.join(payload, "user-files/Pictures/photo.raw"),
        randomBytes(3 * 1024 * 1024),
      );
      await sh("chown", ["-R", "1000:1000", path.join(payload, "user-files")]);
      await sh("cp", ["-a", path.join(m.btrfsTop, "home"), expectedTop]);
      await sh("cp", [
        "-a",
        `${path.join(payload, "user-files")}/.`,
        path.join(expectedTop, "home", fx.user),
      ]);
      expectedHome = (
        await fixtureFingerprints(
          { btrfsTop: expectedTop },
          { root: path.relative(expectedTop, path.join(m.btrfsTop, "root")) },
        )
      ).home;
      await m.release();
    }
    expect(expectedHome).not.toBe(factory.home);
    await writeFile(path.join(payload, "luks.key"), KEY);
    await writeFile(path.join(payload, "wrong.key"), "not the key");
    await writeFile(
      path.join(payload, "fingerprint.sh"),
      `export LC_ALL=C\n${fingerprintFunction()}\necho "LUKS-FP root=$(cd / && fingerprint etc usr/bin) home=$(cd /home && fingerprint .)"\n`,
    );
    const payloadImage = scratch.path("payload.img");
    {
      const bytes = (await sh("du", ["-sb", payload])).split("\t")[0];
      const mib = Math.ceil(Number(bytes) / 2 ** 20 / 0.85) + 64;
      await sh("truncate", ["-s", `${mib}M`, payloadImage]);
      await sh("mkfs.ext4", ["-q", "-F", "-L", "PAYLOAD", "-d", payload, payloadImage]);
      say(`  payload disk ${mib} MiB; factory root=${factory.root.slice(0, 12)}…`);
    }

    // ---- 2. the disk: GPT with ESP and /boot (the fixture's), LUKS2, recovery partition
    say("step 2: disk with ESP, /boot, LUKS2 (luksFormat on the host), recovery partition");
    const bundle = await cliBundle(say);
    const image = scratch.path("luks-disk.img");
    const luksBytes = 2816n * MiB;
    const diskBytes =
      BigInt(fx.esp.sizeBytes + fx.boot.sizeBytes) + luksBytes + 256n * MiB + 4n * MiB;
    await sh("truncate", ["-s", String(diskBytes), image]);
    const base = await must(
      createGptTable({ diskBytes })
        .andThen((t) =>
          addPartition(t, { size: BigInt(fx.esp.sizeBytes), typeGuid: ESP_TYPE, name: "EFI" }),
        )
        .andThen((t) =>
          addPartition(t, { size: BigInt(fx.boot.sizeBytes), typeGuid: LINUX_DATA_TYPE }),
        )
        .andThen((t) => addPartition(t, { size: luksBytes, typeGuid: LUKS_TYPE, name: "luks" })),
    );
    await must(writeGpt(runner, image, base));
    const layout = await carveRecoveryPartition(runner, image, 256n * MiB);
    const part = (slot: number) => {
      const p = layout.table.partitions.find((x) => x.slot === slot);
      if (p === undefined) throw new Error(`no partition ${slot}`);
      return p;
    };
    const offset = (slot: number) => Number(part(slot).firstLba * 512n);
    await copyBytes(fx.image, fx.esp.offsetBytes, image, offset(1), fx.esp.sizeBytes);
    await copyBytes(fx.image, fx.boot.offsetBytes, image, offset(2), fx.boot.sizeBytes);
    let headerSha: string;
    {
      const loop = await must(attachPartition(runner, image, part(3)));
      try {
        await sh(
          "cryptsetup",
          ["luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2"].concat([
            "--pbkdf-force-iterations",
            "1000",
            "--key-file",
            "-",
            loop.device,
          ]),
          { stdin: KEY },
        );
        headerSha = (
          await sh("sh", ["-c", `dd if=${loop.device} bs=1M count=16 status=none | sha256sum`])
        ).slice(0, 64);
      } finally {
        await loop.detach();
      }
    }
    // The host cannot open LUKS (no device-mapper), so `provision` cannot read this system's
    // root from here: the recovery environment goes on through provision's own SDK path.
    const env = await installEnvironmentWithSdk(
      runner,
      bundle,
      image,
      layout.recovery,
      scratch.path("recovery"),
      scratch.path("env"),
    );
    say(
      `  recovery environment ${env.digest.slice(0, 19)}…: initrd ${(env.initrdBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(layout.recovery.typeGuid.toLowerCase()).toBe(LIFEBOAT_RECOVERY_TYPE);

    // ---- 3. one boot of the recovery environment, driven through its shell
    // Under Secure Boot (issue #21) the environment is booted the way a person reaches it:
    // firmware → signed shim → signed GRUB on the disk's ESP → the environment's signed kernel,
    // here from a one-shot entry on /boot (custom.cfg, next_entry in grubenv) with the test's
    // kernel arguments; GRUB forgets next_entry, so only this boot takes it.
    say("step 3: boot the recovery environment (one-shot GRUB entry, Secure Boot enforced)");
    await withPartitionMounted(runner, image, part(2), scratch.path("boot-mnt"), async () => {
      const dir = scratch.path("boot-mnt");
      await mkdir(path.join(dir, "lifeboat-test"), { recursive: true });
      await sh("cp", [env.kernel, path.join(dir, "lifeboat-test/vmlinuz")]);
      await sh("cp", [env.initrd, path.join(dir, "lifeboat-test/initrd.img")]);
      await writeFile(
        path.join(dir, "grub2/custom.cfg"),
        [
          "menuentry 'Lifeboat LUKS test: recovery environment shell' --id lifeboat-luks-test {",
          "  linux /lifeboat-test/vmlinuz console=ttyS0,115200 lifeboat.shell lifeboat.after=poweroff",
          "  initrd /lifeboat-test/initrd.img",
          "}",
          "",
        ].join("\n"),
      );
      await writeFile(
        path.join(dir, "grub2/grubenv"),
        renderGrubenv({ next_entry: "lifeboat-luks-test" }),
      );
    });
    const vm = await boot({
      disks: [image, { path: payloadImage, readOnly: true }],
      memoryMiB: 1536,
      timeoutMs: 1_500_000,
      name: "luks",
    });
    try {
      await vm.waitFor("LIFEBOAT-RECOVERY shell", 600_000);
      vm.assertSecureBoot();
      const run = guestShell(vm);
      const ok = async (command: string, timeoutMs?: number) => {
        const r = await run(command, timeoutMs);
        if (r.rc !== 0)
          throw new Error(
            `guest: ${command} exited ${r.rc}\n${r.out.slice(-2500)}\n(log ${vm.logFile})`,
          );
        return r.out;
      };
      await ok("stty -echo; export NO_COLOR=1; L='node /lifeboat/cli.js'");
      await ok("mkdir -p /payload /mnt/top && mount -t ext4 -o ro /dev/vdb /payload");
      say(
        `  shell after ${(vm.elapsedMs() / 1000).toFixed(0)} s; modules: ${/modules loaded=(\d+)/.exec(vm.output())?.[1]}`,
      );

      say("step 4: open LUKS (key file), Btrfs with root and home, unpack the factory trees");
      await ok("cryptsetup open --type luks --key-file /payload/luks.key /dev/vda3 sys");
      await ok(
        "mkfs.btrfs -q -L fedora /dev/mapper/sys && mount /dev/mapper/sys /mnt/top && btrfs -q subvolume create /mnt/top/root && btrfs -q subvolume create /mnt/top/home",
      );
      const t4 = Date.now();
      await ok(
        "unsquashfs -f -q -no-progress -d /mnt/top/root /payload/root.sqfs >/dev/null",
        900_000,
      );
      await ok("unsquashfs -f -q -no-progress -d /mnt/top/home /payload/home.sqfs >/dev/null");
      await ok("sync");
      say(`  unpacked in ${((Date.now() - t4) / 1000).toFixed(0)} s`);

      say(
        "step 5: inspect with the container already open (no key asked): the mapping is the Btrfs's device",
      );
      const inspected = await ok(
        "$L --json inspect --disk /dev/vda --no-sizes > /tmp/i.json; rc=$?; echo; echo INSPECT-BEGIN; cat /tmp/i.json; echo INSPECT-END; (exit $rc)",
      );
      expect(inspected).not.toMatch(/Passphrase for/);
      const doc = JSON.parse(/INSPECT-BEGIN\s*([\s\S]*?)INSPECT-END/.exec(inspected)?.[1] ?? "{}");
      const partitions = doc.data.state.disks[0].partitions as {
        number: number;
        role: string;
        luks?: { version: number; openAs?: string };
      }[];
      expect(partitions.find((p) => p.number === 3)).toMatchObject({
        role: "luks",
        luks: { version: 2, openAs: "/dev/mapper/sys" },
      });
      expect(doc.data.state.btrfs.encryptedOn).toBe("/dev/vda3");
      say(
        `  btrfs on ${doc.data.state.btrfs.device}, in LUKS2 container ${doc.data.state.btrfs.encryptedOn}`,
      );
      await ok("umount /mnt/top && cryptsetup close sys");

      say("step 6: lifeboat provision --luks-key-file (factory snapshot inside LUKS)");
      await ok("umount /run/lifeboat/recovery");
      const t6 = Date.now();
      const provisioned = await ok(
        "$L provision --disk /dev/vda --luks-key-file /payload/luks.key --no-grub --product 'Fedora-shaped fixture (LUKS)' --build luks-1",
        600_000,
      );
      expect(provisioned).toMatch(/Provisioned Fedora-shaped fixture \(LUKS\) luks-1/);
      await ok("mount -o ro $LIFEBOAT_RECOVERY_DEVICE /run/lifeboat/recovery");
      expect(await ok("ls /dev/mapper")).not.toMatch(/luks-/);
      say(
        `  provisioned in ${((Date.now() - t6) / 1000).toFixed(0)} s; the mapping was closed after it`,
      );

      say("step 7: damage /etc and /usr/bin, add the user's files under /home");
      await ok(
        "cryptsetup open --type luks --key-file /payload/luks.key /dev/vda3 sys && mount /dev/mapper/sys /mnt/top",
      );
      await ok(
        'cd /mnt/top/root/etc && for f in *; do [ "$f" = fstab ] || rm -rf "$f"; done; cd /',
      );
      await ok(
        "for b in usr/lib/systemd/systemd usr/bin/sha256sum usr/bin/find usr/bin/ls; do head -c 4096 /dev/urandom > /mnt/top/root/$b; done",
      );
      await ok("cp -a /payload/user-files/. /mnt/top/home/user/ && sync");
      await ok("umount /mnt/top && cryptsetup close sys");

      say("step 8: lifeboat recovery with a wrong key file: refused, nothing changed");
      await ok(
        `printf '%s\\n' '{"kind":"reset-keep-home","stamp":"20261125T230000Z"}' > /tmp/reset.json && D=sha256:$(sha256sum /tmp/reset.json | cut -d' ' -f1) && echo $D`,
      );
      const wrong = await run(
        "$L --json recovery --request /tmp/reset.json --digest $D --disk /dev/vda --luks-key-file /payload/wrong.key",
        300_000,
      );
      expect(wrong.rc, wrong.out).toBe(1);
      expect(wrong.out).toMatch(/"code": "RESET_LUKS_WRONG_KEY"/);
      expect(wrong.out).toMatch(/"device": "\/dev\/vda3"/);
      const after = await ok(
        "dd if=/dev/vda3 bs=1M count=16 2>/dev/null | sha256sum; ls /dev/mapper",
      );
      expect(after).toContain(headerSha);
      expect(after).not.toMatch(/luks-/);

      say("step 9: lifeboat recovery, the key typed at its prompt on the console");
      const t9 = Date.now();
      await vm.send(
        `$L recovery --request /tmp/reset.json --digest $D --disk /dev/vda; echo "@@reset@@ rc=$?"\r`,
      );
      await vm.waitFor("Passphrase for the encrypted volume /dev/vda3", 300_000);
      await vm.send(`${KEY}\r`);
      const reset = await vm.waitFor(/@@reset@@ rc=(\d+)/, 600_000);
      expect(reset[1], `recovery failed; log ${vm.logFile}`).toBe("0");
      expect(vm.output()).toMatch(/LIFEBOAT-RECOVERY reset done in/);
      expect(vm.output()).not.toContain(KEY);
      say(
        `  reset done in ${((Date.now() - t9) / 1000).toFixed(0)} s (prompt, open, plan, execute, close)`,
      );

      say("step 10: fingerprints of the reset root and of /home, computed in the guest");
      await ok(
        "cryptsetup open --type luks --key-file /payload/luks.key /dev/vda3 sys && mount /dev/mapper/sys /mnt/top && mount --bind /mnt/top/home /mnt/top/root/home",
      );
      const subvols = await ok("btrfs subvolume list /mnt/top");
      expect(subvols).toMatch(/path root\.old-20261125T230000Z/);
      const fp = await ok(
        'chroot /mnt/top/root /bin/sh -c "$(cat /payload/fingerprint.sh)"',
        300_000,
      );
      const m = /LUKS-FP root=([0-9a-f]{64}) home=([0-9a-f]{64})/.exec(fp);
      expect(m, fp).not.toBeNull();
      expect(m?.[1]).toBe(factory.root);
      expect(m?.[2]).toBe(expectedHome);
      say(`  root=${m?.[1]?.slice(0, 12)}… (factory) home=${m?.[2]?.slice(0, 12)}… (user's)`);
      await ok("umount /mnt/top/root/home && umount /mnt/top && cryptsetup close sys && sync");
      await vm.send("poweroff -f\r");
      await vm.waitForExit(120_000);
    } finally {
      await vm.kill();
      say(`  serial log ${vm.logFile} (${(vm.elapsedMs() / 1000).toFixed(0)} s in QEMU)`);
    }
  }, 1_800_000);
});
