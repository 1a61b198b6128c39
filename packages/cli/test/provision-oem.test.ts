/**
 * The OEM path's defects from issue #16, through the real binary: GRUB
 * integration on a /boot without BLS entries, configurable recovery kernel
 * arguments, a recovery partition without a filesystem, and messages that
 * name paths that still exist after the command.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/core/layout";
import { openMachine } from "@lifeboat/reset";
import { createBtrfs, partitionsOf, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  grubInstallDataSchema,
  grubRenderDataSchema,
  imageKeygenDataSchema,
  provisionDataSchema,
} from "../src/json-schemas.js";
import { cli, cliJson, cliJsonFailure, ensureBuilt, KVER, runner, smallDisk } from "./support.js";

let scratch: Scratch;
let top: string;

async function bootDir(name: string, entries: "none" | "empty" | "one"): Promise<string> {
  const boot = scratch.path(name);
  await mkdir(boot, { recursive: true });
  await writeFile(path.join(boot, `vmlinuz-${KVER}`), "kernel\n");
  await writeFile(path.join(boot, `initramfs-${KVER}.img`), "initramfs\n");
  if (entries !== "none") await mkdir(path.join(boot, "loader/entries"), { recursive: true });
  if (entries === "one")
    await writeFile(
      path.join(boot, `loader/entries/abc-${KVER}.conf`),
      `title Fedora\nlinux /vmlinuz-${KVER}\ninitrd /initramfs-${KVER}.img\noptions root=UUID=1 rootflags=subvol=root ro\n`,
    );
  return boot;
}

const provisionArgs = (boot: string, ...more: string[]) => [
  "provision",
  "--top",
  top,
  "--boot",
  boot,
  "--product",
  "P",
  "--build",
  "B",
  ...more,
];

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-oem-");
  const fs = await createBtrfs(scratch, { bytes: 256 * 1024 ** 2 });
  top = fs.mountpoint;
  await sh("btrfs", ["-q", "subvolume", "create", path.join(top, "root")]);
  await mkdir(path.join(top, "root/etc/grub.d"), { recursive: true });
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("provision and grub on a /boot without BLS entries (issue #16)", () => {
  it("provision on a /boot without loader/entries: the grub.d script is installed (no system kernel needed), every integration said, in --json and in words", async () => {
    const boot = await bootDir("boot-none", "none");
    const p = cliJson(provisionArgs(boot), provisionDataSchema);
    expect(p.grub).toEqual([
      {
        kind: "grub.d",
        status: expect.stringMatching(/^(installed|unchanged)$/),
        subvolume: "root",
        path: "/etc/grub.d/41_lifeboat",
      },
      expect.objectContaining({ kind: "custom.cfg", status: "skipped", reason: "grub-d" }),
      // No grub-mkconfig in this root: said, not run.
      expect.objectContaining({
        kind: "grub-mkconfig",
        status: "skipped",
        reason: "no-grub-mkconfig",
      }),
    ]);
    const human = cli(provisionArgs(boot));
    expect(human.code).toBe(0);
    expect(human.stdout + human.stderr).toContain(
      "GRUB grub.d script /etc/grub.d/41_lifeboat in subvolume root",
    );
    expect(human.stdout + human.stderr).toContain("GRUB custom.cfg skipped:");
    expect(human.stdout + human.stderr).toContain("GRUB grub-mkconfig skipped:");
    expect(human.stdout + human.stderr).not.toMatch(/ENOENT|scandir/);
  });

  it("grub render needs no /boot: both entries boot the recovery environment", async () => {
    const boot = await bootDir("boot-none-render", "none");
    const g = cliJson(["grub", "render", "--boot", boot], grubRenderDataSchema);
    expect(g.sampleOutput).toContain("linux /environment/vmlinuz lifeboat.mode=factory-reset\n");
    expect(g.sampleOutput).not.toContain("systemd.factory_reset");
    execFileSync("grub-script-check", [], { input: g.sampleOutput });
  });

  it("grub install into a system without /etc/grub.d: CLI_USAGE pointing to custom.cfg, no raw ENOENT; with it: installed", async () => {
    const root = scratch.path("root-without-grub-d");
    await mkdir(root, { recursive: true });
    const r = cliJsonFailure(["grub", "install", "--root", root]);
    expect(r.doc.error.code).toBe("CLI_USAGE");
    expect(r.doc.error.message).toContain("custom.cfg");
    expect(JSON.stringify(r.doc)).not.toMatch(/ENOENT/);
    await mkdir(path.join(root, "etc/grub.d"), { recursive: true });
    const ok = cliJson(["grub", "install", "--root", root], grubInstallDataSchema);
    expect(ok).toMatchObject({ path: path.join(root, "etc/grub.d/41_lifeboat"), changed: true });
    expect(await readFile(ok.path, "utf8")).toContain("lifeboat.mode=factory-reset");
  });

  it("grub render --recovery-fs-uuid prints the GRUB text of the custom.cfg block", () => {
    const uuid = "5b3e0c1a-1111-4222-8333-444455556666";
    const g = cliJson(["grub", "render", "--recovery-fs-uuid", uuid], grubRenderDataSchema);
    expect(g.script).toContain(`search --no-floppy --fs-uuid --set=root ${uuid}`);
    expect(g.script).toMatch(/^### BEGIN lifeboat/);
    execFileSync("grub-script-check", [], { input: g.script });
  });
});

describe("recovery entry kernel arguments (issue #16)", () => {
  it("provision --recovery-args puts them on both entries; the message names the script inside the subvolume", async () => {
    const boot = await bootDir("boot-one", "one");
    const args = provisionArgs(boot, "--recovery-args", "console=ttyS0,115200 lifeboat.lang=de_DE");
    const p = cliJson(args, provisionDataSchema);
    expect(p.grub[0]).toEqual({
      kind: "grub.d",
      status: expect.stringMatching(/^(installed|unchanged)$/),
      subvolume: "root",
      path: "/etc/grub.d/41_lifeboat",
    });
    const script = await readFile(path.join(top, "root/etc/grub.d/41_lifeboat"), "utf8");
    expect(script).toContain(
      `linux ${RECOVERY_ENVIRONMENT_BOOT.kernel} console=ttyS0,115200 lifeboat.lang=de_DE`,
    );
    const human = cli(args);
    expect(human.stdout).toContain("GRUB grub.d script /etc/grub.d/41_lifeboat in subvolume root");
  });

  it("grub render --recovery-args: rendered, and the output passes grub-script-check", () => {
    const g = cliJson(
      ["grub", "render", "--recovery-args", "console=ttyS0,115200"],
      grubRenderDataSchema,
    );
    expect(g.sampleOutput).toContain("linux /environment/vmlinuz console=ttyS0,115200");
    execFileSync("grub-script-check", [], { input: g.sampleOutput });
  });

  it("a tab or line break in --recovery-args is GRUB_BAD_KERNEL_ARGS, nothing written", async () => {
    const boot = await bootDir("boot-bad-args", "one");
    for (const bad of ["console=ttyS0\tquiet", "quiet\nsingle"]) {
      const r = cliJsonFailure(provisionArgs(boot, "--recovery-args", bad));
      expect(r.doc.error.code).toBe("GRUB_BAD_KERNEL_ARGS");
    }
  });
});

describe("a recovery partition without a filesystem (issue #16)", () => {
  it("provision --key says exactly what to run; after running it, provision installs the image", async () => {
    const disk = await smallDisk(scratch, "unformatted.img");
    const keys = cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
    const rec = (await partitionsOf(disk)).find(
      (p) => p.type === "d999c366-3126-4451-b3c1-be31e091158c",
    );
    if (!rec) throw new Error("no recovery partition in the test disk");
    // Wipe the recovery filesystem: a partition as `gpt add-recovery --no-format` leaves it.
    const loop = (
      await sh("losetup", [
        "--find",
        "--show",
        "--offset",
        String(rec.offsetBytes),
        "--sizelimit",
        String(rec.sizeBytes),
        disk,
      ])
    ).trim();
    try {
      await sh("wipefs", ["-q", "-a", loop]);
    } finally {
      await sh("losetup", ["-d", loop]);
    }
    const args = [
      "provision",
      "--disk",
      disk,
      "--product",
      "P",
      "--build",
      "B",
      "--key",
      keys.privateKey,
      "--no-recovery-env",
    ];

    const r = cliJsonFailure(args);
    expect(r.doc.error.code).toBe("CLI_RECOVERY_UNFORMATTED");
    const fix = (r.doc.error as { fix?: string }).fix ?? "";
    expect(fix).toContain(`--offset ${rec.offsetBytes} --sizelimit ${rec.sizeBytes}`);
    expect(r.doc.error.message).not.toContain("give --key");
    execFileSync("sh", ["-c", fix]);

    const p = cliJson(args, provisionDataSchema);
    expect(p.recovery?.setId).toMatch(/^P-B-[0-9a-f]{12}$/);
    expect(p.recoverySkipped).toBeNull();

    // Messages name files as they stay: the partition and the path in it, not a mount directory.
    // The test disk's largest partition is its Btrfs.
    const last = (await partitionsOf(disk)).sort((a, b) => Number(b.sizeBytes - a.sizeBytes))[0];
    if (!last) throw new Error("no partitions in the test disk");
    const btrfsLoop = (
      await sh("losetup", [
        "--find",
        "--show",
        "--offset",
        String(last.offsetBytes),
        "--sizelimit",
        String(last.sizeBytes),
        disk,
      ])
    ).trim();
    const mnt = scratch.path("btrfs-top");
    await mkdir(mnt, { recursive: true });
    try {
      await sh("mount", ["-o", "subvolid=5", btrfsLoop, mnt]);
      try {
        await writeFile(path.join(mnt, ".lifeboat/factory/manifest.json"), "{ not json");
      } finally {
        await sh("umount", [mnt]);
      }
    } finally {
      await sh("losetup", ["-d", btrfsLoop]);
    }
    const bad = cliJsonFailure(args);
    expect(bad.doc.error.code).toBe("RESET_MANIFEST_INVALID");
    const text = JSON.stringify(bad.doc.error).replaceAll(disk, "<disk>");
    expect(text).not.toMatch(/\/run\/lifeboat|\/tmp\/lifeboat/);
    expect((bad.doc.error as { path?: string }).path).toBe(
      `[Btrfs of ${disk}]/.lifeboat/factory/manifest.json`,
    );
  }, 600_000);
});

describe("custom.cfg beside a hand-written grub.cfg, through the binary (issue #16)", () => {
  /** With the disk opened by the SDK (partitions attached and mounted), then closed. */
  async function withMachine<T>(
    image: string,
    body: (m: { top: string; boot: string; recoveryDevice: string | undefined }) => Promise<T>,
  ): Promise<T> {
    const m = (await openMachine(runner, { disk: image }))._unsafeUnwrap();
    try {
      if (!m.top || !m.boot) throw new Error("the test disk has no Btrfs or /boot");
      return await body({ top: m.top, boot: m.boot, recoveryDevice: m.devices.recovery });
    } finally {
      await m.close();
    }
  }

  it("Fedora naming, /etc/grub.d and a hand-written grub2/grub.cfg that sources custom.cfg: both written, custom.cfg names the recovery filesystem; again: unchanged", async () => {
    const disk = await smallDisk(scratch, "custom-cfg.img");
    const keys = cliJson(
      ["image", "keygen", "--out", scratch.path("keys-custom")],
      imageKeygenDataSchema,
    );
    const mine = "menuentry 'Firmware setup' {\n  fwsetup\n}\n";
    const recoveryUuid = await withMachine(disk, async ({ top, boot, recoveryDevice }) => {
      await mkdir(path.join(top, "root/etc/grub.d"), { recursive: true });
      await mkdir(path.join(boot, "grub2"), { recursive: true });
      await writeFile(
        path.join(boot, "grub2/grub.cfg"),
        // biome-ignore lint/suspicious/noTemplateCurlyInString: GRUB's own ${…}, not a template
        "set timeout=3\nif [ -f ${config_directory}/custom.cfg ]; then\n  source ${config_directory}/custom.cfg\nfi\n",
      );
      await writeFile(path.join(boot, "grub2/custom.cfg"), mine);
      if (!recoveryDevice) throw new Error("no recovery partition in the test disk");
      return (await sh("blkid", ["-p", "-s", "UUID", "-o", "value", recoveryDevice])).trim();
    });
    const args = [
      "provision",
      "--disk",
      disk,
      "--product",
      "P",
      "--build",
      "B",
      "--key",
      keys.privateKey,
      "--no-recovery-env",
      "--recovery-args",
      "console=ttyS0,115200",
    ];
    const p = cliJson(args, provisionDataSchema);
    expect(p.grub).toEqual([
      { kind: "grub.d", status: "installed", subvolume: "root", path: "/etc/grub.d/41_lifeboat" },
      {
        kind: "custom.cfg",
        status: "installed",
        path: "/boot/grub2/custom.cfg",
        grubCfg: "/boot/grub2/grub.cfg",
        sourced: true,
        recoveryFsUuid: recoveryUuid,
        detail: expect.stringContaining("reads it"),
      },
      // The script is installed, but this root has no grub-mkconfig to run.
      expect.objectContaining({
        kind: "grub-mkconfig",
        status: "skipped",
        reason: "no-grub-mkconfig",
      }),
    ]);
    const text = await withMachine(disk, ({ boot }) =>
      readFile(path.join(boot, "grub2/custom.cfg"), "utf8"),
    );
    expect(text.startsWith(mine)).toBe(true);
    expect(text).toContain(`search --no-floppy --fs-uuid --set=root ${recoveryUuid}`);
    expect(text).toContain(
      "linux /environment/vmlinuz console=ttyS0,115200 lifeboat.mode=factory-reset\n",
    );
    execFileSync("grub-script-check", [], { input: text });
    const again = cliJson(args, provisionDataSchema);
    expect(again.grub.map((g) => `${g.kind} ${g.status}`)).toEqual([
      "grub.d unchanged",
      "custom.cfg unchanged",
      "grub-mkconfig skipped",
    ]);
    const human = cli(args);
    expect(human.stdout).toContain(
      `GRUB custom.cfg /boot/grub2/custom.cfg (unchanged; recovery filesystem UUID ${recoveryUuid})`,
    );
  }, 600_000);
});
