/**
 * Issue 16 / issue 7 (encrypted disks): docs/oem-guide.md "Encrypted
 * preloads" followed literally on a disk whose Btrfs is inside LUKS2, then
 * the reset keeping /home from the machine's own Recovery entry.
 *
 * This host has no device-mapper, so the guide's in-machine part runs where
 * an OEM runs it: on a machine that can open the container. Here that is one
 * QEMU boot of an imaging environment (built with the public
 * `prepareRecoveryEnvironment` and the guide's `tools`), which fills the
 * container from the fixture's trees and runs `lifeboat provision
 * --luks-key-file … --recovery-env …` exactly as the guide says, then
 * damages root. The second boot is the machine's own path with Secure Boot
 * enforced: the disk's signed shim and GRUB, "Recovery options" → "Recovery"
 * chosen with keystrokes on the serial console, the front end asks the
 * passphrase (a wrong one first), and its expert shell runs `lifeboat
 * recovery` (a wrong key file refused, then the key typed at its prompt) and
 * prints the fingerprints of root and /home, which must equal the host's
 * fingerprints of the factory tree and of the user's home.
 * Serial logs are kept under test-output/qemu/.
 */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify, stripVTControlCharacters } from "node:util";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import {
  addPartition,
  attachPartition,
  createGptTable,
  ESP_TYPE,
  LINUX_DATA_TYPE,
  MiB,
  writeGpt,
} from "@lifeboat/gpt";
import { DEFAULT_TOOLS, prepareRecoveryEnvironment } from "@lifeboat/recovery-env";
import {
  boot,
  chooseGrubEntry,
  fedoraFixture,
  fingerprintFunction,
  fixtureFingerprints,
  Keys,
  mountFixture,
  type QemuHandle,
  repositoryRoot,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { cliBundle } from "./support/cli-bundle.js";
import { must, stepLogger } from "./support/steps.js";

const LUKS_TYPE = "ca7d7ccb-63ed-4c53-861c-1742536059cc";
const KEY = "lifeboat luks test key 2026";
const runner: CommandRunner = createExecaRunner();
const say = stepLogger("boot-chain-luks");
const execFileAsync = promisify(execFile);
/** The CLI as the guide runs it on the host: the package's `lifeboat` bin, built. */
const LIFEBOAT_BIN = path.join(repositoryRoot(), "packages/cli/dist/bin.js");
/**
 * What the payload leaves out of the factory root (about 300 of its 430 MB): writing through
 * dm-crypt and building the recovery image under TCG are slow, this root is never booted, and
 * its fingerprint covers /etc and /usr/bin (run with the root's own programs and libraries).
 */
const ROOT_LEFT_OUT = ["usr/lib/modules", "usr/share", "var/cache", "var/lib/apt"];
/** What the guide adds to the imaging environment so `provision` runs in it (docs/oem-guide.md "Encrypted preloads"). */
const IMAGING_TOOLS = ["mksquashfs", "mdir", "mcopy", "sbverify", "grub-script-check"];

/** `lifeboat <args>` on the host; its standard output (a failure shows both outputs). */
async function lifeboat(args: readonly string[]): Promise<string> {
  try {
    const r = await execFileAsync("node", [LIFEBOAT_BIN, ...args], { maxBuffer: 64 * 2 ** 20 });
    return stripVTControlCharacters(r.stdout);
  } catch (e) {
    const { code, stdout, stderr } = e as { code?: number; stdout?: string; stderr?: string };
    throw new Error(
      `lifeboat ${args.join(" ")} exited with ${code}:\n${(stdout ?? "").slice(-3000)}\n${(stderr ?? "").slice(-2000)}`,
    );
  }
}

/** The `data` of a `--json` document. */
function data<T>(stdout: string): T {
  return (JSON.parse(stdout) as { data: T }).data;
}

/** Wait for a screen of the front end, then a moment so it listens for keys. */
async function screen(vm: QemuHandle, pattern: RegExp | string, timeoutMs = 600_000) {
  const m = await vm.waitFor(pattern, timeoutMs);
  await sleep(1500);
  return m;
}

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

/** Like {@link guestShell}, but a non-zero exit status throws with the end of the output. */
function guestOk(vm: QemuHandle, run = guestShell(vm)) {
  return async (command: string, timeoutMs?: number): Promise<string> => {
    const r = await run(command, timeoutMs);
    if (r.rc !== 0)
      throw new Error(
        `guest: ${command} exited ${r.rc}\n${r.out.slice(-2500)}\n(log ${vm.logFile})`,
      );
    return r.out;
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
      // ROOT_LEFT_OUT (the kernel modules, usr/share, apt's caches) stays out of the payload.
      for (const tree of ["root", "home"])
        await sh("mksquashfs", [
          path.join(m.btrfsTop, tree),
          path.join(payload, `${tree}.sqfs`),
          ...(tree === "root" ? ROOT_LEFT_OUT.flatMap((p) => ["-e", p]) : []),
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
    // ---- 2. the machine's disk as an installer leaves it: ESP and /boot (the fixture's), LUKS2
    say("step 2: disk with ESP, /boot and a LUKS2 container (luksFormat on the host)");
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
    const part = (slot: number) => {
      const p = base.partitions.find((x) => x.slot === slot);
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

    // ---- 3. docs/oem-guide.md "Encrypted preloads", on the host: key, recovery partition, imaging environment
    say("step 3: the guide on the host: image keygen, gpt add-recovery, the imaging environment");
    const keys = scratch.path("keys");
    await lifeboat(["image", "keygen", "--out", keys]);
    const planned = data<{ plan: { digest: string } }>(
      await lifeboat(["--json", "gpt", "add-recovery", image, "--size", "256M", "--dry-run"]),
    );
    await lifeboat([
      "gpt",
      "add-recovery",
      image,
      "--size",
      "256M",
      "--yes",
      "--confirm",
      planned.plan.digest,
    ]);
    const envDir = path.join(payload, "imaging-env");
    const built = await must(
      prepareRecoveryEnvironment(runner, {
        cliBundle: bundle,
        outDir: envDir,
        trustedKeys: [await readFile(path.join(keys, "public.pem"), "utf8")],
        tools: [...DEFAULT_TOOLS, ...IMAGING_TOOLS],
      }),
    );
    await sh("cp", [path.join(keys, "private.pem"), path.join(payload, "private.pem")]);
    say(
      `  imaging environment ${built.id} (kernel ${built.record.kernelVersion}): ${(built.sizeBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    const payloadImage = scratch.path("payload.img");
    {
      const bytes = (await sh("du", ["-sb", payload])).split("\t")[0];
      const mib = Math.ceil(Number(bytes) / 2 ** 20 / 0.85) + 64;
      await sh("truncate", ["-s", `${mib}M`, payloadImage]);
      await sh("mkfs.ext4", ["-q", "-F", "-L", "PAYLOAD", "-d", payload, payloadImage]);
      say(`  payload disk ${mib} MiB; factory root=${factory.root.slice(0, 12)}…`);
    }

    // ---- 4. the guide inside the machine (it has device-mapper): fill the container, provision
    // The imaging machine is the environment just built, booted directly (it is the OEM's
    // bench, not the machine's boot path: no shim, so Secure Boot is off for this boot only).
    say("step 4: the imaging boot: fill the LUKS container, lifeboat provision --luks-key-file");
    {
      const vm = await boot({
        disks: [image, { path: payloadImage, readOnly: true }],
        kernel: path.join(envDir, "vmlinuz"),
        initrd: path.join(envDir, "initrd.img"),
        append: "console=ttyS0,115200 lifeboat.shell lifeboat.after=poweroff",
        firmware: "bios",
        secureBoot: false,
        memoryMiB: 1536,
        timeoutMs: 1_800_000,
        name: "luks-imaging",
      });
      try {
        await vm.waitFor("LIFEBOAT-RECOVERY shell", 600_000);
        const ok = guestOk(vm);
        await ok("stty -echo; export NO_COLOR=1; L='node /lifeboat/cli.js'");
        await ok("mkdir -p /media /mnt/top && mount -t ext4 -o ro /dev/vdb /media");
        await ok("cryptsetup open --type luks --key-file /media/luks.key /dev/vda3 sys");
        await ok(
          "mkfs.btrfs -q -L fedora /dev/mapper/sys && mount /dev/mapper/sys /mnt/top && btrfs -q subvolume create /mnt/top/root && btrfs -q subvolume create /mnt/top/home",
        );
        const t4 = Date.now();
        await ok(
          "unsquashfs -f -q -no-progress -d /mnt/top/root /media/root.sqfs >/dev/null",
          900_000,
        );
        await ok("unsquashfs -f -q -no-progress -d /mnt/top/home /media/home.sqfs >/dev/null");
        await ok("sync");
        say(`  unpacked in ${((Date.now() - t4) / 1000).toFixed(0)} s`);

        say("  inspect with the container already open (no key asked)");
        const inspected = await ok(
          "$L --json inspect --disk /dev/vda --no-sizes > /tmp/i.json; rc=$?; echo; echo INSPECT-BEGIN; cat /tmp/i.json; echo INSPECT-END; (exit $rc)",
        );
        expect(inspected).not.toMatch(/Passphrase for/);
        const doc = JSON.parse(
          /INSPECT-BEGIN\s*([\s\S]*?)INSPECT-END/.exec(inspected)?.[1] ?? "{}",
        );
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
        await ok("umount /mnt/top && cryptsetup close sys");

        say("  lifeboat provision, as the guide says for an encrypted disk");
        await ok("umount /run/lifeboat/recovery");
        const t6 = Date.now();
        const provisioned = await ok(
          `$L provision --disk /dev/vda --luks-key-file /media/luks.key --key /media/private.pem --product 'Fedora-shaped fixture (LUKS)' --build luks-1 --recovery-env /media/imaging-env --recovery-args 'console=ttyS0,115200'`,
          1_200_000,
        );
        expect(provisioned).toMatch(/Provisioned Fedora-shaped fixture \(LUKS\) luks-1/);
        expect(provisioned).toMatch(/GRUB custom\.cfg \S+ \(installed/);
        expect(await ok("ls /dev/mapper")).not.toMatch(/luks-/);
        say(
          `  provisioned in ${((Date.now() - t6) / 1000).toFixed(0)} s; the mapping was closed after it`,
        );

        say("  damage /etc and /usr/bin, add the user's files under /home");
        await ok(
          "cryptsetup open --type luks --key-file /media/luks.key /dev/vda3 sys && mount /dev/mapper/sys /mnt/top",
        );
        await ok(
          'cd /mnt/top/root/etc && for f in *; do [ "$f" = fstab ] || rm -rf "$f"; done; cd /',
        );
        await ok(
          "for b in usr/lib/systemd/systemd usr/bin/sha256sum usr/bin/find usr/bin/ls; do head -c 4096 /dev/urandom > /mnt/top/root/$b; done",
        );
        await ok("cp -a /media/user-files/. /mnt/top/home/user/ && sync");
        await ok("umount /mnt/top && cryptsetup close sys && sync");
        await vm.send("poweroff -f\r");
        await vm.waitForExit(120_000);
      } finally {
        await vm.kill();
        say(`  imaging log ${vm.logFile} (${(vm.elapsedMs() / 1000).toFixed(0)} s in QEMU)`);
      }
    }

    // ---- 5. the machine's own boot path, as a person takes it (Secure Boot enforced)
    say("step 5: GRUB menu: Recovery options, Recovery; the front end asks the passphrase");
    const vm = await boot({
      disks: [image, { path: payloadImage, readOnly: true }],
      memoryMiB: 1536,
      timeoutMs: 1_500_000,
      name: "luks",
    });
    try {
      await chooseGrubEntry(vm, ["Recovery options", "Recovery"], { onProgress: say });
      await vm.waitFor("LIFEBOAT-RECOVERY mode=interactive", 300_000);
      await screen(vm, /Choose your language:/);
      await vm.send(Keys.enter);
      await screen(vm, /Type the passphrase of the encrypted disk/);
      await vm.send("not the passphrase");
      await sleep(500);
      await vm.send(Keys.enter);
      await screen(vm, /That passphrase did not open the disk\. Try 2 of 3\./);
      await vm.send(KEY);
      await sleep(500);
      await vm.send(Keys.enter);
      await screen(vm, /Free space:/);
      expect(vm.output()).not.toContain(KEY);
      await vm.send(Keys.enter);
      const shellChoice = await screen(vm, /(\d)\. Open an expert shell/);
      await vm.send(shellChoice[1] ?? "");
      await vm.waitFor("Expert shell: type 'exit'", 120_000);
      await sleep(2000);
      vm.assertSecureBoot();
      const run = guestShell(vm);
      const ok = guestOk(vm, run);
      await ok("stty -echo; export NO_COLOR=1; L='node /lifeboat/cli.js'");
      await ok("mkdir -p /payload /mnt/top && mount -t ext4 -o ro /dev/vdb /payload");
      expect(await ok("ls /dev/mapper")).not.toMatch(/luks-/);
      say(`  expert shell after ${(vm.elapsedMs() / 1000).toFixed(0)} s`);

      say("step 6: lifeboat recovery with a wrong key file: refused, nothing changed");
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

      say("step 7: lifeboat recovery, the key typed at its prompt on the console");
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

      say("step 8: fingerprints of the reset root and of /home, computed in the guest");
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
  }, 2_700_000);
});
