import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  RESET_ENTRY_ID,
  RESET_UNIT_WANTED_BY,
  renderResetUnit,
  scheduleReset,
  unscheduleReset,
} from "../src/index.js";
import { runner } from "./support/machine.js";

let scratch: Scratch;
beforeEach(async () => {
  scratch = await Scratch.create("lifeboat-reset-sched2-");
});
afterEach(async () => {
  await scratch.cleanup();
});

const ENTRY =
  "title Debian 12\nversion 6.1.0-28-amd64\nlinux /vmlinuz-6.1.0-28-amd64\ninitrd /initrd.img-6.1.0-28-amd64\noptions root=UUID=1234 ro rootflags=subvol=root console=ttyS0,115200\n";

async function machine() {
  const root = scratch.path("sysroot");
  const boot = scratch.path("boot");
  await mkdir(path.join(boot, "loader/entries"), { recursive: true });
  await mkdir(path.join(boot, "grub2"), { recursive: true });
  await writeFile(path.join(boot, "loader/entries/abc-6.1.0-28-amd64.conf"), ENTRY);
  // A custom.cfg of the user's own, which the schedule must keep.
  await writeFile(path.join(boot, "grub2/custom.cfg"), "menuentry 'Mine' {\n  true\n}\n");
  return { root, boot, baseEntry: "loader/entries/abc-6.1.0-28-amd64.conf" };
}

describe("scheduled reset: unit, GRUB menu block, grubenv (no grub-editenv needed)", () => {
  it("renders a unit that can stay in the boot (afterwards: continue)", () => {
    const unit = renderResetUnit({
      execStart: ["/usr/bin/lifeboat", "reset", "run-scheduled"],
      afterwards: "continue",
    })._unsafeUnwrap();
    expect(unit).not.toMatch(/SuccessAction/);
    expect(unit).toMatch(/^WantedBy=sysinit\.target factory-reset\.target /m);
  });

  it("schedules (menu block in custom.cfg, next_entry), is idempotent, and unschedules everything", async () => {
    requireTools("grub-script-check", "grub-editenv");
    const m = await machine();
    const opts = {
      systemRoot: m.root,
      boot: m.boot,
      baseEntry: m.baseEntry,
      execStart: ["/usr/bin/lifeboat", "reset", "run-scheduled", "--digest", "sha256:ab"],
      nextBoot: true,
      menuFile: "grub2/custom.cfg",
      bootFsUuid: "5a1f-uuid",
    };
    (await scheduleReset(runner, opts))._unsafeUnwrap();
    const r = (await scheduleReset(runner, opts))._unsafeUnwrap();
    expect(r.wantedBy.map((l) => path.basename(path.dirname(l)))).toEqual(
      RESET_UNIT_WANTED_BY.map((t) => `${t}.wants`),
    );
    const custom = await readFile(path.join(m.boot, "grub2/custom.cfg"), "utf8");
    expect(custom.startsWith("menuentry 'Mine' {")).toBe(true);
    expect(custom.match(/### BEGIN lifeboat-factory-reset/g)).toHaveLength(1);
    expect(custom).toMatch(
      /linux \/vmlinuz-6\.1\.0-28-amd64 root=UUID=1234 ro rootflags=subvol=root console=ttyS0,115200 systemd\.factory_reset=1/,
    );
    expect(custom).toMatch(/--id lifeboat-factory-reset|--id 'lifeboat-factory-reset'/);
    await sh("grub-script-check", [path.join(m.boot, "grub2/custom.cfg")]);
    // grubenv was created without grub-editenv; grub-editenv reads it.
    expect(await sh("grub-editenv", [path.join(m.boot, "grub2/grubenv"), "list"])).toBe(
      `next_entry=${RESET_ENTRY_ID}\n`,
    );

    const u = (
      await unscheduleReset(runner, {
        systemRoot: m.root,
        boot: m.boot,
        menuFile: "grub2/custom.cfg",
      })
    )._unsafeUnwrap();
    expect(u.removed.length).toBe(7);
    // custom.cfg had a menu of its own: kept without the block.
    expect(await readFile(path.join(m.boot, "grub2/custom.cfg"), "utf8")).toBe(
      "menuentry 'Mine' {\n  true\n}\n",
    );
    expect(await sh("grub-editenv", [path.join(m.boot, "grub2/grubenv"), "list"])).toBe("");
    expect(await readdir(path.join(m.boot, "loader/entries"))).toEqual(["abc-6.1.0-28-amd64.conf"]);
    expect(await readdir(path.join(m.root, "etc/systemd/system/sysinit.target.wants"))).toEqual([]);
    // Nothing left: a second unschedule removes nothing.
    expect(
      (await unscheduleReset(runner, { systemRoot: m.root, boot: m.boot }))._unsafeUnwrap().removed,
    ).toEqual([]);
  });

  it("removes a custom.cfg that held only the reset entry (grub-script-check refuses an empty script)", async () => {
    requireTools("grub-script-check");
    const m = await machine();
    await rm(path.join(m.boot, "grub2/custom.cfg"));
    const opts = {
      systemRoot: m.root,
      boot: m.boot,
      baseEntry: m.baseEntry,
      execStart: ["/usr/bin/lifeboat", "reset", "run-scheduled"],
      menuFile: "grub2/custom.cfg",
    };
    (await scheduleReset(runner, opts))._unsafeUnwrap();
    expect(await readdir(path.join(m.boot, "grub2"))).toContain("custom.cfg");
    (await unscheduleReset(runner, { boot: m.boot, menuFile: "grub2/custom.cfg" }))._unsafeUnwrap();
    expect(await readdir(path.join(m.boot, "grub2"))).not.toContain("custom.cfg");
  });
});
