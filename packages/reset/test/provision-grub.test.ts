import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/core/layout";
import { createBtrfs, requireRoot, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { provision } from "../src/index.js";
import { madeByGrubMkconfig, provisionCustomCfg, sourcesCustomCfg } from "../src/provision-grub.js";

const runner = createExecaRunner();
const K = "6.8.5-301.fc40.x86_64";

/** A Btrfs with `root` (holding /etc/grub.d) and a /boot made by `makeBoot`. */
async function machine(scratch: Scratch, makeBoot: (boot: string) => Promise<unknown>) {
  const fs = await createBtrfs(scratch, { bytes: 256 * 1024 ** 2 });
  await sh("btrfs", ["-q", "subvolume", "create", path.join(fs.mountpoint, "root")]);
  await mkdir(path.join(fs.mountpoint, "root/etc/grub.d"), { recursive: true });
  const boot = scratch.path("boot");
  await mkdir(boot);
  await writeFile(path.join(boot, `vmlinuz-${K}`), "kernel\n");
  await writeFile(path.join(boot, `initramfs-${K}.img`), "initramfs\n");
  await makeBoot(boot);
  return { top: fs.mountpoint, boot, product: "P", build: "B" };
}

describe("provision reports every GRUB integration it does or skips (issue #16)", () => {
  let scratch: Scratch;
  beforeEach(async () => {
    requireRoot();
    scratch = await Scratch.create();
  });
  afterEach(async () => {
    await scratch.cleanup();
  });

  it("a /boot without loader/entries: the grub.d script is installed all the same (it needs no system kernel)", async () => {
    requireTools("grub-script-check");
    const m = await machine(scratch, async () => {});
    const r = (await provision(runner, { ...m, grub: {} }))._unsafeUnwrap();
    expect(r.grub).toEqual([
      { kind: "grub.d", status: "installed", subvolume: "root", path: "/etc/grub.d/41_lifeboat" },
      {
        kind: "custom.cfg",
        status: "skipped",
        reason: "grub-d",
        detail: expect.stringContaining("grub.d script adds the entries"),
      },
      {
        kind: "grub-mkconfig",
        status: "skipped",
        reason: "no-grub-mkconfig",
        detail: expect.stringContaining("no grub2-mkconfig or grub-mkconfig"),
      },
    ]);
    expect(r.boot.kernelVersions).toEqual([K]);
  });

  it("no grub option: both integrations reported as not requested", async () => {
    const m = await machine(scratch, async () => {});
    const r = (await provision(runner, m))._unsafeUnwrap();
    expect(r.grub).toMatchObject([
      { kind: "grub.d", status: "skipped", reason: "not-requested" },
      { kind: "custom.cfg", status: "skipped", reason: "not-requested" },
    ]);
  });

  it("no /etc/grub.d and no recovery partition provisioned: both skipped, each saying why", async () => {
    const m = await machine(scratch, async (boot) => {
      await mkdir(path.join(boot, "grub"));
      await writeFile(path.join(boot, "grub/grub.cfg"), "source $prefix/custom.cfg\n");
    });
    await rm(path.join(m.top, "root/etc/grub.d"), { recursive: true });
    const r = (await provision(runner, { ...m, grub: {} }))._unsafeUnwrap();
    expect(r.grub).toMatchObject([
      { kind: "grub.d", status: "skipped", reason: "no-grub-d" },
      { kind: "custom.cfg", status: "skipped", reason: "no-recovery-partition" },
    ]);
  });

  it("the grub.d script in root (named inside the subvolume): both entries boot the recovery environment, with the recovery kernel arguments", async () => {
    requireTools("grub-script-check");
    const m = await machine(scratch, async (boot) => {
      await mkdir(path.join(boot, "loader/entries"), { recursive: true });
      await writeFile(
        path.join(boot, `loader/entries/abc-${K}.conf`),
        `title Fedora\nlinux /vmlinuz-${K}\ninitrd /initramfs-${K}.img\noptions root=UUID=1 rootflags=subvol=root ro\n`,
      );
    });
    const grub = { recoveryKernelArgs: ["console=ttyS0,115200", "lifeboat.lang=de_DE"] };
    const r = (await provision(runner, { ...m, grub }))._unsafeUnwrap();
    expect(r.grub[0]).toEqual({
      kind: "grub.d",
      status: "installed",
      subvolume: "root",
      path: "/etc/grub.d/41_lifeboat",
    });
    const script = await readFile(path.join(m.top, "root/etc/grub.d/41_lifeboat"), "utf8");
    expect(script).toContain(
      `linux ${RECOVERY_ENVIRONMENT_BOOT.kernel} console=ttyS0,115200 lifeboat.lang=de_DE\n`,
    );
    expect(script).toContain(
      `linux ${RECOVERY_ENVIRONMENT_BOOT.kernel} console=ttyS0,115200 lifeboat.lang=de_DE lifeboat.mode=factory-reset\n`,
    );
    expect(script).not.toContain("systemd.factory_reset");
    expect(script).not.toContain(`vmlinuz-${K}`);
    // The factory snapshot, taken after, holds the script too.
    expect(
      await readFile(path.join(m.top, ".lifeboat/factory/root/etc/grub.d/41_lifeboat"), "utf8"),
    ).toBe(script);
  });
});

/** GRUB's `${config_directory}` (a GRUB variable, not a template placeholder). */
const CONFIG_DIRECTORY = ["$", "{config_directory}"].join("");

describe("custom.cfg for hand-written GRUB configs (issue #16)", () => {
  const FS_UUID = "5b3e0c1a-1111-4222-8333-444455556666";
  let scratch: Scratch;
  let recoveryImage: string;
  beforeEach(async () => {
    requireTools("mkfs.ext4", "blkid", "grub-script-check");
    scratch = await Scratch.create();
    // The recovery filesystem as blkid sees it (an image file: no loop device needed).
    recoveryImage = scratch.path("recovery.img");
    await writeFile(recoveryImage, Buffer.alloc(0));
    await sh("truncate", ["-s", "8M", recoveryImage]);
    await sh("mkfs.ext4", ["-q", "-F", "-L", "LIFEBOAT", "-U", FS_UUID, recoveryImage]);
  });
  afterEach(async () => {
    await scratch.cleanup();
  });

  /** A system root (with or without /etc/grub.d) and a /boot holding `files`. */
  async function system(grubD: boolean, files: Record<string, string>) {
    const top = scratch.path("top");
    await mkdir(path.join(top, "root/etc"), { recursive: true });
    if (grubD) await mkdir(path.join(top, "root/etc/grub.d"));
    const boot = scratch.path("boot");
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(boot, rel)), { recursive: true });
      await writeFile(path.join(boot, rel), text);
    }
    await mkdir(boot, { recursive: true });
    return { top, boot };
  }

  const DEBIAN_CFG = `set timeout=5
search --no-floppy --fs-uuid --set=root 0000-boot
menuentry 'Debian GNU/Linux' {
  linux /vmlinuz-6.1.0-18-amd64 root=UUID=1 rootflags=subvol=root ro
  initrd /initrd.img-6.1.0-18-amd64
}
source $prefix/custom.cfg
`;

  it("Debian, hand-written grub.cfg sourcing $prefix/custom.cfg, no /etc/grub.d: the block is written beside it, the file's own lines kept; again: unchanged", async () => {
    const mine = "# my entry\nmenuentry 'Memtest' {\n  linux16 /memtest86+x64.bin\n}\n";
    const s = await system(false, { "grub/grub.cfg": DEBIAN_CFG, "grub/custom.cfg": mine });
    const run = () =>
      provisionCustomCfg(runner, {
        ...s,
        grub: { recoveryKernelArgs: ["console=ttyS0,115200"] },
        recovery: { device: recoveryImage },
      });
    expect((await run())._unsafeUnwrap()).toEqual([
      {
        kind: "custom.cfg",
        status: "installed",
        path: "/boot/grub/custom.cfg",
        grubCfg: "/boot/grub/grub.cfg",
        sourced: true,
        recoveryFsUuid: FS_UUID,
        detail: expect.stringContaining('GRUB shows "Recovery options"'),
      },
    ]);
    const text = await readFile(path.join(s.boot, "grub/custom.cfg"), "utf8");
    expect(text.startsWith(mine)).toBe(true);
    expect(text).toContain(`search --no-floppy --fs-uuid --set=root ${FS_UUID}`);
    expect(text).toContain("search --no-floppy --label --set=root LIFEBOAT");
    expect(text).toContain(
      `linux ${RECOVERY_ENVIRONMENT_BOOT.kernel} console=ttyS0,115200 lifeboat.mode=factory-reset\n`,
    );
    expect((await run())._unsafeUnwrap()[0]).toMatchObject({ status: "unchanged" });
    expect(await readFile(path.join(s.boot, "grub/custom.cfg"), "utf8")).toBe(text);
    // The whole file as GRUB reads it: grub.cfg, then custom.cfg.
    await sh("grub-script-check", [path.join(s.boot, "grub/custom.cfg")]);
  });

  it("Fedora naming, a hand-written grub2/grub.cfg with `if [ -f $config_directory/custom.cfg ]`: written into grub2/, even with /etc/grub.d", async () => {
    const cfg = `set timeout=5\nif [ -f ${CONFIG_DIRECTORY}/custom.cfg ]; then\n  source ${CONFIG_DIRECTORY}/custom.cfg\nfi\n`;
    const s = await system(true, { "grub2/grub.cfg": cfg });
    const r = await provisionCustomCfg(runner, {
      ...s,
      grub: {},
      recovery: { device: recoveryImage },
    });
    expect(r._unsafeUnwrap()).toMatchObject([
      { kind: "custom.cfg", status: "installed", path: "/boot/grub2/custom.cfg", sourced: true },
    ]);
  });

  it("grub-mkconfig's grub.cfg with /etc/grub.d: skipped (the grub.d script brings the entries; no duplicates)", async () => {
    const generated = `### BEGIN /etc/grub.d/00_header ###\nset timeout=5\n### END /etc/grub.d/00_header ###\n### BEGIN /etc/grub.d/41_custom ###\nif [ -f  ${CONFIG_DIRECTORY}/custom.cfg ]; then\n  source ${CONFIG_DIRECTORY}/custom.cfg\nfi\n### END /etc/grub.d/41_custom ###\n`;
    const s = await system(true, { "grub2/grub.cfg": generated });
    const r = await provisionCustomCfg(runner, {
      ...s,
      grub: {},
      recovery: { device: recoveryImage },
    });
    expect(r._unsafeUnwrap()).toMatchObject([
      { kind: "custom.cfg", status: "skipped", reason: "grub-d" },
    ]);
  });

  it("no /etc/grub.d and a grub.cfg that reads no custom.cfg: written, and the detail says the line to add", async () => {
    const s = await system(false, { "grub/grub.cfg": "set timeout=5\n" });
    const r = await provisionCustomCfg(runner, {
      ...s,
      grub: {},
      recovery: { device: recoveryImage },
    });
    expect(r._unsafeUnwrap()).toMatchObject([
      {
        kind: "custom.cfg",
        status: "installed",
        sourced: false,
        detail: expect.stringContaining(`source ${CONFIG_DIRECTORY}/custom.cfg`),
      },
    ]);
  });

  it("no /etc/grub.d and no grub.cfg: skipped, saying so", async () => {
    const s = await system(false, {});
    const r = await provisionCustomCfg(runner, {
      ...s,
      grub: {},
      recovery: { device: recoveryImage },
    });
    expect(r._unsafeUnwrap()).toMatchObject([
      { kind: "custom.cfg", status: "skipped", reason: "no-grub-cfg" },
    ]);
  });

  it("sourcesCustomCfg and madeByGrubMkconfig read the lines that count", () => {
    expect(sourcesCustomCfg("source $prefix/custom.cfg")).toBe(true);
    expect(sourcesCustomCfg(`if [ -f ${CONFIG_DIRECTORY}/custom.cfg ]; then`)).toBe(true);
    expect(sourcesCustomCfg("  configfile (hd0,gpt2)/grub/custom.cfg")).toBe(true);
    expect(sourcesCustomCfg("# source $prefix/custom.cfg")).toBe(false);
    expect(sourcesCustomCfg("source $prefix/my-custom.cfg.bak")).toBe(false);
    expect(madeByGrubMkconfig("### BEGIN /etc/grub.d/10_linux ###")).toBe(true);
    expect(madeByGrubMkconfig("set timeout=5")).toBe(false);
  });
});
