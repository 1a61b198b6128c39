// `lifeboat reset schedule|unschedule|run-scheduled` in process, now a thin layer over
// @lifeboat/reset's scheduleResetOn / cancelScheduledReset / readScheduledReset: on a
// loop-backed disk provisioned by the real CLI, opened with openMachine (its top level and
// /boot mounted; a grub2/ directory added so the custom.cfg block and grubenv are written).
// Schedule gives the schema's document and writes the request with its digest, the unit and
// its links, the BLS entry, the menu block and next_entry; run-scheduled with another digest
// is PRECONDITION_FAILED and does nothing; unschedule removes all of it; a mode that cannot be
// scheduled is CLI_USAGE. Needs root, loop devices, grub-script-check.
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { type Machine, openMachine } from "@lifeboat/reset";
import { JOURNAL_FILE, ROOT_SUBVOLUME, SCHEDULED_REQUEST } from "@lifeboat/reset/layout";
import { attachLoop, requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { resetScheduleDataSchema, resetUnscheduleDataSchema } from "../src/json-schemas.js";
import {
  cliJson,
  cliJsonFailure,
  ensureBuilt,
  keygen,
  provisionSmall,
  runner,
  smallDisk,
} from "./support.js";

let scratch: Scratch;
let machine: Machine;
let top: string;
let boot: string;

beforeAll(async () => {
  requireTools("grub-script-check");
  ensureBuilt();
  scratch = await Scratch.create("cli-reset-schedule-");
  const image = await smallDisk(scratch);
  provisionSmall(image, keygen(scratch).privateKey);
  const loop = await attachLoop(scratch, image);
  const runDirectory = scratch.path("run");
  await mkdir(runDirectory);
  machine = (await openMachine(runner, { disk: loop, runDirectory }))._unsafeUnwrap();
  scratch.defer(() => machine.close());
  top = machine.top ?? "";
  boot = machine.boot ?? "";
  await mkdir(path.join(boot, "grub2"), { recursive: true });
}, 300_000);

afterAll(async () => {
  await scratch?.cleanup();
});

const where = () => ["--system-root", path.join(top, ROOT_SUBVOLUME), "--boot", boot];

test("schedule writes request, unit, entry, menu block and next_entry; run-scheduled with another digest runs nothing and lets go of the entry; unschedule removes it all", async () => {
  const d = cliJson(
    ["reset", "schedule", ...where(), "--stamp", "20261205T090000Z"],
    resetScheduleDataSchema.options[0],
  );
  expect(d.request).toEqual({ kind: "reset-keep-home", stamp: "20261205T090000Z" });
  expect(d.requestPath).toBe(SCHEDULED_REQUEST);
  expect(d.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(d.plannedNow.kind).toBe("reset-keep-home");
  expect(d.wantedBy).toHaveLength(3);
  expect(d.menuFile).toBe(path.join(boot, "grub2/custom.cfg"));
  expect(d.grubenv).toBe(path.join(boot, "grub2/grubenv"));
  expect(d.nextEntry).toBe("lifeboat-factory-reset");
  expect(JSON.parse(await readFile(path.join(top, SCHEDULED_REQUEST), "utf8"))).toEqual(d.request);
  const unit = await readFile(
    path.join(top, ROOT_SUBVOLUME, "etc/systemd/system/lifeboat-factory-reset.service"),
    "utf8",
  );
  expect(unit).toContain(`reset run-scheduled --digest ${d.digest}`);
  const armed = await readFile(path.join(boot, "grub2/grubenv"), "utf8");
  expect(armed).toContain("next_entry=lifeboat-factory-reset\n");
  expect(armed).toContain("saved_entry=lifeboat-factory-reset\n");

  const wrong = cliJsonFailure([
    "reset",
    "run-scheduled",
    ...where(),
    "--digest",
    `sha256:${"0".repeat(64)}`,
  ]);
  expect(wrong.code).not.toBe(0);
  expect(wrong.doc.error.code).toBe("PRECONDITION_FAILED");
  expect(existsSync(path.join(top, SCHEDULED_REQUEST))).toBe(true);
  expect(existsSync(path.join(top, JOURNAL_FILE))).toBe(false);
  // It will never run that request: later boots no longer take the reset entry.
  expect(await readFile(path.join(boot, "grub2/grubenv"), "utf8")).not.toContain("lifeboat");

  const u = cliJson(["reset", "unschedule", ...where()], resetUnscheduleDataSchema);
  expect(u.removed[0]).toBe(SCHEDULED_REQUEST);
  // request, unit and its 3 links, BLS entry, custom.cfg block (grubenv was let go of above)
  expect(u.removed).toHaveLength(7);
  expect(existsSync(path.join(top, SCHEDULED_REQUEST))).toBe(false);
  expect(await readFile(path.join(boot, "grub2/grubenv"), "utf8")).not.toContain("next_entry=");
  expect(cliJson(["reset", "unschedule", ...where()], resetUnscheduleDataSchema).removed).toEqual(
    [],
  );
});

test("a mode that cannot be scheduled, or --disk without --via-service, is CLI_USAGE (exit 2), nothing written", () => {
  for (const args of [
    ["reset", "schedule", ...where(), "--mode", "cleanup"],
    ["reset", "schedule", ...where(), "--disk", "/dev/loop0"],
  ]) {
    const r = cliJsonFailure(args);
    expect(r.code, args.join(" ")).toBe(2);
    expect(r.doc.error.code).toBe("CLI_USAGE");
  }
  expect(existsSync(path.join(top, SCHEDULED_REQUEST))).toBe(false);
});
