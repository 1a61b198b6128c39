/**
 * Issues #16 and #17, "Done when": the OEM path of docs/oem-guide.md,
 * followed literally with the built CLI (`node packages/cli/dist/bin.js`, the
 * `lifeboat` of the guide) and nothing else set up by hand (no recovery
 * partition, environment or GRUB text of the test's own), on two fixtures:
 *
 * - Fedora-shaped with grub2-mkconfig: BLS entries in /boot/loader/entries,
 *   `grub2/`, the distribution's GRUB tools in the system (`/etc/grub.d`,
 *   `/usr/sbin/grub2-mkconfig`) and a grub.cfg that grub2-mkconfig made, so
 *   the menu comes from provision's grub.d script and its grub2-mkconfig run;
 * - Debian-flavoured: `vmlinuz-*`/`initrd.img-*`, a hand-written
 *   `/boot/grub/grub.cfg` that only sources `custom.cfg`, no BLS, no grub.d.
 *
 * Then in QEMU, by keystrokes on the serial console as a person would:
 * (1) the normal entry boots to the system's marker; (2) "Recovery" in the
 * GRUB menu opens the guided front end (first screen asserted), walked to
 * "reset the system, keep my files" and confirmed: root is the factory root
 * again and /home byte-identical (on the Debian fixture in German, through
 * the guide's `--recovery-args "… lifeboat.lang=de_DE"`); (3) after root is
 * damaged from the host, "Reset to factory settings" opens on the
 * confirmation and resets, and the next boot reaches the system with /home
 * byte-identical. (4) A scheduled unattended reset, as the guide's "An
 * unattended reset at the next boot" says: root damaged a little, `lifeboat
 * reset schedule --in-recovery --disk disk.img` from the host; the next boot
 * runs it in the recovery environment by itself (no key pressed), and the
 * boot after reaches the factory root with /home byte-identical.
 *
 * Boots per fixture: 6 (normal, Recovery walk, factory-reset entry, normal,
 * scheduled reset, normal);
 * the state after the Recovery walk is checked from the host. Serial logs:
 * test-output/qemu/oem-<fixture>-<n>-<what>-<time>.log.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify, stripVTControlCharacters } from "node:util";
import {
  boot,
  chooseGrubEntry,
  debianFixture,
  type FedoraFixtureInfo,
  fedoraMkconfigFixture,
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
import { stepLogger } from "./support/steps.js";
import { addUserFiles } from "./support/user-files.js";

const execFileAsync = promisify(execFile);
const MARKER = /LIFEBOAT-MARKER root=([0-9a-f]{64}) home=([0-9a-f]{64})/;
/** The CLI as the guide runs it: the package's `lifeboat` bin, built. */
const LIFEBOAT_BIN = path.join(repositoryRoot(), "packages/cli/dist/bin.js");
/** GRUB titles of what `provision` adds (docs/oem-guide.md "Boot entries"). */
const MENU = "Recovery options";
const RECOVERY = "Recovery";
const FACTORY_RESET = "Reset to factory settings";

