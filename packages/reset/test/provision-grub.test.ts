import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/recovery-env";
import { createBtrfs, requireRoot, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { provision } from "../src/index.js";

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

  it("a /boot without loader/entries: skipped with the reason, the factory snapshot still taken (no ENOENT)", async () => {
    const m = await machine(scratch, async () => {});
    const r = (await provision(runner, { ...m, grub: {} }))._unsafeUnwrap();
    expect(r.grub).toEqual([
      {
        kind: "grub.d",
        status: "skipped",
        reason: "no-bls-directory",
        detail: expect.stringContaining("/boot has no loader/entries"),
      },
    ]);
    expect(r.boot.kernelVersions).toEqual([K]);
  });

  it("an empty loader/entries: skipped with the reason, never silently", async () => {
    const m = await machine(scratch, (boot) =>
      mkdir(path.join(boot, "loader/entries"), { recursive: true }),
    );
    const r = (await provision(runner, { ...m, grub: {} }))._unsafeUnwrap();
    expect(r.grub).toMatchObject([{ status: "skipped", reason: "no-bls-entries" }]);
  });

  it("no grub option: reported as not requested", async () => {
    const m = await machine(scratch, async () => {});
    const r = (await provision(runner, m))._unsafeUnwrap();
    expect(r.grub).toMatchObject([{ status: "skipped", reason: "not-requested" }]);
  });

  it("with a BLS entry: the grub.d script in root (named inside the subvolume), recovery kernel arguments in it, checked by grub-script-check", async () => {
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
    expect(r.grub).toEqual([
      {
        kind: "grub.d",
        status: "installed",
        subvolume: "root",
        path: "/etc/grub.d/41_lifeboat",
        systemEntry: `loader/entries/abc-${K}.conf`,
      },
    ]);
    const script = await readFile(path.join(m.top, "root/etc/grub.d/41_lifeboat"), "utf8");
    expect(script).toContain(
      `linux ${RECOVERY_ENVIRONMENT_BOOT.kernel} console=ttyS0,115200 lifeboat.lang=de_DE`,
    );
    // The factory snapshot, taken after, holds the script too.
    expect(
      await readFile(path.join(m.top, ".lifeboat/factory/root/etc/grub.d/41_lifeboat"), "utf8"),
    ).toBe(script);
  });
});
