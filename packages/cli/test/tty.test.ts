/**
 * The CLI on a real terminal: a tmux session (new-session -d, send-keys,
 * capture-pane) shows the progress bar with rate and ETA, and the typed
 * confirmation: a wrong answer changes nothing, the right one runs the plan.
 */
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageKeygenDataSchema, subvolListDataSchema } from "../src/json-schemas.js";
import { bin, cli, cliJson, ensureBuilt, smallDisk } from "./support.js";

const session = `lifeboat-cli-${process.pid}`;
let scratch: Scratch;
let disk: string;
let keys: { privateKey: string; publicKey: string };

const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session);

async function waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (pattern.test(text)) return text;
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; screen:\n${text}`);
    await sleep(250);
  }
}

function type(line: string): void {
  tmux("send-keys", "-t", session, "-l", line);
  tmux("send-keys", "-t", session, "Enter");
}

const subvolumes = () =>
  cliJson(["subvol", "list", "--disk", disk], subvolListDataSchema)
    .subvolumes.map((s) => s.path)
    .sort();

beforeAll(async () => {
  requireTools("tmux");
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-tty-");
  disk = await smallDisk(scratch, "tty.img");
  keys = cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
  const p = cli(["provision", "--disk", disk, "--product", "Contoso", "--build", "T1"]);
  if (p.code !== 0) throw new Error(p.stderr);
  const set = scratch.path("set");
  const b = cli([
    "image",
    "build",
    "/usr/share/zoneinfo",
    "--out",
    set,
    "--product",
    "P",
    "--version",
    "1",
    "--key",
    keys.privateKey,
  ]);
  if (b.code !== 0) throw new Error(b.stderr);
  tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "60", "bash --norc --noprofile");
  scratch.defer(async () => {
    // Interrupt whatever still runs in the pane and let it release its mounts before the session goes.
    tmux("send-keys", "-t", session, "C-c");
    for (let i = 0; i < 240; i++) {
      if (tmux("list-panes", "-t", session, "-F", "#{pane_current_command}").trim() === "bash")
        break;
      await sleep(250);
    }
    tmux("kill-session", "-t", session);
  });
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("lifeboat on a terminal (tmux)", () => {
  it("shows a progress bar with rate and ETA while verifying an image", async () => {
    type(
      `clear; echo RUN-0; node ${bin} image verify ${scratch.path("set")} --trusted-key ${keys.publicKey}; echo EXIT=$?`,
    );
    const text = await waitFor(/RUN-0\n[\s\S]*EXIT=\d+/);
    expect(text).toContain("EXIT=0");
    expect(text).toMatch(/verifying +[█░]+ 100% \| [\d.]+ [KM]iB\/[\d.]+ [KM]iB \| .*\/s \| ETA/);
    expect(text).toContain("✓ verified");
  }, 200_000);

  it("asks to type RESET: a wrong answer changes nothing, the right one runs the reset", async () => {
    const before = subvolumes();
    // Each run echoes its own marker first, so a screen still showing the previous run never matches.
    const apply = (run: string) =>
      `clear; echo ${run}; node ${bin} apply --disk ${disk} --stamp 20261125T220000Z; echo EXIT=$?`;
    type(apply("RUN-1"));
    let text = await waitFor(/RUN-1\n[\s\S]*Type RESET to run plan/);
    expect(text).toContain("This plan DESTROYS:");
    await sleep(300);
    type("reset please");
    text = await waitFor(/RUN-1\n[\s\S]*EXIT=\d+/);
    expect(text).toContain("Not confirmed: nothing was changed.");
    expect(text).toContain("EXIT=3");
    expect(subvolumes()).toEqual(before);

    type(apply("RUN-2"));
    await waitFor(/RUN-2\n[\s\S]*Type RESET to run plan/);
    await sleep(300);
    type("RESET");
    text = await waitFor(/RUN-2\n[\s\S]*EXIT=\d+/);
    expect(text).toContain("[8/8]");
    expect(text).toContain("EXIT=0");
    expect(subvolumes()).toContain("root.old-20261125T220000Z");
  }, 400_000);
});
