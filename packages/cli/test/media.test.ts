import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createImageSet, loadPrivateKey, signImageSet } from "@lifeboat/image";
import { partitionsOf, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageKeygenDataSchema, mediaCreateDataSchema } from "../src/json-schemas.js";
import { cliJson, cliJsonFailure, ensureBuilt } from "./support.js";

let scratch: Scratch;
let args: string[];

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-media-");
  const keys = cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
  const set = scratch.path("set");
  await mkdir(set, { recursive: true });
  await writeFile(path.join(set, "root.img"), randomBytes(2 * 1024 * 1024));
  (
    await createImageSet({
      dir: set,
      product: "cli-media",
      version: "1",
      sourceDateEpoch: 1767225600,
      files: [{ path: "root.img", kind: "file" }],
    })
  )._unsafeUnwrap();
  const key = loadPrivateKey(await readFile(keys.privateKey))._unsafeUnwrap();
  (await signImageSet(set, key))._unsafeUnwrap();
  await writeFile(scratch.path("vmlinuz"), "kernel");
  await writeFile(scratch.path("initrd.img"), "initrd");
  args = [
    "media",
    "create",
    "--image-set",
    set,
    "--trusted-key",
    keys.publicKey,
    "--kernel",
    scratch.path("vmlinuz"),
    "--initrd",
    scratch.path("initrd.img"),
    "--kernel-arg",
    "console=ttyS0,115200",
    "--target",
    scratch.path("stick.img"),
  ];
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("lifeboat media create", () => {
  it("shows the plan (--dry-run), refuses without the digest, writes the stick with --yes --confirm", async () => {
    const dry = cliJson([...args, "--dry-run"], mediaCreateDataSchema);
    expect(dry.executed).toBe(false);
    expect(dry.plan.kind).toBe("recovery-media");
    const refused = cliJsonFailure([...args, "--yes"]);
    expect(refused.doc.error.code).toBe("CLI_USAGE");
    const done = cliJson([...args, "--yes", "--confirm", dry.plan.digest], mediaCreateDataSchema);
    expect(done.executed).toBe(true);
    expect(done.plan.digest).toBe(dry.plan.digest);
    expect(done.media?.setId).toMatch(/^cli_media-1-[0-9a-f]{12}$/);
    const parts = await partitionsOf(scratch.path("stick.img"));
    expect(parts.map((p) => p.type)).toEqual([
      "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
      "d999c366-3126-4451-b3c1-be31e091158c",
    ]);
    // Written once, the stick's partitions are what a new plan says it erases.
    const again = cliJson([...args, "--dry-run"], mediaCreateDataSchema);
    expect(again.plan.steps[0]?.destroys.map((d) => d.kind)).toEqual(["partition", "partition"]);
  }, 300_000);
});
