import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  cancelScheduledReset,
  findBaseEntry,
  grubMenuFileFor,
  parseScheduledRequest,
  readScheduledReset,
  renderResetUnit,
  type SystemState,
  scheduleReset,
  scheduleResetOn,
  unscheduleReset,
} from "../src/index.js";
import {
  RESET_ENTRY_ID,
  RESET_UNIT_WANTED_BY,
  SAVED_ENTRY_KEPT,
  SCHEDULED_REQUEST,
} from "../src/layout.js";
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

  it("schedules (menu block in custom.cfg, next_entry, saved_entry kept), is idempotent, and unschedules everything", async () => {
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
    const grubenv = path.join(m.boot, "grub2/grubenv");
    const listed = async () =>
      (await sh("grub-editenv", [grubenv, "list"])).split("\n").filter(Boolean).sort();
    // The system's own default (grub2-set-default), to be kept and given back.
    await sh("grub-editenv", [grubenv, "set", "saved_entry=abc-6.1.0-28-amd64"]);
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
    // grubenv written without grub-editenv; grub-editenv reads it. The reset entry is the
    // next boot's (next_entry) and stays the default (saved_entry) until run-scheduled starts;
    // scheduling twice did not take the system's own default for the reset's.
    expect(await listed()).toEqual([
      `${SAVED_ENTRY_KEPT}=abc-6.1.0-28-amd64`,
      `next_entry=${RESET_ENTRY_ID}`,
      `saved_entry=${RESET_ENTRY_ID}`,
    ]);

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
    expect(await listed()).toEqual(["saved_entry=abc-6.1.0-28-amd64"]);
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

describe("the scheduled request on the top level: parse, read back with its digest, cancel", () => {
  it("accepts only the kinds that can be scheduled, with a valid stamp", () => {
    expect(
      parseScheduledRequest({ kind: "reset-keep-home", stamp: "20261205T050000Z" }).isOk(),
    ).toBe(true);
    for (const bad of [
      { kind: "cleanup", stamp: "20261205T050000Z" },
      { kind: "reset-keep-home", stamp: "yesterday" },
      { kind: "reset-keep-home", stamp: "20261205T050000Z", extra: 1 },
      "reset-keep-home",
    ])
      expect(parseScheduledRequest(bad)._unsafeUnwrapErr().code).toBe("RESET_BAD_REQUEST");
  });

  it("reads nothing when none is scheduled, the request and digest when one is, refuses a changed file, and cancel removes it", async () => {
    const top = scratch.path("top");
    const boot = scratch.path("boot");
    await mkdir(path.join(top, ".lifeboat"), { recursive: true });
    await mkdir(path.join(boot, "loader/entries"), { recursive: true });
    expect((await readScheduledReset(top))._unsafeUnwrap()).toBeUndefined();
    const bytes = `${JSON.stringify({ kind: "full-restore", stamp: "20261205T050000Z" })}\n`;
    await writeFile(path.join(top, SCHEDULED_REQUEST), bytes);
    const found = (await readScheduledReset(top))._unsafeUnwrap();
    expect(found?.request).toEqual({ kind: "full-restore", stamp: "20261205T050000Z" });
    expect(found?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(
      (await readScheduledReset(top, { expectedDigest: found?.digest ?? "" }))._unsafeUnwrap(),
    ).toEqual(found);
    const wrong = (
      await readScheduledReset(top, { expectedDigest: `sha256:${"0".repeat(64)}` })
    )._unsafeUnwrapErr();
    expect(wrong.code).toBe("PRECONDITION_FAILED");
    await writeFile(path.join(top, SCHEDULED_REQUEST), "{not json");
    expect((await readScheduledReset(top))._unsafeUnwrapErr().code).toBe("RESET_BAD_REQUEST");
    const c = (await cancelScheduledReset(runner, { top, boot }))._unsafeUnwrap();
    expect(c.removed).toEqual([SCHEDULED_REQUEST]);
    expect((await cancelScheduledReset(runner, { top, boot }))._unsafeUnwrap().removed).toEqual([]);
  });

  it("finds the base entry and the GRUB menu file; scheduleResetOn refuses before writing anything", async () => {
    const m = await machine();
    expect(await findBaseEntry(runner, m.boot)).toBe(m.baseEntry);
    expect(await grubMenuFileFor(m.boot)).toBe("grub2/custom.cfg");
    await writeFile(path.join(m.boot, "grub2/grub.cfg"), "# blscfg\ninsmod blscfg\nblscfg\n");
    expect(await grubMenuFileFor(m.boot)).toBeUndefined();
    expect(await grubMenuFileFor(m.boot, "custom-cfg")).toBe("grub2/custom.cfg");
    const top = scratch.path("top2");
    await mkdir(top);
    const empty = scratch.path("emptyboot");
    await mkdir(empty);
    const state = {} as SystemState; // refused before the plan is made
    const noEntry = await scheduleResetOn(
      runner,
      { top, boot: empty, state },
      { request: { kind: "reset-keep-home", stamp: "20261205T050000Z" }, systemRoot: m.root },
    );
    expect(noEntry._unsafeUnwrapErr().code).toBe("PRECONDITION_FAILED");
    const badKind = await scheduleResetOn(
      runner,
      { top, boot: m.boot, state },
      {
        request: { kind: "cleanup", stamp: "x" } as never,
        systemRoot: m.root,
      },
    );
    expect(badKind._unsafeUnwrapErr().code).toBe("RESET_BAD_REQUEST");
    expect(await readdir(top)).toEqual([]);
  });
});
