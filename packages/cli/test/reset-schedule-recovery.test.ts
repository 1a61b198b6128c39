// `lifeboat reset schedule|unschedule --in-recovery --disk <image>` on a small disk provisioned
// by the real CLI (issue #16): the plan is made, the request and the GRUB fragment are written on
// the recovery partition (checked by mounting it), the text says how it is undone; unschedule
// removes both; a request that cannot be planned, or systemd-path options, change nothing.
// Needs root, loop devices, grub-script-check.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { RECOVERY_SCHEDULE } from "@lifeboat/core/layout";
import { openMachine } from "@lifeboat/reset";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { resetScheduleDataSchema, resetUnscheduleDataSchema } from "../src/json-schemas.js";
import {
  cli,
  cliJson,
  cliJsonFailure,
  ensureBuilt,
  keygen,
  provisionSmall,
  runner,
  smallDisk,
} from "./support.js";

let scratch: Scratch;
let image: string;

beforeAll(async () => {
  requireTools("grub-script-check");
  ensureBuilt();
  scratch = await Scratch.create("cli-reset-schedule-recovery-");
  image = await smallDisk(scratch);
  provisionSmall(image, keygen(scratch).privateKey);
}, 300_000);

afterAll(async () => {
  await scratch?.cleanup();
});

/** The recovery partition's schedule files, read with the disk opened read-only. */
async function scheduleFiles(): Promise<{ request?: string; fragment?: string }> {
  const m = (
    await openMachine(runner, { disk: image, runDirectory: scratch.path("run-check") })
  )._unsafeUnwrap();
  try {
    const root = m.recoveryRoot ?? "";
    const read = (rel: string) => {
      const file = path.join(root, rel);
      return existsSync(file) ? readFile(file, "utf8") : Promise.resolve(undefined);
    };
    const request = await read(RECOVERY_SCHEDULE.request);
    const fragment = await read(RECOVERY_SCHEDULE.grubFragment);
    return {
      ...(request === undefined ? {} : { request }),
      ...(fragment === undefined ? {} : { fragment }),
    };
  } finally {
    await m.close();
  }
}

test("schedule --in-recovery plans the request and writes it with its digest and the GRUB fragment; unschedule removes both", async () => {
  const d = cliJson(
    ["reset", "schedule", "--in-recovery", "--disk", image, "--stamp", "20261205T100000Z"],
    resetScheduleDataSchema.options[1],
  );
  expect(d.runsIn).toBe("recovery-environment");
  expect(d.request).toEqual({ kind: "reset-keep-home", stamp: "20261205T100000Z" });
  expect(d.requestPath).toBe(`/${RECOVERY_SCHEDULE.request}`);
  expect(d.grubFragment).toBe(`/${RECOVERY_SCHEDULE.grubFragment}`);
  expect(d.entryId).toBe(RECOVERY_SCHEDULE.entryId);
  expect(d.plannedNow).toMatchObject({ action: "reset", kind: "reset-keep-home" });
  const files = await scheduleFiles();
  expect(JSON.parse(files.request ?? "")).toEqual(d.request);
  expect(
    `sha256:${createHash("sha256")
      .update(files.request ?? "")
      .digest("hex")}`,
  ).toBe(d.digest);
  expect(files.fragment).toContain(`set ${RECOVERY_SCHEDULE.digestVariable}=${d.digest}\n`);

  // The text a person reads: what runs, and how to undo it.
  const text = stripVTControlCharacters(
    cli(["reset", "schedule", "--in-recovery", "--disk", image, "--stamp", "20261205T100001Z"])
      .stdout,
  );
  expect(text).toContain(
    "A reset-keep-home reset is scheduled to run unattended in the recovery environment at the next boot.",
  );
  expect(text).toContain(`lifeboat reset unschedule --in-recovery --disk ${image}`);
  // Scheduling again replaces the request.
  expect(JSON.parse((await scheduleFiles()).request ?? "").stamp).toBe("20261205T100001Z");

  const u = cliJson(
    ["reset", "unschedule", "--in-recovery", "--disk", image],
    resetUnscheduleDataSchema,
  );
  expect(u.removed).toEqual([
    `/${RECOVERY_SCHEDULE.grubFragment}`,
    `/${RECOVERY_SCHEDULE.request}`,
  ]);
  expect(await scheduleFiles()).toEqual({});
  expect(
    cliJson(["reset", "unschedule", "--in-recovery", "--disk", image], resetUnscheduleDataSchema)
      .removed,
  ).toEqual([]);
}, 120_000);

test("--in-recovery without --disk, with systemd-path options or a mode that cannot be scheduled is CLI_USAGE; nothing written", async () => {
  for (const [args, message] of [
    [["reset", "schedule", "--in-recovery"], /^give --disk <device\|image> with --in-recovery$/],
    [
      ["reset", "schedule", "--in-recovery", "--disk", image, "--boot", "/boot"],
      /not --boot \(those are for the systemd path\)$/,
    ],
    [
      ["reset", "schedule", "--in-recovery", "--disk", image, "--mode", "cleanup"],
      /^--mode must be /,
    ],
    [["reset", "unschedule", "--in-recovery"], /^give --disk <device\|image> with --in-recovery$/],
    [
      ["reset", "unschedule", "--in-recovery", "--disk", image, "--system-root", "/"],
      /^--in-recovery takes --disk <device\|image>, not --system-root$/,
    ],
  ] as const) {
    const r = cliJsonFailure(args);
    expect(r.code, args.join(" ")).toBe(2);
    expect(r.doc.error.code).toBe("CLI_USAGE");
    expect(r.doc.error.message, args.join(" ")).toMatch(message);
  }
  expect(await scheduleFiles()).toEqual({});
}, 120_000);