/** The guided front end's words, per language (from its message catalogs; ASCII fragments only, the serial log is read as latin1). */
const UI = {
  en: {
    diagnosis: /Free space:/,
    // The screen titles are not matched: on a serial console (0x0 window) the
    // header shows "..." (recorded in docs/boot-chain-test.md); the body is whole.
    choices: /1\. Reset the system, keep my files/,
    confirm: /Type (\w+) and press Enter to start/,
    done: /Everything went well\. Restart the computer to use it\./,
    failed: /Details: \[/,
  },
  de: {
    diagnosis: /Freier Speicher:/,
    choices: /1\. System zur\S+cksetzen, meine Dateien behalten/,
    confirm: /Geben Sie (\w+) ein und dr/,
    done: /Alles hat geklappt\./,
    failed: /Einzelheiten: \[/,
  },
} as const;
type Lang = keyof typeof UI;

interface FixtureCase {
  readonly name: "fedora" | "debian";
  readonly make: (
    scratch: Scratch,
    say: (l: string) => void,
  ) => Promise<
    Pick<FedoraFixtureInfo, "boot" | "root" | "key" | "user"> & { image: string; cached: boolean }
  >;
  /** The front end's language in the Recovery walk; `undefined`: chosen on its first screen (English). */
  readonly lang: Lang | undefined;
  /** The system has /etc/grub.d and grub-mkconfig (else a hand-written grub.cfg reading custom.cfg). */
  readonly grubMkconfig: boolean;
}

const CASES: readonly FixtureCase[] = [
  {
    name: "fedora",
    make: (s, say) => fedoraMkconfigFixture(s, { name: "oem-fedora.img", onProgress: say }),
    lang: undefined,
    grubMkconfig: true,
  },
  {
    name: "debian",
    make: (s, say) => debianFixture(s, { name: "oem-debian.img", onProgress: say }),
    lang: "de",
    grubMkconfig: false,
  },
];

/** `lifeboat <args>` on the host; its standard output. A failure shows both outputs (`--json` puts the error on stdout). */
async function lifeboat(args: readonly string[]): Promise<string> {
  try {
    const r = await execFileAsync("node", [LIFEBOAT_BIN, ...args], { maxBuffer: 64 * 2 ** 20 });
    // Text as a person reads it: with CI set, picocolors colours even a pipe.
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

/** Type the confirmation word the screen asks for, then Enter; returns the word. */
async function confirmWord(vm: QemuHandle, lang: Lang): Promise<string> {
  const asked = await screen(vm, UI[lang].confirm);
  const word = asked[1] ?? "";
  await vm.send(word);
  await sleep(800);
  await vm.send(Keys.enter);
  return word;
}

/** After a confirmed reset: the done screen (or the error's), "Restart now", QEMU exits (-no-reboot). */
async function finishAndRestart(vm: QemuHandle, lang: Lang): Promise<void> {
  const outcome = await vm.waitFor(
    new RegExp(`${UI[lang].done.source}|${UI[lang].failed.source}`),
    900_000,
  );
  if (!UI[lang].done.test(outcome[0])) {
    // Let the error screen finish drawing, so the log and the message hold the whole of it.
    await sleep(8000);
    throw new Error(
      `the reset failed in the recovery environment; serial log ${vm.logFile}\n${vm.output().slice(outcome.index)}`,
    );
  }
  await sleep(1500);
  await vm.send(Keys.enter); // the only choice: restart now (reboot -f: QEMU exits)
  await vm.waitForExit(180_000);
}

describe.each(CASES)("the OEM path of docs/oem-guide.md on the $name fixture", (fc) => {
  const say = stepLogger(`oem-${fc.name}`);
  const scratches: Scratch[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.cleanup();
  });

  /** Boot normally (the default entry); the marker's fingerprints. */
  async function bootToMarker(image: string, name: string) {
    const vm = await boot({ disks: [image], timeoutMs: 720_000, name: `oem-${fc.name}-${name}` });
    try {
      const grub = await vm.waitFor(/LIFEBOAT-GRUB default=(\S*)/, 300_000);
      const m = await vm.waitFor(MARKER, 600_000);
      await vm.waitForExit(120_000);
      say(`  ${name}: marker after ${(vm.elapsedMs() / 1000).toFixed(0)} s (log ${vm.logFile})`);
      return { root: m[1] as string, home: m[2] as string, grubDefault: grub[1], vm };
    } finally {
      await vm.kill();
    }
  }

  it("provisions as the guide says; normal entry, Recovery walk, Reset to factory settings", async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "mkfs.ext4", "losetup", "zstd", "cpio", "busybox", "cc");
    const scratch = await Scratch.create(`lifeboat-oem-${fc.name}-`);
    scratches.push(scratch);
    const fx = await fc.make(scratch, say);
    say(`fixture ${fc.name} ${fx.key} ${fx.cached ? "(cached)" : "(built)"}`);
    // The CLI's standalone bundle (what provision builds into the recovery environment) is current.
    await cliBundle(say);
    const guide = await readFile(path.join(repositoryRoot(), "docs/oem-guide.md"), "utf8");

    // ---- the guide, command by command, in order. Each command is first
    // found in the guide as it is written there (disk.img, keys/ are this
    // test's image and key folder), so the test and the page cannot drift apart.
    const inGuide = (text: string) =>
      expect(guide, `docs/oem-guide.md lost: ${text}`).toContain(text);
    say("guide 1, 2, 4, 6: key, recovery partition with its filesystem, provision, check");
    const keys = scratch.path("keys");
    inGuide("lifeboat image keygen --out keys");
    await lifeboat(["image", "keygen", "--out", keys]);
    // 2. The partition and its filesystem. The size is the OEM's choice: the
    // guide's example is 900M, here what the fixture's free space holds.
    inGuide(
      "lifeboat --json gpt add-recovery disk.img --size 900M --dry-run | jq -r .data.plan.digest",
    );
    inGuide('lifeboat gpt add-recovery disk.img --size 900M --yes --confirm "$digest"');
    const size = "1400M";
    const dry = data<{ plan: { digest: string; steps: unknown[] } }>(
      await lifeboat(["--json", "gpt", "add-recovery", fx.image, "--size", size, "--dry-run"]),
    );
    const added = await lifeboat([
      "gpt",
      "add-recovery",
      fx.image,
      "--size",
      size,
      "--yes",
      "--confirm",
      dry.plan.digest,
    ]);
    expect(added).toContain("Make an ext4 filesystem labelled LIFEBOAT");
    // 3. "Only with --no-format": not taken. 5. "Only with grub-mkconfig": see below.
    inGuide("## 5. Only with grub-mkconfig: nothing to run, unless step 4 says it failed");
    // 4. Provision; the Debian fixture's front end in German through the guide's lifeboat.lang=.
    inGuide('lifeboat provision --disk disk.img --product "Contoso Laptop 14" --build F40-2026.11');
    inGuide('--key keys/private.pem --recovery-args "console=ttyS0,115200"');
    inGuide("`lifeboat.lang=de_DE` to skip the language question");
    const recoveryArgs = [
      "console=ttyS0,115200",
      ...(fc.lang ? [`lifeboat.lang=${fc.lang}_DE`] : []),
    ];
    const t0 = Date.now();
    const provisioned = data<{
      grub: { kind: string; status: string; reason?: string; path?: string }[];
      recoveryEnvironment: { digest: string; changed: boolean } | null;
    }>(
      await lifeboat([
        "provision",
        "--disk",
        fx.image,
        "--product",
        "Contoso Laptop 14",
        "--build",
        "F40-2026.11",
        "--key",
        path.join(keys, "private.pem"),
        "--recovery-args",
        recoveryArgs.join(" "),
        "--json",
      ]),
    );
    say(
      `  provision in ${((Date.now() - t0) / 1000).toFixed(0)} s; GRUB: ${JSON.stringify(provisioned.grub)}`,
    );
    expect(provisioned.recoveryEnvironment?.changed).toBe(true);
    if (fc.grubMkconfig) {
      // 5. "Only with grub-mkconfig": provision ran the system's grub2-mkconfig; nothing to run.
      expect(provisioned.grub).toEqual([
        expect.objectContaining({ kind: "grub.d", status: "installed" }),
        expect.objectContaining({ kind: "custom.cfg", status: "skipped", reason: "grub-d" }),
        expect.objectContaining({
          kind: "grub-mkconfig",
          status: "ran",
          command: "/usr/sbin/grub2-mkconfig",
          path: "/boot/grub2/grub.cfg",
        }),
      ]);
    } else {
      // No grub.d: the menu comes from custom.cfg; step 5 is not taken.
      expect(provisioned.grub).toContainEqual(
        expect.objectContaining({ kind: "grub.d", status: "skipped", reason: "no-grub-d" }),
      );
      expect(provisioned.grub).toContainEqual(
        expect.objectContaining({ kind: "custom.cfg", status: "installed", sourced: true }),
      );
    }
    // 6. Check.
    inGuide("lifeboat inspect --disk disk.img --trusted-key keys/public.pem");
    const inspected = await lifeboat([
      "inspect",
      "--disk",
      fx.image,
      "--trusted-key",
      path.join(keys, "public.pem"),
    ]);
    expect(inspected).toMatch(/Factory snapshot\s+Contoso Laptop 14 F40-2026\.11\s+intact/);
    expect(inspected).toMatch(/Recovery image\s+Contoso Laptop 14 F40-2026\.11\s+verified/);

    // The factory state as the host sees it, and the user's files after OOBE.
    let factoryRoot: string;
    let expectedHome: string;
    {
      const m = await mountFixture(scratch, fx.image, fx);
      try {
        if (fc.grubMkconfig) {
          // The menu GRUB will show is grub2-mkconfig's output, with the grub.d script's section.
          const cfg = await readFile(path.join(m.boot, "grub2/grub.cfg"), "utf8");
          expect(cfg).toContain("### BEGIN /etc/grub.d/41_lifeboat ###");
          expect(cfg).toContain(FACTORY_RESET);
          await sh("grub-script-check", [path.join(m.boot, "grub2/grub.cfg")]);
        }
        factoryRoot = (await fixtureFingerprints(m, { root: ".lifeboat/factory/root" })).root;
        expect((await fixtureFingerprints(m)).root).toBe(factoryRoot);
        expectedHome = await addUserFiles(m, fx.user);
      } finally {
        await m.release();
      }
    }

    // ---- (1) the normal entry boots to the system
    say("(1) normal boot after provisioning");
    const first = await bootToMarker(fx.image, "1-normal");
    expect(first.root).toBe(factoryRoot);
    expect(first.home).toBe(expectedHome);
    expect(first.vm.output()).toContain(MENU);

    // ---- (2) Recovery in the GRUB menu: the guided front end, reset keeping my files
    say("(2) damage the system a little; Recovery from the GRUB menu, walk the front end");
    {
      const m = await mountFixture(scratch, fx.image, fx);
      try {
        await writeFile(path.join(m.btrfsTop, "root/etc/junk-after-factory.conf"), "junk\n");
        await writeFile(path.join(m.btrfsTop, "root/usr/bin/tac"), randomBytes(4096));
        expect((await fixtureFingerprints(m)).root).not.toBe(factoryRoot);
      } finally {
        await m.release();
      }
    }
    const lang: Lang = fc.lang ?? "en";
    {
      const vm = await boot({
        disks: [fx.image],
        timeoutMs: 1_500_000,
        name: `oem-${fc.name}-2-recovery`,
      });
      try {
        await chooseGrubEntry(vm, [MENU, RECOVERY], { onProgress: say });
        expect(vm.output()).toContain(FACTORY_RESET); // drawn in the submenu
        await vm.waitFor("LIFEBOAT-RECOVERY mode=interactive", 300_000);
        if (fc.lang === undefined) {
          // No lifeboat.lang=: the first screen asks.
          await screen(vm, /Choose your language:/);
          expect(vm.output()).toContain("2. Deutsch");
          await vm.send(Keys.enter);
        }
        await screen(vm, UI[lang].diagnosis);
        await vm.send(Keys.enter);
        await screen(vm, UI[lang].choices);
        await vm.send(Keys.enter);
        const word = await confirmWord(vm, lang);
        expect(word).toBe(lang === "de" ? "LOESCHEN" : "ERASE");
        await finishAndRestart(vm, lang);
        say(
          `  Recovery walk (${lang}) done, QEMU exited at ${(vm.elapsedMs() / 1000).toFixed(0)} s (log ${vm.logFile})`,
        );
      } finally {
        await vm.kill();
      }
    }
    {
      const m = await mountFixture(scratch, fx.image, fx);
      try {
        const after = await fixtureFingerprints(m);
        expect(after.root).toBe(factoryRoot);
        expect(after.home).toBe(expectedHome);
        expect((await readdir(m.btrfsTop)).some((n) => n.startsWith("root.old-"))).toBe(true);
        // ---- (3) damage root so it cannot boot; the user adds one more file
        const sys = path.join(m.btrfsTop, "root");
        for (const name of await readdir(path.join(sys, "etc")))
          if (name !== "fstab")
            await rm(path.join(sys, "etc", name), { recursive: true, force: true });
        const garbage = randomBytes(4096);
        for (const bin of ["usr/lib/systemd/systemd", "usr/bin/sha256sum", "usr/bin/find"])
          await writeFile(path.join(sys, bin), garbage);
        await writeFile(
          path.join(m.btrfsTop, "home", fx.user, "Documents/before-factory-reset.txt"),
          "written after the first reset\n",
        );
        await sh("chown", [
          "1000:1000",
          path.join(m.btrfsTop, "home", fx.user, "Documents/before-factory-reset.txt"),
        ]);
        expectedHome = (await fixtureFingerprints(m)).home;
      } finally {
        await m.release();
      }
    }

    // ---- (3) Reset to factory settings from the GRUB menu, confirmed
    say("(3) root damaged; Reset to factory settings from the GRUB menu");
    {
      const vm = await boot({
        disks: [fx.image],
        timeoutMs: 1_500_000,
        name: `oem-${fc.name}-3-factory-reset`,
      });
      try {
        await chooseGrubEntry(vm, [MENU, FACTORY_RESET], { onProgress: say });
        await vm.waitFor("LIFEBOAT-RECOVERY mode=factory-reset", 300_000);
        if (fc.lang === undefined) {
          await screen(vm, /Choose your language:/);
          await vm.send(Keys.enter);
        }
        // It opens on the confirmation of "reset keeping my files": no menu before it.
        const word = await confirmWord(vm, lang);
        expect(word).toBe(lang === "de" ? "LOESCHEN" : "ERASE");
        await finishAndRestart(vm, lang);
        say(
          `  factory reset done, QEMU exited at ${(vm.elapsedMs() / 1000).toFixed(0)} s (log ${vm.logFile})`,
        );
      } finally {
        await vm.kill();
      }
    }
    const last = await bootToMarker(fx.image, "4-after-factory-reset");
    expect(last.root).toBe(factoryRoot);
    expect(last.home).toBe(expectedHome);
    say(`  root=${last.root.slice(0, 12)}… (factory) home=${last.home.slice(0, 12)}… (the user's)`);

    // ---- (4) a reset scheduled from the host runs unattended in the recovery environment
    say("(4) root damaged; reset schedule --in-recovery from the host; the next boot runs it");
    {
      const m = await mountFixture(scratch, fx.image, fx);
      try {
        await writeFile(path.join(m.btrfsTop, "root/etc/junk-before-schedule.conf"), "junk\n");
        expect((await fixtureFingerprints(m)).root).not.toBe(factoryRoot);
      } finally {
        await m.release();
      }
    }
    inGuide("lifeboat reset schedule --in-recovery --disk disk.img");
    const scheduled = await lifeboat(["reset", "schedule", "--in-recovery", "--disk", fx.image]);
    expect(scheduled).toContain(
      "A reset-keep-home reset is scheduled to run unattended in the recovery environment at the next boot.",
    );
    {
      const t0 = Date.now();
      const vm = await boot({
        disks: [fx.image],
        timeoutMs: 1_500_000,
        name: `oem-${fc.name}-5-scheduled-reset`,
      });
      try {
        // No key pressed: GRUB's default is the scheduled entry.
        await vm.waitFor("LIFEBOAT-RECOVERY schedule consumed", 600_000);
        await vm.waitFor("LIFEBOAT-RECOVERY mode=unattended", 60_000);
        const exit = await vm.waitFor(/LIFEBOAT-RECOVERY cli-exit=(\d+)/, 900_000);
        expect(exit[1], `the scheduled reset failed; serial log ${vm.logFile}`).toBe("0");
        await vm.waitForExit(180_000);
        say(
          `  scheduled reset done, QEMU exited at ${((Date.now() - t0) / 1000).toFixed(0)} s (log ${vm.logFile})`,
        );
      } finally {
        await vm.kill();
      }
    }
    const scheduledAfter = await bootToMarker(fx.image, "6-after-scheduled-reset");
    expect(scheduledAfter.root).toBe(factoryRoot);
    expect(scheduledAfter.home).toBe(expectedHome);
  }, 3_000_000);
});
