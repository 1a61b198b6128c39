import { mkdir, readFile, readlink, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  attachLoop,
  createImageFile,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inspect, plan, renderPlan, renderResetUnit, scheduleReset } from "../src/index.js";
import { laptop } from "./fixtures.js";
import { runner } from "./support/machine.js";

let scratch: Scratch;
beforeEach(async () => {
  scratch = await Scratch.create("lifeboat-reset-sched-");
});
afterEach(async () => {
  await scratch.cleanup();
});

describe("scheduled reset at next boot", () => {
  it("renders a unit gated on systemd.factory_reset=1 that systemd accepts", async () => {
    const unit = renderResetUnit({
      execStart: [
        "/usr/bin/lifeboat",
        "reset",
        "resume",
        "--plan",
        "/var/lib/lifeboat/plan 1.json",
      ],
    })._unsafeUnwrap();
    expect(unit).toMatchInlineSnapshot(`
      "[Unit]
      Description=Lifeboat: run the scheduled factory reset
      Documentation=https://github.com/lifeboat/lifeboat/blob/main/docs/safety-model.md
      ConditionKernelCommandLine=systemd.factory_reset=1
      DefaultDependencies=no
      After=local-fs.target
      Before=sysinit.target factory-reset.target factory-reset-now.target shutdown.target
      Conflicts=shutdown.target
      SuccessAction=reboot

      [Service]
      Type=oneshot
      ExecStart=/usr/bin/lifeboat reset resume --plan "/var/lib/lifeboat/plan 1.json"
      StandardOutput=journal+console
      StandardError=journal+console
      TimeoutStartSec=infinity

      [Install]
      WantedBy=sysinit.target factory-reset.target factory-reset-now.target
      "
    `);
    const file = scratch.path("lifeboat-factory-reset.service");
    await writeFile(file, unit.replace("/usr/bin/lifeboat", "/bin/true"));
    requireTools("systemd-analyze");
    const r = await runner.run("systemd-analyze", ["verify", file]);
    // systemd-analyze may complain about the environment (no running systemd), never about our syntax
    const text = r.isOk()
      ? r.value.stderr
      : r.error.code === "COMMAND_FAILED"
        ? r.error.stderrTail
        : "";
    expect(text).not.toMatch(/lifeboat-factory-reset\.service:\d+/);
    expect(renderResetUnit({ execStart: ["lifeboat"] })._unsafeUnwrapErr().code).toBe(
      "INVALID_ARGUMENT",
    );
  });

  it("installs the unit for factory-reset.target and the GRUB (BLS) entry, next boot only", async () => {
    requireTools("grub-script-check", "grub-editenv");
    const root = scratch.path("sysroot");
    const boot = scratch.path("boot");
    await mkdir(path.join(boot, "loader/entries"), { recursive: true });
    await mkdir(path.join(boot, "grub2"), { recursive: true });
    await sh("grub-editenv", [path.join(boot, "grub2/grubenv"), "create"]);
    const base = "loader/entries/abc-6.8.5-301.fc40.x86_64.conf";
    await writeFile(
      path.join(boot, base),
      "title Fedora Linux 40\nversion 6.8.5-301.fc40.x86_64\nlinux /vmlinuz-6.8.5-301.fc40.x86_64\ninitrd /initramfs-6.8.5-301.fc40.x86_64.img\noptions root=UUID=1234 ro rootflags=subvol=root rhgb quiet\n",
    );
    const opts = {
      systemRoot: root,
      boot,
      baseEntry: base,
      execStart: ["/usr/bin/lifeboat", "reset", "resume"],
      nextBoot: true,
    };
    const r = (await scheduleReset(runner, opts))._unsafeUnwrap();
    (await scheduleReset(runner, opts))._unsafeUnwrap();
    expect(
      await readlink(
        path.join(
          root,
          "etc/systemd/system/factory-reset.target.wants/lifeboat-factory-reset.service",
        ),
      ),
    ).toBe("../lifeboat-factory-reset.service");
    const entry = await readFile(r.entryPath, "utf8");
    expect(entry).toMatch(
      /^options root=UUID=1234 ro rootflags=subvol=root rhgb quiet systemd\.factory_reset=1$/m,
    );
    expect(entry).toMatch(/^linux \/vmlinuz-6\.8\.5-301\.fc40\.x86_64$/m);
    expect(await sh("grub-editenv", [path.join(boot, "grub2/grubenv"), "list"])).toContain(
      "next_entry=lifeboat-factory-reset",
    );
  });
});

describe("LUKS: detection and planning on real LUKS headers", () => {
  it("finds a locked LUKS2 container, refuses to plan without it open, and flags it loudly when open", async () => {
    requireRoot();
    requireTools("cryptsetup", "sgdisk");
    const image = await createImageFile(scratch, "disk.img", 96 * 1024 * 1024);
    await sh("sgdisk", [
      "-o",
      "-n1:0:+16M",
      "-t1:ef00",
      "-n2:0:+32M",
      "-t2:8300",
      "-n3:0:0",
      "-t3:8309",
      image,
    ]);
    const parts = JSON.parse(await sh("sfdisk", ["-J", image])).partitiontable.partitions as Array<{
      start: number;
      size: number;
    }>;
    const p3 = parts[2]!;
    const dev = await attachLoop(scratch, image, {
      offset: p3.start * 512,
      sizeLimit: p3.size * 512,
    });
    const key = scratch.path("key");
    await writeFile(key, "correct horse battery staple");
    await sh("cryptsetup", [
      "luksFormat",
      "--batch-mode",
      "--type",
      "luks2",
      "--pbkdf",
      "pbkdf2",
      "--pbkdf-force-iterations",
      "1000",
      "--key-file",
      key,
      dev,
    ]);
    const state = (
      await inspect(runner, {
        disks: [{ device: image, partitions: [{ number: 3, device: dev }] }],
      })
    )._unsafeUnwrap();
    const luks = state.disks[0]?.partitions.find((p) => p.number === 3);
    expect(luks).toMatchObject({
      role: "luks",
      fsType: "crypto_LUKS",
      luks: { version: 2, openAs: undefined },
    });
    expect(luks?.luks?.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      plan(state, { kind: "reset-keep-home", stamp: "20261125T200000Z" })._unsafeUnwrapErr(),
    ).toEqual({
      code: "RESET_ENCRYPTED_LOCKED",
      message: `The system is inside the encrypted volume ${dev}; unlock it first.`,
      device: dev,
    });
    // Opened (as it would be in the QEMU guest): planning works on the mapping and says so loudly.
    const opened = laptop({
      disks: [
        {
          ...state.disks[0]!,
          partitions: state.disks[0]!.partitions.map((p) =>
            p.luks ? { ...p, luks: { ...p.luks, openAs: "/dev/mapper/luks-x" } } : p,
          ),
        },
      ],
      otherOses: [],
    });
    const text = renderPlan(
      plan(opened, { kind: "reset-keep-home", stamp: "20261125T200000Z" })._unsafeUnwrap(),
    );
    // Named by number and unique GUID (the plan's digest must not depend on device nodes).
    expect(text).toContain(
      `${luks?.name ? `Partition 3 "${luks.name}"` : "Partition 3"} (PARTUUID ${luks?.partUuid}) is an encrypted volume (LUKS2, open); the reset works inside it and keeps the encryption.`,
    );
    expect(text).not.toContain("/dev/");
  });
});
