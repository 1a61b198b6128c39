// Anti-rollback (issue #22): a set whose signed security epoch is below the
// installed one's, the partition's record or the OEM minimum is refused; the
// override installs it and is recorded. Real files in a temporary directory.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  createImageSet,
  generateKeyPair,
  installImageSet,
  manifestDigest,
  parseManifest,
  readCurrentImageSet,
  readEpochFloor,
  readMinimumEpoch,
  readRollbackLog,
  securityEpochOf,
  signImageSet,
  type VerifiedImageSet,
  verifyImageSet,
} from "../src/index.js";
import { SECURITY_EPOCH_FILE } from "../src/layout.js";

const key = generateKeyPair();
const trustedKeys = [key.publicKey];
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lifeboat-rollback-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function signedSet(name: string, version: string, epoch?: number): Promise<VerifiedImageSet> {
  const dir = path.join(work, name);
  const src = path.join(work, `${name}.conf`);
  await writeFile(src, `version ${version}\n`);
  const created = await createImageSet({
    dir,
    product: "acme",
    version,
    ...(epoch === undefined ? {} : { securityEpoch: epoch }),
    sourceDateEpoch: 1767225600,
    minimumPartitionBytes: 0,
    files: [{ path: "a.conf", kind: "file", source: src }],
  });
  if (created.isErr()) throw new Error(created.error.message);
  (await signImageSet(dir, key))._unsafeUnwrap();
  return (await verifyImageSet(dir, { trustedKeys }))._unsafeUnwrap();
}

test("the epoch is in the signed manifest; an old manifest without it reads as 0", async () => {
  const v3 = await signedSet("epoch-3", "3", 3);
  expect(v3.manifest.securityEpoch).toBe(3);
  expect(new TextDecoder().decode(v3.manifestBytes)).toContain('"securityEpoch":3');
  const old = await signedSet("epoch-none", "0");
  expect(old.manifest.securityEpoch).toBeUndefined();
  expect(securityEpochOf(old.manifest)).toBe(0);
  const bad = new TextEncoder().encode(
    new TextDecoder().decode(v3.manifestBytes).replace('"securityEpoch":3', '"securityEpoch":-1'),
  );
  expect(parseManifest(bad)._unsafeUnwrapErr().code).toBe("IMAGE_MANIFEST_INVALID");
});

test("install refuses an older signed set with IMAGE_ROLLBACK; equal and higher install as before", async () => {
  const root = path.join(work, "root-install");
  const v1 = await signedSet("v1", "1", 1);
  const v2 = await signedSet("v2", "2", 2);
  const v2b = await signedSet("v2b", "2b", 2);
  const v5 = await signedSet("v5", "5", 5);
  expect((await installImageSet(v2, root))._unsafeUnwrap().rollback).toBeUndefined();
  expect(await readFile(path.join(root, SECURITY_EPOCH_FILE), "utf8")).toBe("2\n");

  const refused = (await installImageSet(v1, root))._unsafeUnwrapErr();
  expect(refused).toMatchObject({
    code: "IMAGE_ROLLBACK",
    offeredEpoch: 1,
    floorEpoch: 2,
    floorSource: "installed",
    installedEpoch: 2,
  });
  expect(refused.message).toContain("security epoch 1");
  expect((await readCurrentImageSet(root))._unsafeUnwrap().setId).toMatch(/^acme-2-/);

  expect((await installImageSet(v2b, root)).isOk()).toBe(true); // equal epoch
  expect((await installImageSet(v5, root)).isOk()).toBe(true); // higher epoch
  expect(await readFile(path.join(root, SECURITY_EPOCH_FILE), "utf8")).toBe("5\n");
  expect((await readRollbackLog(root))._unsafeUnwrap()).toEqual([]);
});

test("the partition's record of the highest epoch is a floor even when current was swapped by hand", async () => {
  const root = path.join(work, "root-record");
  const v0 = await signedSet("r0", "r0");
  const v1 = await signedSet("r1", "r1", 1);
  (await installImageSet(v0, root))._unsafeUnwrap();
  await writeFile(path.join(root, SECURITY_EPOCH_FILE), "4\n");
  const floor = (await readEpochFloor(root))._unsafeUnwrap();
  expect(floor).toMatchObject({ epoch: 4, source: "recorded", installedEpoch: 0 });
  expect((await installImageSet(v1, root))._unsafeUnwrapErr()).toMatchObject({
    code: "IMAGE_ROLLBACK",
    floorSource: "recorded",
    floorEpoch: 4,
  });
  await writeFile(path.join(root, SECURITY_EPOCH_FILE), "four\n");
  expect((await installImageSet(v1, root))._unsafeUnwrapErr().code).toBe("INVALID_ARGUMENT");
});

test("the OEM minimum (minimum-epoch beside the keys) refuses a set on an empty partition", async () => {
  const root = path.join(work, "root-minimum");
  const keys = path.join(work, "keys");
  await rm(keys, { recursive: true, force: true });
  await writeFile(path.join(work, "minimum-epoch"), "3\n");
  const minimumEpoch = (await readMinimumEpoch(path.join(work, "minimum-epoch")))._unsafeUnwrap();
  expect(minimumEpoch).toBe(3);
  expect((await readMinimumEpoch(path.join(keys, "minimum-epoch")))._unsafeUnwrap()).toBe(
    undefined,
  );
  const v2 = await signedSet("m2", "m2", 2);
  expect((await installImageSet(v2, root, { minimumEpoch }))._unsafeUnwrapErr()).toMatchObject({
    code: "IMAGE_ROLLBACK",
    offeredEpoch: 2,
    floorEpoch: 3,
    floorSource: "minimum",
    installedEpoch: undefined,
  });
  expect((await readCurrentImageSet(root))._unsafeUnwrapErr().code).toBe("IMAGE_NOT_INSTALLED");
});

test("the override installs the older set and records time, epochs, digest and reason", async () => {
  const root = path.join(work, "root-override");
  const v1 = await signedSet("o1", "o1", 1);
  const v2 = await signedSet("o2", "o2", 2);
  (await installImageSet(v2, root))._unsafeUnwrap();
  expect(
    (await installImageSet(v1, root, { allowRollback: { reason: " " } }))._unsafeUnwrapErr().code,
  ).toBe("INVALID_ARGUMENT");
  const installed = (
    await installImageSet(v1, root, {
      allowRollback: { reason: "ticket 4711: v2 breaks the touchpad" },
      now: () => new Date("2026-12-04T10:00:00Z"),
    })
  )._unsafeUnwrap();
  const record = {
    time: "2026-12-04T10:00:00.000Z",
    action: "install",
    fromEpoch: 2,
    floorSource: "installed",
    toEpoch: 1,
    product: "acme",
    version: "o1",
    setDigest: manifestDigest(v1.manifestBytes),
    reason: "ticket 4711: v2 breaks the touchpad",
  };
  expect(installed.rollback).toEqual(record);
  expect((await readRollbackLog(root))._unsafeUnwrap()).toEqual([record]);
  expect((await readCurrentImageSet(root))._unsafeUnwrap().setId).toBe(installed.setId);
  // The override lowers the partition's floor to the set it installed.
  expect(await readFile(path.join(root, SECURITY_EPOCH_FILE), "utf8")).toBe("1\n");
});
