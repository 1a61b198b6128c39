/**
 * The guided recovery front end on a real terminal (tmux, the built binary):
 * save my files to a second loop-backed "USB" disk, then erase everything and
 * restore the factory state from the verified recovery image. Afterwards the
 * copy on the USB disk holds the file, and /home on the machine no longer does.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openMachine } from "@lifeboat/reset";
import { attachLoop, createImageFile, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageKeygenDataSchema } from "../src/json-schemas.js";
import { bin, cli, cliJson, ensureBuilt, runner, smallDisk } from "./support.js";

const session = `lifeboat-ui-rescue-${process.pid}`;
let scratch: Scratch;
let disk: string;
let usb: string;
let publicKey: string;

const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", session);

async function see(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (pattern.test(text)) {
      await sleep(400);
      return screen();
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; screen:\n${text}`);
    await sleep(200);
  }
}

async function keys(...k: string[]): Promise<void> {
  for (const key of k) {
    if (key === "Enter" || key === "Escape") tmux("send-keys", "-t", session, key);
    else tmux("send-keys", "-t", session, "-l", key);
    await sleep(150);
  }
}

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
  requireTools("tmux", "mkfs.ext4");
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-ui-rescue-");
  disk = await smallDisk(scratch, "machine.img");
  const keys = cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
  publicKey = keys.publicKey;
  const p = cli([
    "provision",
    "--disk",
    disk,
    "--product",
    "Contoso",
    "--build",
    "T2",
    "--key",
    keys.privateKey,
    "--no-recovery-env",
  ]);
  if (p.code !== 0) throw new Error(p.stderr);
  await withTop(async (top) => {
    await mkdir(path.join(top, "home/alice"), { recursive: true });
    await writeFile(path.join(top, "home/alice/thesis.txt"), "chapter one\n");
  });
  // The "USB drive": an ext4 image on its own loop device, mounted (unmounted before detach).
  const usbImage = await createImageFile(scratch, "usb.img", 128 * 1024 * 1024);
  const usbDevice = await attachLoop(scratch, usbImage);
  await sh("mkfs.ext4", ["-q", usbDevice]);
  usb = scratch.path("usb");
  await mkdir(usb);
  await sh("mount", [usbDevice, usb]);
  scratch.defer(() => sh("umount", [usb]));
  tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "45", "bash --norc --noprofile");
  scratch.defer(async () => {
    tmux("kill-session", "-t", session);
    await sleep(500);
    const m = await openMachine(runner, { disk, mount: false });
    if (m.isOk()) await m.value.close();
  });
}, 300_000);

afterAll(async () => {
  await scratch?.cleanup();
});

describe("lifeboat recovery, the guided front end, on a terminal (tmux)", () => {
  it("save my files to a USB disk, then erase everything", async () => {
    tmux(
      "send-keys",
      "-t",
      session,
      "-l",
      `NO_COLOR=1 TERM=linux ${process.execPath} ${bin} recovery --disk ${disk} --lang en --trusted-key ${publicKey}; echo "exit=$?"`,
    );
    tmux("send-keys", "-t", session, "Enter");
    const diagnosis = await see(/Free space:/);
    expect(diagnosis).toContain("The recovery image is complete and signed (Contoso T2).");
    await keys("Enter");
    await see(/What would you like to do\?/);
    await keys("3");
    const rescue = await see(/Space needed:/);
    expect(rescue).toContain("Folder on the USB drive to copy to:");
    await keys(usb, "Enter");
    await see(/Space available there: \d/);
    await keys("Enter");
    const confirm = await see(/and press Enter to start/);
    expect(confirm).toContain("Please check:");
    const word = /Type (\w+) and press Enter/.exec(confirm)?.[1] ?? "";
    await keys(word, "Enter");
    await see(/Your files were copied|It did not work/, 240_000);
    expect(screen()).toContain(`Your files were copied to ${usb} and the copy was checked.`);
    const copies = (await readdir(usb)).filter((n) => n.startsWith("lifeboat-rescue-"));
    expect(copies).toHaveLength(1);
    const copied = await readFile(path.join(usb, copies[0]!, "alice/thesis.txt"), "utf8");
    expect(copied).toBe("chapter one\n");

    await keys("Enter"); // back to the choices
    await see(/What would you like to do\?/);
    await keys("5");
    const erase = await see(/and press Enter to start/);
    expect(erase).toContain("What will be removed (read this carefully):");
    expect(erase).toContain("Type ERASE and press Enter");
    await keys("ERASE", "Enter");
    await see(/Everything went well|It did not work/, 300_000);
    expect(screen()).toContain("Everything went well. Restart the computer to use it.");
    await keys("Enter");
    await see(/exit=\d+/);
    expect(screen()).toContain("exit=0");

    await withTop(async (top) => {
      await expect(stat(path.join(top, "home/alice/thesis.txt"))).rejects.toThrow();
    });
    expect(await readFile(path.join(usb, copies[0]!, "alice/thesis.txt"), "utf8")).toBe(
      "chapter one\n",
    );
  });
});
