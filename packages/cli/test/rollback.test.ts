// Anti-rollback through the real binary (issue #22): `image install` and
// `update --manifest` refuse an older signed set (exit 4, IMAGE_ROLLBACK,
// the message says why); `--allow-rollback "<reason>"` accepts it, prints
// it and records it in rollback-log.jsonl; the OEM floor is the
// minimum-epoch file beside the trusted key. No root, no loop devices.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { makeIndex } from "@lifeboat/casync";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  imageBuildDataSchema,
  imageInstallDataSchema,
  imageKeygenDataSchema,
  updateDataSchema,
} from "../src/json-schemas.js";
import { cli, cliJson, cliJsonFailure, ensureBuilt } from "./support.js";

let scratch: Scratch;
let keys: { privateKey: string; publicKey: string };
const sets: Record<string, string> = {};

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-rollback-");
  keys = cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
  for (const [version, epoch] of [
    ["1", "1"],
    ["2", "2"],
    ["3", "3"],
  ] as const) {
    const src = scratch.path(`src-${version}`);
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, "os-release"), `VERSION_ID=${version}\n`);
    sets[version] = scratch.path(`set-${version}`);
    const built = cliJson(
      [
        "image",
        "build",
        src,
        "--out",
        sets[version],
        "--product",
        "P",
        "--version",
        version,
        "--security-epoch",
        epoch,
        "--key",
        keys.privateKey,
      ],
      imageBuildDataSchema,
    );
    expect(built.securityEpoch).toBe(Number(epoch));
  }
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

const install = (set: string, root: string, ...extra: string[]) => [
  "image",
  "install",
  set,
  "--trusted-key",
  keys.publicKey,
  "--recovery-root",
  root,
  ...extra,
];

test("image install refuses an older set (exit 4, says why); --allow-rollback installs it and records it", async () => {
  const root = scratch.path("recovery-install");
  await mkdir(root);
  expect(cliJson(install(sets["2"]!, root), imageInstallDataSchema).rollback).toBeNull();

  const refused = cliJsonFailure(install(sets["1"]!, root));
  expect(refused.code).toBe(4);
  expect(refused.doc.error).toMatchObject({
    code: "IMAGE_ROLLBACK",
    offeredEpoch: 1,
    floorEpoch: 2,
    floorSource: "installed",
  });
  const human = cli(install(sets["1"]!, root));
  expect(human.code).toBe(4);
  expect(`${human.stdout}${human.stderr}`).toContain("security epoch 1, older than");
  expect(`${human.stdout}${human.stderr}`).toContain("--allow-rollback");

  const over = cli(install(sets["1"]!, root, "--allow-rollback", "ticket 4711"));
  expect(over.code).toBe(0);
  expect(over.stdout).toContain("rollback allowed (security epoch 2 → 1)");
  const log = (await readFile(path.join(root, "rollback-log.jsonl"), "utf8")).trim().split("\n");
  expect(log).toHaveLength(1);
  expect(JSON.parse(log[0]!)).toMatchObject({
    action: "install",
    fromEpoch: 2,
    toEpoch: 1,
    version: "1",
    reason: "ticket 4711",
  });

  // An equal or higher epoch installs as before, with nothing logged.
  expect(cliJson(install(sets["1"]!, root), imageInstallDataSchema).rollback).toBeNull();
  expect(cliJson(install(sets["3"]!, root), imageInstallDataSchema).securityEpoch).toBe(3);
  expect(
    (await readFile(path.join(root, "rollback-log.jsonl"), "utf8")).trim().split("\n"),
  ).toHaveLength(1);
});

test("the OEM floor: minimum-epoch beside the trusted key refuses an older set on an empty partition", async () => {
  const keyDir = scratch.path("oem-keys");
  await mkdir(keyDir);
  const pub = path.join(keyDir, "public.pem");
  await writeFile(pub, await readFile(keys.publicKey));
  await writeFile(path.join(keyDir, "minimum-epoch"), "3\n");
  const root = scratch.path("recovery-minimum");
  await mkdir(root);
  const refused = cliJsonFailure([
    "image",
    "install",
    sets["2"]!,
    "--trusted-key",
    pub,
    "--recovery-root",
    root,
  ]);
  expect(refused.code).toBe(4);
  expect(refused.doc.error).toMatchObject({ code: "IMAGE_ROLLBACK", floorSource: "minimum" });
});

test("update --manifest refuses an older release before downloading; --allow-rollback assembles it and records it", async () => {
  const root = scratch.path("recovery-update");
  await mkdir(root);
  cliJson(install(sets["2"]!, root), imageInstallDataSchema);
  const index = scratch.path("release-1.caibx");
  const store = scratch.path("store.castr");
  (
    await makeIndex(path.join(sets["1"]!, "root.squashfs"), { indexPath: index, store })
  )._unsafeUnwrap();
  const output = scratch.path("update-out.img");
  const update = (...extra: string[]) => [
    "update",
    index,
    output,
    "--store",
    store,
    "--manifest",
    sets["1"]!,
    "--trusted-key",
    keys.publicKey,
    "--recovery-root",
    root,
    ...extra,
  ];
  const refused = cliJsonFailure(update());
  expect(refused.code).toBe(4);
  expect(refused.doc.error).toMatchObject({
    code: "IMAGE_ROLLBACK",
    offeredEpoch: 1,
    floorEpoch: 2,
  });
  await expect(stat(output)).rejects.toThrow();

  const done = cliJson(update("--allow-rollback", "field test of v1"), updateDataSchema);
  expect(done.rollback).toMatchObject({ action: "update", fromEpoch: 2, toEpoch: 1 });
  expect((await stat(output)).size).toBe(done.size);
  const log = (await readFile(path.join(root, "rollback-log.jsonl"), "utf8")).trim().split("\n");
  expect(JSON.parse(log.at(-1)!)).toMatchObject({ action: "update", reason: "field test of v1" });

  // A release at the installed epoch or newer goes through without an override.
  const newer = cliJson(
    [
      "update",
      index,
      scratch.path("update-newer.img"),
      "--store",
      store,
      "--manifest",
      sets["3"]!,
      "--trusted-key",
      keys.publicKey,
      "--recovery-root",
      root,
    ],
    updateDataSchema,
  );
  expect(newer.rollback).toBeNull();
});
