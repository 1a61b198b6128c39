/**
 * LUKS in the CLI on this host (no device-mapper: nothing can be opened
 * here; the open-and-reset path runs in the QEMU guest of
 * packages/e2e/test/boot-chain-luks.test.ts): a key is read only when the
 * Btrfs is behind a locked container, and a locked system is a typed refusal.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createImageFile, requireRoot, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliJsonFailure, ensureBuilt } from "./support.js";

let scratch: Scratch;
beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-luks-");
});
afterAll(async () => {
  await scratch.cleanup();
});

/** A GPT disk image: a LUKS2 partition (key "k"), and a plain Btrfs partition when `plainBtrfs`. */
async function luksDisk(name: string, plainBtrfs: boolean): Promise<string> {
  requireRoot();
  requireTools("sgdisk", "cryptsetup", "mkfs.btrfs");
  const image = await createImageFile(scratch, name, (plainBtrfs ? 200 : 48) * 1024 * 1024);
  await sh("sgdisk", [
    "-o",
    "-n1:0:+24M",
    "-t1:8309",
    ...(plainBtrfs ? ["-n2:0:+140M", "-t2:8300"] : []),
    image,
  ]);
  const parts = JSON.parse(await sh("sfdisk", ["-J", image])).partitiontable.partitions as Array<{
    start: number;
    size: number;
  }>;
  // The set-up's loop devices are detached before the CLI runs: a disk someone else has
  // attached is in use, and Lifeboat refuses it.
  const attached: string[] = [];
  const at = async (i: number) => {
    const args = ["--find", "--show", "--offset", String(parts[i]!.start * 512)];
    const device = (
      await sh("losetup", [...args, "--sizelimit", String(parts[i]!.size * 512), image])
    ).trim();
    attached.push(device);
    return device;
  };
  try {
    await sh(
      "cryptsetup",
      [
        "luksFormat",
        "--batch-mode",
        "--pbkdf",
        "pbkdf2",
        "--pbkdf-force-iterations",
        "1000",
      ].concat(["--key-file", "-", await at(0)]),
      { stdin: "k" },
    );
    if (plainBtrfs) await sh("mkfs.btrfs", ["-q", await at(1)]);
  } finally {
    for (const device of attached) await sh("losetup", ["--detach", device]);
  }
  return image;
}

describe("lifeboat and LUKS", () => {
  it("never reads a key when the Btrfs is readable without one", async () => {
    const image = await luksDisk("plain.img", true);
    const r = cli([
      "--json",
      "inspect",
      "--disk",
      image,
      "--no-sizes",
      "--luks-key-file",
      "/nonexistent/key",
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const state = JSON.parse(r.stdout).data.state;
    expect(state.btrfs.encryptedOn).toBeUndefined();
    expect(state.disks[0].partitions[0]).toMatchObject({ role: "luks", luks: { version: 2 } });
    expect(state.disks[0].partitions[0].luks.openAs).toBeUndefined();
  });

  it("refuses to recover a system behind a locked container, without a terminal or a key", async () => {
    const image = await luksDisk("locked.img", false);
    // inspect shows the locked container (no terminal: nothing is asked)
    const shown = cli(["inspect", "--disk", image, "--no-sizes"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/Encrypted volume \/dev\/loop\d+ \(LUKS2\) is locked/);
    // a key given for a container that must be opened IS read
    const unreadable = cliJsonFailure([
      "inspect",
      "--disk",
      image,
      "--luks-key-file",
      "/nonexistent/key",
    ]);
    expect(unreadable.doc.error.message).toMatch(/nonexistent\/key/);
    const request = scratch.path("reset.json");
    const text = `${JSON.stringify({ kind: "reset-keep-home", stamp: "20261125T230000Z" })}\n`;
    await writeFile(request, text);
    const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`;
    const { code, doc } = cliJsonFailure([
      "recovery",
      "--request",
      request,
      "--digest",
      digest,
      "--disk",
      image,
    ]);
    expect(code).toBe(1);
    expect(doc.error).toMatchObject({ code: "RESET_ENCRYPTED_LOCKED" });
    expect(doc.error.device).toMatch(/^\/dev\/loop\d+$/);
    expect(doc.error.message).toMatch(/--luks-key-file/);
  });
});
