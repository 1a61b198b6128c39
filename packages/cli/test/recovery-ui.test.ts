/**
 * The guided recovery front end on a real terminal: `lifeboat recovery --disk
 * <image>` (the built binary) in a tmux session against a loop-backed,
 * provisioned disk image; keystrokes in, screen text asserted, for a reset
 * that keeps my files, and an interrupted reset finished from the first
 * screen. Afterwards the disk is opened again (the SDK): the file in /home is
 * still there, the one added to the system is gone.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { executeReset, inspectMachine, openMachine, plan, stampOf } from "@lifeboat/reset";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The reset's test-only fault hook (not in its public API).
import { withFaultHook } from "../../reset/src/_internal/fault-hook.js";
import { bin, cli, ensureBuilt, runner, smallDisk } from "./support.js";

const session = `lifeboat-ui-${process.pid}`;
let scratch: Scratch;
let disk: string;

const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", session);
const captures: Record<string, string> = {};

/** Wait for `pattern` on the screen, then a moment for the new screen to listen for keys. */
async function see(pattern: RegExp, name?: string, timeoutMs = 120_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (pattern.test(text)) {
      await sleep(400);
      if (name) captures[name] = screen();
      return text;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; screen:\n${text}`);
    await sleep(200);
  }
}

/** Start the front end in the tmux pane; the shell prints its exit status after it. */
function startFrontEnd(...args: string[]): void {
  tmux("send-keys", "-t", session, "clear", "Enter");
  tmux(
    "send-keys",
    "-t",
    session,
    "-l",
    `NO_COLOR=1 TERM=linux ${process.execPath} ${bin} recovery --disk ${disk} ${args.join(" ")}; echo "exit=$?"`,
  );
  tmux("send-keys", "-t", session, "Enter");
}

async function keys(...k: string[]): Promise<void> {
  for (const key of k) {
    if (key === "Enter" || key === "Down" || key === "Up" || key === "Escape")
      tmux("send-keys", "-t", session, key);
    else tmux("send-keys", "-t", session, "-l", key);
    await sleep(150);
  }
}

/** With the disk opened by the SDK (locked, mounted), then closed again. */
async function withTop<T>(body: (top: string) => Promise<T>): Promise<T> {
  const m = (await openMachine(runner, { disk }))._unsafeUnwrap();
  try {
    if (!m.top) throw new Error("no Btrfs top level");
    return await body(m.top);
  } finally {
    await m.close();
  }
}

beforeAll(async () => {
  requireTools("tmux");
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-ui-");
  disk = await smallDisk(scratch, "ui.img");
  const p = cli(["provision", "--disk", disk, "--product", "Contoso", "--build", "T1"]);
  if (p.code !== 0) throw new Error(p.stderr);
  await withTop(async (top) => {
    await mkdir(path.join(top, "home/alice"), { recursive: true });
    await writeFile(path.join(top, "home/alice/thesis.txt"), "chapter one\n");
    await writeFile(path.join(top, "root/etc/added-after-factory"), "x\n");
  });
  tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "25", "bash --norc --noprofile");
  scratch.defer(async () => {
    tmux("kill-session", "-t", session);
    // A front end killed with the session leaves its mounts; the next opener clears them.
    await sleep(500);
    const m = await openMachine(runner, { disk, mount: false });
    if (m.isOk()) await m.value.close();
  });
}, 300_000);

afterAll(async () => {
  if (process.env.LIFEBOAT_UI_CAPTURES) {
    await mkdir(process.env.LIFEBOAT_UI_CAPTURES, { recursive: true });
    for (const [name, text] of Object.entries(captures))
      await writeFile(path.join(process.env.LIFEBOAT_UI_CAPTURES, `${name}.txt`), text);
  }
  await scratch?.cleanup();
});

describe("lifeboat recovery, the guided front end, on a terminal (tmux)", () => {
  it("reset keeping my files, end to end by keystrokes", async () => {
    startFrontEnd();
    await see(/Choose your language:/, "language");
    expect(screen()).toContain("2. Deutsch");
    expect(screen()).toMatch(/^\+-+\+$/m); // ASCII borders on TERM=linux
    await keys("Enter");
    const diagnosis = await see(/Free space:/, "diagnosis");
    expect(diagnosis).toContain('The system is there (Btrfs subvolume "root").');
    expect(diagnosis).toContain("The factory state is intact (Contoso T1).");
    await keys("Enter");
    const choices = await see(/What would you like to do\?/, "choices");
    expect(choices).toContain("1. Reset the system, keep my files");
    expect(choices).toContain("Keeps: your files and settings in /home");
    await keys("Enter");
    const confirm = await see(/and press Enter to start/, "confirm");
    expect(confirm).toContain("Please check:"); // the title still on an 80x25 screen
    expect(confirm).toMatch(/Plan sha256:[0-9a-f]{16}/);
    expect(/[^\x20-\x7e\n]/.test(confirm)).toBe(false); // ASCII only on TERM=linux
    const word = /Type (\w+) and press Enter/.exec(confirm)?.[1] ?? "";
    expect(["YES", "ERASE"]).toContain(word);
    await keys("nope", "Enter");
    await see(new RegExp(`That is not ${word}\\. Nothing was done\\.`));
    await keys(word.toLowerCase(), "Enter");
    const done = await see(/Everything went well|It did not work/, "done", 240_000);
    expect(done).toContain("Everything went well. Restart the computer to use it.");
    await keys("Enter");
    await see(/exit=\d+/);
    expect(screen()).toContain("LIFEBOAT-RECOVERY restart chosen");
    expect(screen()).toContain("exit=0");

    await withTop(async (top) => {
      expect(await readFile(path.join(top, "home/alice/thesis.txt"), "utf8")).toBe("chapter one\n");
      await expect(stat(path.join(top, "root/etc/added-after-factory"))).rejects.toThrow();
    });
  });

  it("an interrupted reset is named first and finished from the first choice", async () => {
    // A keep-my-files reset that stops at its fourth step (the SDK's test-only fault hook).
    await withTop(async (top) => {
      await writeFile(path.join(top, "root/etc/added-again"), "x\n");
    });
    const m = (await openMachine(runner, { disk }))._unsafeUnwrap();
    try {
      const { state, env } = (await inspectMachine(runner, m))._unsafeUnwrap();
      const p = plan(state, {
        kind: "reset-keep-home",
        stamp: stampOf(new Date()),
      })._unsafeUnwrap();
      const stopAt = p.steps[3]?.id;
      const r = await executeReset(
        withFaultHook(env, (id, at) => id === stopAt && at === "before"),
        p,
        { confirm: p.digest },
      );
      expect(r._unsafeUnwrapErr().code).toBe("STEP_FAILED");
    } finally {
      await m.close();
    }

    startFrontEnd("--lang", "en");
    const diagnosis = await see(/Free space:/, "unfinished");
    expect(diagnosis).toMatch(
      /An earlier reset was interrupted: "Reset the system to factory state/,
    );
    await keys("Enter");
    const choices = await see(/What would you like to do\?/);
    expect(choices).toMatch(/^\| > 1\. Finish the interrupted reset/m);
    await keys("Enter");
    await see(/Everything went well|It did not work/, undefined, 240_000);
    expect(screen()).toContain("Everything went well.");
    await keys("8"); // not a choice here: only restart is; nothing happens
    await keys("Enter");
    await see(/exit=\d+/);
    expect(screen()).toContain("exit=0");

    await withTop(async (top) => {
      expect(await readFile(path.join(top, "home/alice/thesis.txt"), "utf8")).toBe("chapter one\n");
      await expect(stat(path.join(top, "root/etc/added-again"))).rejects.toThrow();
    });
  });

  it("--factory-reset (GRUB's Reset to factory settings) opens on the keep-my-files confirmation: one word resets", async () => {
    await withTop(async (top) => {
      await writeFile(path.join(top, "root/etc/damaged-by-user"), "x\n");
    });
    startFrontEnd("--lang", "en", "--factory-reset");
    const confirm = await see(/and press Enter to start/, "factory-reset-confirm");
    expect(confirm).toContain("Please check:");
    expect(confirm).not.toContain("What would you like to do?");
    const word = /Type (\w+) and press Enter/.exec(confirm)?.[1] ?? "";
    expect(["YES", "ERASE"]).toContain(word);
    await keys(word.toLowerCase(), "Enter");
    await see(/Everything went well|It did not work/, "factory-reset-done", 240_000);
    expect(screen()).toContain("Everything went well. Restart the computer to use it.");
    await keys("Enter");
    await see(/exit=\d+/);
    expect(screen()).toContain("LIFEBOAT-RECOVERY restart chosen");
    expect(screen()).toContain("exit=0");
    await withTop(async (top) => {
      expect(await readFile(path.join(top, "home/alice/thesis.txt"), "utf8")).toBe("chapter one\n");
      await expect(stat(path.join(top, "root/etc/damaged-by-user"))).rejects.toThrow();
    });
  });

  it("--factory-reset: Esc goes to the main menu, nothing done; without a terminal it is a usage error", async () => {
    startFrontEnd("--lang", "en", "--factory-reset");
    await see(/and press Enter to start/);
    await keys("Escape");
    const choices = await see(/What would you like to do\?/);
    expect(choices).toContain("1. Reset the system, keep my files");
    // Its number moves when "Undo the last reset" is offered (earlier resets kept the old system).
    await keys(/(\d)\. Power off/.exec(choices)?.[1] ?? "?");
    await see(/exit=\d+/);
    expect(screen()).toContain("LIFEBOAT-RECOVERY power-off chosen");
    const r = cli(["recovery", "--disk", disk, "--factory-reset", "--json"]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain("--factory-reset asks the person to confirm");
  });
  it("undo the last reset: the system before it comes back, /home untouched", async () => {
    // The system as the person left it, then a reset keeping /home (through the SDK).
    await withTop(async (top) => {
      await writeFile(path.join(top, "root/etc/before-the-reset"), "mine\n");
    });
    const m = (await openMachine(runner, { disk }))._unsafeUnwrap();
    try {
      const { state, env } = (await inspectMachine(runner, m))._unsafeUnwrap();
      const p = plan(state, {
        kind: "reset-keep-home",
        stamp: stampOf(new Date()),
      })._unsafeUnwrap();
      (await executeReset(env, p, { confirm: p.digest }))._unsafeUnwrap();
    } finally {
      await m.close();
    }
    await withTop(async (top) => {
      await expect(stat(path.join(top, "root/etc/before-the-reset"))).rejects.toThrow();
    });

    startFrontEnd("--lang", "en");
    const diagnosis = await see(/Free space:/, "undo-diagnosis");
    expect(diagnosis).toMatch(/The system as it was before the reset of .* is kept;/);
    await keys("Enter");
    const choices = await see(/What would you like to do\?/, "undo-choices");
    const n = /(\d)\. Undo the last reset/.exec(choices)?.[1];
    expect(n).toBeDefined();
    await keys(n ?? "?");
    const confirm = await see(/and press Enter to start/, "undo-confirm");
    expect(confirm).toContain("Please check: Undo the reset of");
    const word = /Type (\w+) and press Enter/.exec(confirm)?.[1] ?? "";
    await keys(word.toLowerCase(), "Enter");
    await see(/Everything went well|It did not work/, "undo-done", 240_000);
    expect(screen()).toContain("Everything went well.");
    await keys("Enter");
    await see(/exit=\d+/);
    expect(screen()).toContain("exit=0");
    await withTop(async (top) => {
      expect(await readFile(path.join(top, "root/etc/before-the-reset"), "utf8")).toBe("mine\n");
      expect(await readFile(path.join(top, "home/alice/thesis.txt"), "utf8")).toBe("chapter one\n");
    });
  });

  it("the expert shell gets every keystroke (a whole typed line), and exit returns to the menu", async () => {
    startFrontEnd("--lang", "en");
    await see(/Free space:/);
    await keys("Enter");
    const choices = await see(/What would you like to do\?/);
    const n = /(\d)\. Open an expert shell/.exec(choices)?.[1];
    expect(n).toBeDefined();
    await keys(n ?? "?");
    await see(/Expert shell: type 'exit'/);
    await sleep(1000);
    // One line sent at once, as a serial console or a paste delivers it: the shell must read
    // all of it (a front end still reading the terminal would take part of it).
    tmux("send-keys", "-t", session, "-l", "echo shell-got-$((6 * 7))-all-of-the-line");
    tmux("send-keys", "-t", session, "Enter");
    await see(/^shell-got-42-all-of-the-line$/m, "expert-shell", 30_000);
    await keys("exit", "Enter");
    // Back in the front end: its first screen again, then the choices.
    await see(/Free space:/, undefined, 60_000);
    await keys("Enter");
    const back = await see(/What would you like to do\?/);
    const off = /(\d)\. Power off/.exec(back)?.[1];
    await keys(off ?? "?");
    await see(/exit=\d+/);
    expect(screen()).toContain("power-off chosen (not in the recovery environment");
    expect(screen()).toContain("exit=0");
  });
});
