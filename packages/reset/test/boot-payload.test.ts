import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { createBtrfs, requireRoot, Scratch, sh } from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isBootPayloadFile, provision } from "../src/index.js";

const runner = createExecaRunner();
const NOT_PAYLOAD = ["grub2/grub.cfg", "grub/grub.cfg", "efi/EFI/BOOT/BOOTX64.EFI", "lost+found"];

async function writeTree(root: string, files: readonly string[]): Promise<void> {
  for (const f of files) {
    await mkdir(path.dirname(path.join(root, f)), { recursive: true });
    await writeFile(path.join(root, f), `${f}\n`);
  }
}

async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + e.name;
    if (e.isDirectory()) out.push(...(await listTree(path.join(dir, e.name), `${rel}/`)));
    else out.push(rel);
  }
  return out.sort();
}

/** Provision a fresh Btrfs whose /boot holds `files`; return what the factory /boot archive holds. */
async function archived(scratch: Scratch, files: readonly string[]) {
  const fs = await createBtrfs(scratch, { bytes: 256 * 1024 ** 2 });
  await sh("btrfs", ["-q", "subvolume", "create", path.join(fs.mountpoint, "root")]);
  const boot = scratch.path("boot");
  await writeTree(boot, [...files, ...NOT_PAYLOAD.filter((f) => f !== "lost+found")]);
  await mkdir(path.join(boot, "lost+found"));
  const m = (
    await provision(runner, { top: fs.mountpoint, boot, product: "P", build: "B" })
  )._unsafeUnwrap();
  return {
    manifestFiles: m.boot.files.map((f) => f.path).sort(),
    onDisk: await listTree(path.join(fs.mountpoint, m.boot.path)),
    kernelVersions: m.boot.kernelVersions,
  };
}

describe("the factory /boot payload: one rule for Fedora and Debian/Ubuntu naming (issue #16)", () => {
  let scratch: Scratch;
  beforeEach(async () => {
    requireRoot();
    scratch = await Scratch.create();
  });
  afterEach(async () => {
    await scratch.cleanup();
  });

  it("Fedora naming: vmlinuz-*, initramfs-*.img, System.map-*, config-*, symvers-*, loader/entries/*.conf", async () => {
    const k = "6.8.5-301.fc40.x86_64";
    const fedora = [
      `vmlinuz-${k}`,
      `initramfs-${k}.img`,
      `System.map-${k}`,
      `config-${k}`,
      `symvers-${k}.xz`,
      `loader/entries/0123abcd-${k}.conf`,
    ].sort();
    const got = await archived(scratch, fedora);
    expect(got.manifestFiles).toEqual(fedora);
    expect(got.onDisk).toEqual(fedora);
    expect(got.kernelVersions).toEqual([k]);
  });

  it("Debian/Ubuntu naming: vmlinuz-*, initrd.img-*, System.map-*, config-*", async () => {
    const k = "6.1.0-18-amd64";
    const debian = [`vmlinuz-${k}`, `initrd.img-${k}`, `System.map-${k}`, `config-${k}`].sort();
    const got = await archived(scratch, debian);
    expect(got.manifestFiles).toEqual(debian);
    expect(got.onDisk).toEqual(debian);
    expect(got.kernelVersions).toEqual([k]);
  });

  it("isBootPayloadFile: kernel files at the top of /boot and BLS entries only", () => {
    expect(isBootPayloadFile("initrd.img-6.1.0-18-amd64")).toBe(true);
    expect(isBootPayloadFile("initramfs-6.8.5.img")).toBe(true);
    expect(isBootPayloadFile("loader/entries/x.conf")).toBe(true);
    for (const f of [
      ...NOT_PAYLOAD,
      "initrd.img",
      "vmlinuz",
      "loader/entries/x.conf.bak",
      "sub/vmlinuz-1",
    ])
      expect(isBootPayloadFile(f)).toBe(false);
  });
});
