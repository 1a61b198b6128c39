/**
 * The front end, screen by screen, with ink-testing-library and a fake
 * machine (test/fixtures.ts): every screen, every error screen, both languages.
 */
import { type HostAction, LOCALES, localeFromCmdline, RecoveryApp } from "@lifeboat/recovery-ui";
import { render } from "ink-testing-library";
import { createElement } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { fakeBackend, fakeState, KEY, tick, waitFor } from "./fixtures.js";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

function start(
  options: Parameters<typeof fakeBackend>[0] = {},
  props: { locale?: "en" | "de"; ascii?: boolean } = { locale: "en" },
) {
  const fake = fakeBackend(options);
  const exits: HostAction[] = [];
  const app = render(
    createElement(RecoveryApp, {
      backend: fake.backend,
      ...props,
      color: false,
      now: () => new Date("2026-12-04T20:00:00Z"),
      onExit: (a) => exits.push(a),
    }),
  );
  cleanup = () => app.unmount();
  const screen = () => app.lastFrame() ?? "";
  // A key is typed once the screen has settled after the one before (a person is that slow too).
  const type = async (...keys: string[]) => {
    for (const k of keys) {
      app.stdin.write(k);
      for (let i = 0; i < 6; i++) {
        const n = app.frames.length;
        await tick(40);
        if (app.frames.length === n) break;
      }
    }
  };
  // A new screen listens for keys once its effects have run, a moment after it is drawn.
  const see = async (text: string) => {
    await waitFor(() => screen().includes(text));
    expect(screen()).toContain(text);
    await tick(100);
  };
  /** Past the opening screen (the fake opens at once, but React renders asynchronously). */
  const opened = async () => {
    await waitFor(() => screen() !== "" && !/Looking at|wird untersucht/.test(screen()));
    await tick(100);
  };
  return { ...fake, app, screen, type, see, opened, exits };
}

describe("language", () => {
  it("asks first when no language is given, and German is the second entry", async () => {
    const s = start({}, {});
    await s.opened();
    await s.see("Choose your language:");
    await s.see("1. English");
    await s.see("2. Deutsch");
    await s.type(KEY.down, KEY.enter);
    await tick();
    await s.see("Was wir gefunden haben");
  });

  it("lifeboat.lang= on the kernel command line picks it", () => {
    expect(localeFromCmdline("quiet lifeboat.lang=de_DE.UTF-8 ro")).toBe("de");
    expect(localeFromCmdline("lifeboat.lang=fr")).toBeUndefined();
    expect(localeFromCmdline("quiet")).toBeUndefined();
  });

  it("the German catalog has every string the English one has", () => {
    const keys = (o: object) => Object.keys(o).sort();
    expect(keys(LOCALES.de)).toEqual(keys(LOCALES.en));
    expect(keys(LOCALES.de.choices)).toEqual(keys(LOCALES.en.choices));
    expect(keys(LOCALES.de.errors)).toEqual(keys(LOCALES.en.errors));
  });
});

describe("diagnosis", () => {
  it("says in plain words what is there: system, factory state, recovery image, free space", async () => {
    const s = start();
    await s.see("Free space");
    const text = s.screen();
    expect(text).toContain("What we found");
    expect(text).toContain('The system is there (Btrfs subvolume "root").');
    expect(text).toContain("The factory state is intact (Fedora 40.1).");
    expect(text).toContain("The recovery image is complete and signed (Fedora 40.1).");
    expect(text).toContain("Free space: 12.0 GiB of 20.0 GiB.");
  });

  it("names what a choice could destroy: another OS, snapshots; a damaged factory state", async () => {
    const base = fakeState();
    const s = start({
      state: fakeState({
        otherOses: [
          { kind: "windows", name: "Windows 11", devices: ["/dev/loop4"], bytes: 30 * 1024 ** 3 },
        ],
        factory: base.factory ? { ...base.factory, intact: false } : undefined,
        checkpoints: [
          { id: "factory", factory: true } as never,
          { id: "before-upgrade", factory: false } as never,
        ],
      }),
    });
    await s.opened();
    await s.see("Another operating system is installed: Windows 11 (30.0 GiB).");
    await s.see("The factory state on the disk is damaged.");
    await s.see("There is 1 saved snapshot of the system.");
  });

  it("in German", async () => {
    const s = start({}, { locale: "de" });
    await s.opened();
    await s.see("Der Werkszustand ist unversehrt (Fedora 40.1).");
    await s.see("Enter: weiter");
  });
});

