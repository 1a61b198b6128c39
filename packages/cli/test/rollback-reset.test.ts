// Anti-rollback of reset-from-recovery through the real binary on a real disk
// image (issue #22): with the OEM floor (minimum-epoch beside the trusted key)
// above the installed set's epoch, `plan` refuses (exit 4,
// RESET_IMAGE_ROLLBACK, says why); `apply --allow-rollback "<reason>"` runs
// the reset and records the override in rollback-log.jsonl on the recovery
// partition before the plan runs. Needs root and loop devices (cleaned up).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { mountTemp, partitionsOf, Scratch, unmount } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  imageKeygenDataSchema,
  planDataSchema,
  planRunDataSchema,
  provisionDataSchema,
} from "../src/json-schemas.js";
import { cli, cliJson, cliJsonFailure, ensureBuilt, smallDisk } from "./support.js";

const STAMP = "20261204T120000Z";
let scratch: Scratch;
let disk: string;
let oemKey: string;

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-rollback-reset-");
  disk = await smallDisk(scratch);
  const keys = cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
  cliJson(
    [
      "provision",
      "--disk",
      disk,
      "--product",
      "P",
      "--build",
      "B",
      "--key",
      keys.privateKey,
      "--security-epoch",
      "1",
      "--no-recovery-env",
    ],
    provisionDataSchema,
  );
  // The OEM's trusted key ships with a floor above the installed set.
  const oem = scratch.path("oem");
  await mkdir(oem);
  oemKey = path.join(oem, "public.pem");
  await writeFile(oemKey, await readFile(keys.publicKey));
  await writeFile(path.join(oem, "minimum-epoch"), "2\n");
}, 600_000);
afterAll(async () => {
  await scratch?.cleanup();
});

async function rollbackLog(): Promise<string> {
  const p = (await partitionsOf(disk)).find((x) => x.number === 3)!;
  // mount's own loop device (auto-cleared on unmount), read-only.
  const rec = await mountTemp(scratch, disk, {
    options: `loop,ro,offset=${p.offsetBytes},sizelimit=${p.sizeBytes}`,
  });
  try {
    return await readFile(path.join(rec, "rollback-log.jsonl"), "utf8").catch(() => "");
  } finally {
    await unmount(rec);
  }
}

test("reset-from-recovery refuses the older set; --allow-rollback runs it and records it", async () => {
  const base = ["--disk", disk, "--mode", "reset-from-recovery", "--stamp", STAMP];
  const refused = cliJsonFailure(["plan", ...base, "--trusted-key", oemKey]);
  expect(refused.code).toBe(4);
  expect(refused.doc.error).toMatchObject({
    code: "RESET_IMAGE_ROLLBACK",
    securityEpoch: 1,
    floorEpoch: 2,
  });
  const human = cli(["plan", ...base, "--trusted-key", oemKey]);
  expect(`${human.stdout}${human.stderr}`).toContain("security epoch 1, older than 2");
  expect(await rollbackLog()).toBe("");

  const over = [...base, "--trusted-key", oemKey, "--allow-rollback", "ticket 9: field test"];
  const planned = cliJson(["plan", ...over], planDataSchema);
  expect(planned.plan.warnings[0]).toContain("Rollback allowed");
  expect(planned.plan.warnings[0]).toContain("ticket 9: field test");
  const ran = cli(["--json", "apply", ...over, "--yes", "--confirm", planned.digest]);
  expect(ran.code, ran.stdout + ran.stderr).toBe(0);
  expect(planRunDataSchema.parse(JSON.parse(ran.stdout).data).executed).toBe(true);
  expect(ran.stderr).toContain("recorded in rollback-log.jsonl");
  const lines = (await rollbackLog()).trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({
    action: "reset",
    fromEpoch: 2,
    floorSource: "minimum",
    toEpoch: 1,
    reason: "ticket 9: field test",
    setDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
  });
}, 600_000);
