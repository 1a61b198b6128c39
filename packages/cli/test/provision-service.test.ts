// `lifeboat provision --service <dir>` (issue #20): lifeboatd installed into the root
// subvolume before the factory snapshot, on a loop-backed small disk provisioned by the
// built CLI: the unit, the D-Bus policy and activation file, the polkit actions, the
// daemon bundle and its link, the key and /etc/default/lifeboatd; the snapshot has them
// too; the unit passes `systemd-analyze verify`; a second run keeps every file. Needs
// root and loop devices.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import {
  type PartitionSlice,
  partitionsOf,
  requireTools,
  Scratch,
  sh,
  unmount,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { provisionDataSchema } from "../src/json-schemas.js";
import { cliJson, ensureBuilt, keygen, repoRoot, smallDisk } from "./support.js";

const serviceDir = path.join(repoRoot, "packages/service");
let scratch: Scratch;
let image: string;
let keys: { privateKey: string; publicKey: string };

const INSTALLED = [
  "/usr/lib/systemd/system/lifeboatd.service",
  "/usr/share/dbus-1/system.d/org.lifeboat.Lifeboat1.conf",
  "/usr/share/polkit-1/actions/org.lifeboat.Lifeboat1.policy",
  "/usr/share/dbus-1/system-services/org.lifeboat.Lifeboat1.service",
  "/usr/lib/lifeboat/lifeboatd.mjs",
  "/usr/bin/lifeboatd",
  "/etc/lifeboat/keys/lifeboatd-1.pem",
  "/etc/default/lifeboatd",
];

function provisionWithService() {
  return cliJson(
    [
      "provision",
      "--disk",
      image,
      "--product",
      "P",
      "--build",
      "B",
      "--key",
      keys.privateKey,
      "--no-recovery-env",
      "--service",
      serviceDir,
    ],
    provisionDataSchema,
  );
}

/** Run `body` with the disk's Btrfs top level mounted (a loop on its partition, gone again after). */
async function withTop<T>(body: (top: string) => Promise<T>): Promise<T> {
  let btrfs: PartitionSlice | undefined;
  for (const p of await partitionsOf(image)) {
    const type = await sh("blkid", [
      "-p",
      "-O",
      String(p.offsetBytes),
      "-o",
      "value",
      "-s",
      "TYPE",
      image,
    ]).catch(() => "");
    if (type.trim() === "btrfs") btrfs = p;
  }
  if (btrfs === undefined) throw new Error("the small disk has no Btrfs partition");
  const dev = (
    await sh("losetup", [
      "--find",
      "--show",
      "--offset",
      String(btrfs.offsetBytes),
      "--sizelimit",
      String(btrfs.sizeBytes),
      image,
    ])
  ).trim();
  try {
    const top = scratch.path("top");
    await sh("mkdir", ["-p", top]);
    await sh("mount", ["-o", "subvolid=5", dev, top]);
    try {
      return await body(top);
    } finally {
      await unmount(top);
    }
  } finally {
    await sh("losetup", ["-d", dev]);
  }
}

beforeAll(async () => {
  requireTools("systemd-analyze");
  ensureBuilt();
  if (!existsSync(path.join(serviceDir, "dist/lifeboatd-standalone.mjs")))
    execFileSync("pnpm", ["--filter", "@lifeboat/service", "build"], {
      cwd: repoRoot,
      stdio: "ignore",
    });
  scratch = await Scratch.create("lifeboat-provision-service-");
  image = await smallDisk(scratch);
  keys = keygen(scratch);
}, 300_000);

afterAll(async () => {
  await scratch?.cleanup();
});

test("provision --service installs lifeboatd into root and the factory snapshot; the unit verifies; a second run keeps every file", async () => {
  const first = provisionWithService();
  expect(first.service?.files.map((f) => f.path).sort()).toEqual([...INSTALLED].sort());
  expect(first.service?.files.every((f) => f.status === "written")).toBe(true);

  await withTop(async (top) => {
    // lstat: /usr/bin/lifeboatd links to an absolute path inside the root.
    for (const sub of ["root", ".lifeboat/factory/root"])
      for (const f of INSTALLED)
        expect(
          await lstat(path.join(top, sub, f)).then(
            () => true,
            () => false,
          ),
          `${sub}${f}`,
        ).toBe(true);
    const root = path.join(top, "root");
    expect(await readlink(path.join(root, "usr/bin/lifeboatd"))).toBe(
      "/usr/lib/lifeboat/lifeboatd.mjs",
    );
    expect(await readFile(path.join(root, "etc/default/lifeboatd"), "utf8")).toContain(
      "--trusted-key /etc/lifeboat/keys/lifeboatd-1.pem",
    );
    expect(await readFile(path.join(root, "etc/lifeboat/keys/lifeboatd-1.pem"), "utf8")).toBe(
      await readFile(keys.publicKey, "utf8"),
    );
    // The unit as systemd reads it (its ExecStart resolved in the root; node is not in this small root).
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      try {
        const out = execFileSync(
          "systemd-analyze",
          [
            "verify",
            `--root=${root}`,
            "--man=no",
            "--recursive-errors=no",
            path.join(root, "usr/lib/systemd/system/lifeboatd.service"),
          ],
          { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
        );
        resolve({ code: 0, out });
      } catch (e) {
        const x = e as { status: number; stdout: string; stderr: string };
        resolve({ code: x.status, out: `${x.stdout}${x.stderr}` });
      }
    });
    expect(r, r.out).toMatchObject({ code: 0 });
  });

  const second = provisionWithService();
  expect(second.snapshotUuid).toBe(first.snapshotUuid);
  expect(second.service?.files.every((f) => f.status === "kept")).toBe(true);
});