describe("encrypted disk", () => {
  it("asks the passphrase without echo, says a wrong one did not open it, opens with the right one", async () => {
    const s = start({ luks: { device: "/dev/loop5", key: "right" } });
    await s.opened();
    await s.see("Type the passphrase of the encrypted disk (/dev/loop5).");
    await s.type("w", "r", "o", "n", "g");
    expect(s.screen()).not.toContain("wrong");
    await s.type(KEY.enter);
    await tick();
    await s.see("That passphrase did not open the disk. Try 2 of 3.");
    await s.type(..."right".split(""), KEY.enter);
    await tick();
    await s.see("What we found");
    expect(s.calls).toEqual(["open", "key wrong", "key right"]);
  });

  it("three wrong passphrases: the error screen, nothing changed", async () => {
    const s = start({ luks: { device: "/dev/loop5", key: "right" } });
    await s.opened();
    for (const k of ["a", "b", "c"]) await s.type(k, KEY.enter);
    await tick();
    await s.see("Something is wrong");
    await s.see("The passphrase did not open the encrypted disk.");
    await s.see("Safe: Nothing on the disk was changed.");
    await s.see("Next: Restart and type the passphrase again.");
    await s.see("[RESET_LUKS_WRONG_KEY]");
  });
});

describe("choices", () => {
  it("lists every choice with its trade-offs; an impossible one says why", async () => {
    const s = start({
      planError: {
        "reset-from-recovery": { code: "RESET_IMAGE_NOT_VERIFIED", message: "not verified" },
      },
    });
    await s.opened();
    await s.type(KEY.enter);
    await s.see("8. Power off");
    const text = s.screen();
    expect(text).toContain("What would you like to do?");
    for (const label of [
      "1. Reset the system, keep my files",
      "2. Restore from the recovery image, keep my files",
      "3. Save my files to a USB drive first",
      "4. Erase my files only",
      "5. Erase everything and restore the factory state",
      "6. Open an expert shell",
      "7. Restart the computer",
      "8. Power off",
    ])
      expect(text).toContain(label);
    expect(text).toContain(
      "Not possible now: The recovery image could not be checked, so it is not used.",
    );
    expect(text).toContain("Keeps: your files and settings in /home");
    await s.type(KEY.down);
    await s.see("Takes: about a minute (1.0 GiB to copy)");
    await s.type(KEY.down);
    await s.see("Loses: everything in /home");
  });

  it("an interrupted reset comes first and is finished by resume", async () => {
    const s = start({
      state: fakeState({
        unfinishedPlan: {
          digest: "sha256:1",
          kind: "reset-keep-home",
          title: "Reset keeping home",
          status: "running",
          stoppedAt: "exchange",
          lastError: undefined,
          paths: [],
        },
      }),
    });
    await s.opened();
    await s.see('An earlier reset was interrupted: "Reset keeping home". Finish it first.');
    await s.type(KEY.enter);
    await s.see("1. Finish the interrupted reset");
    await s.type(KEY.enter);
    await s.see("Done");
    expect(s.calls).toContain("resume");
  });

  it("restart, power off and the shell go to the host, after the machine is closed", async () => {
    for (const [n, action] of [
      ["6", "shell"],
      ["7", "restart"],
      ["8", "power-off"],
    ] as const) {
      const s = start();
      await s.opened();
      await s.type(KEY.enter, n);
      await waitFor(() => s.exits.length > 0);
      expect(s.exits).toEqual([action]);
      expect(s.calls.at(-1)).toBe("close");
      cleanup?.();
    }
  });
});

describe("keep my files: confirm, progress, done", () => {
  it("shows the plan's steps, what is lost, and runs only after the localized word", async () => {
    const s = start();
    await s.opened();
    await s.type(KEY.enter, KEY.enter);
    await s.see("Type YES");
    let text = s.screen();
    expect(text).toContain("Please check: Plan reset-keep-home");
    expect(text).toContain("1. Snapshot the factory root as root.new");
    expect(text).toContain("Nothing will be lost.");
    expect(text).toContain("Type YES and press Enter to start");
    await s.type("n", "o", KEY.enter);
    await s.see("That is not YES. Nothing was done.");
    expect(s.calls.some((c) => c.startsWith("execute"))).toBe(false);
    await s.type(KEY.enter); // empty line: still nothing
    await s.type("y", "e", "s", KEY.enter);
    await s.see("Everything went well.");
    text = s.screen();
    expect(s.calls).toContain(`execute sha256:${"reset-keep-home".padEnd(64, "0")}`);
    expect(text).toContain("Everything went well. Restart the computer to use it.");
    await s.type(KEY.enter);
    await waitFor(() => s.exits.length > 0);
    expect(s.exits).toEqual(["restart"]);
  });

  it("a plan that destroys data lists it, loud items first, and wants ERASE (LOESCHEN in German)", async () => {
    const s = start({}, { locale: "de" });
    await s.opened();
    await s.type(KEY.enter, "5");
    await s.see("Geben Sie LOESCHEN ein");
    const text = s.screen();
    expect(text).toContain("Was entfernt wird (bitte genau lesen):");
    expect(text).toContain("Windows on /dev/loop4 (30,0 GiB)");
    expect(text.indexOf("Windows on /dev/loop4 (30,0 GiB)")).toBeLessThan(
      text.indexOf("subvolume home (1,0 GiB)"),
    );
    expect(text).toContain("Geben Sie LOESCHEN ein");
    await s.type(KEY.esc);
    await tick(100);
    await s.see("Was möchten Sie tun?");
  });
});

describe("failures", () => {
  it("a step that fails: the typed error in plain words, try again resumes", async () => {
    const s = start({
      runError: { code: "STEP_FAILED", message: "step exchange failed: renameat2: EIO" } as never,
    });
    await s.opened();
    await s.type(KEY.enter, KEY.enter, "Y", "E", "S", KEY.enter);
    await s.see("It did not work");
    const text = s.screen();
    expect(text).toContain("It did not work");
    expect(text).toContain("A step of the reset failed.");
    expect(text).toContain("[STEP_FAILED]");
    expect(text).toContain("renameat2: EIO");
    expect(text).toContain("2. Finish later (power off)");
    await s.type(KEY.enter);
    await s.see("Everything went well.");
    expect(s.calls).toContain("resume");
  });

  it("the disk cannot be opened (another process has it): the error screen, no choices that act", async () => {
    const s = start({ openError: { code: "LOCK_HELD", message: "held by pid 42" } as never });
    await s.see("[LOCK_HELD]");
    const text = s.screen();
    expect(text).toContain("Another program is working on this disk right now.");
    expect(text).toContain("[LOCK_HELD]");
    expect(text).toContain("1. Restart the computer");
    expect(text).not.toContain("Back to the choices");
  });
});

describe("rescue", () => {
  it("measures the folder typed, shows space needed and available, then confirms with YES", async () => {
    const s = start();
    await s.opened();
    await s.type(KEY.enter, "3");
    await s.see("Space needed: 1.0 GiB");
    await s.type(..."/media/usb", KEY.enter);
    await s.see("Space available there: 8.0 GiB");
    expect(s.calls).toContain("measure /media/usb");
    await s.type(KEY.enter);
    await tick();
    await s.see("Please check: Plan rescue");
    await s.type("Y", "E", "S", KEY.enter);
    await tick();
    await s.see("Your files were copied to /media/usb and the copy was checked.");
    await s.type(KEY.enter);
    await tick();
    await s.see("What would you like to do?");
  });
});

describe("console without glyphs or colour", () => {
  it("ASCII borders and symbols only", async () => {
    const s = start({}, { locale: "en", ascii: true });
    await s.see("Free space");
    const text = s.screen();
    expect(text).toContain("+---");
    expect(text).toContain("+ The system is there");
    expect(/[^\x20-\x7e\n]/.test(text)).toBe(false);
  });
});
