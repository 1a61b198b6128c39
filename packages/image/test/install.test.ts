// Installing onto a real recovery partition (ext4 on a loop device), refusals
// before writing, and the power-loss test: the installer is SIGKILLed at random
// points; afterwards `current` always names one complete set that verifies.
import { execFileSync, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { open, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  attachLoop,
  mountTemp,
  repositoryRoot,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { bundleDefineArgs } from "../../../scripts/bundle-defines.js";
import {
  createImageSet,
  exportPublicKeyPem,
  generateKeyPair,
  imageSetId,
  installImageSet,
  type PrivateKey,
  readCurrentImageSet,
  repairRecoveryRoot,
  signImageSet,
  type VerifiedImageSet,
  verifyImageSet,
} from "../src/index.js";
import { buildFixtureSet, EPOCH } from "./fixtures/build-set.js";

requireRoot();
requireTools("mksquashfs", "mkfs.ext4", "losetup");
let scratch: Scratch;
let key: PrivateKey;
let root: string;
let v1: VerifiedImageSet;
let v2: VerifiedImageSet;
const trusted = () => ({ trustedKeys: [key.publicKey] });

beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-image-install-");
  key = generateKeyPair();
  await buildFixtureSet({
    dir: scratch.path("v1"),
    sourceDir: "/usr/share/perl",
    key,
    version: "1.0",
  });
  await buildFixtureSet({
    dir: scratch.path("v2"),
    sourceDir: "/usr/lib/python3",
    key,
    version: "2.0",
  });
  v1 = (await verifyImageSet(scratch.path("v1"), trusted()))._unsafeUnwrap();
  v2 = (await verifyImageSet(scratch.path("v2"), trusted()))._unsafeUnwrap();
  // The partition's backing file lives in /dev/shm: fsync reaches the ext4 journal and the
  // loop device without waiting on a disk other engineers are hammering.
  const img = `/dev/shm/lifeboat-image-recovery-${process.pid}.img`;
  scratch.defer(() => rm(img, { force: true }));
  await sh("truncate", ["-s", String(256 * 1024 * 1024), img]);
  await sh("mkfs.ext4", ["-q", "-L", "recovery", img]);
  const dev = await attachLoop(scratch, img);
  root = await mountTemp(scratch, dev, { type: "ext4" });
  // The installer child, bundled once from source (same code; node starts it in well under a
  // second, where the TypeScript loader takes several on a loaded machine).
  const repo = repositoryRoot();
  execFileSync(path.join(repo, "node_modules/.bin/esbuild"), [
    path.join(import.meta.dirname, "fixtures/install-child.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    `--alias:@lifeboat/core=${path.join(repo, "packages/core/src/index.ts")}`,
    // A subpath export by its own source (esbuild takes the longest alias that matches).
    `--alias:@lifeboat/core/lite=${path.join(repo, "packages/core/src/lite.ts")}`,
    `--outfile=${scratch.path("install-child.mjs")}`,
    "--log-level=warning",
    // The hash pool's worker module, carried inside the bundle as in the builds.
    ...bundleDefineArgs(),
  ]);
});
afterAll(() => scratch?.cleanup());

async function setDirs(): Promise<string[]> {
  return (await readdir(path.join(root, "sets"))).sort();
}

test("install, switch to a new set, previous one removed only after the switch", async () => {
  const events: string[] = [];
  const a = await installImageSet(v1, root, { onProgress: (e) => events.push(e.phase) });
  if (a.isErr()) throw new Error(a.error.message);
  expect(a.value.previousSetId).toBeUndefined();
  expect([...new Set(events)]).toEqual(["space", "copy", "sync", "verify", "switch", "cleanup"]);
  expect((await readCurrentImageSet(root))._unsafeUnwrap().setId).toBe(imageSetId(v1));
  const b = (await installImageSet(v2, root))._unsafeUnwrap();
  expect(b.previousSetId).toBe(imageSetId(v1));
  expect(await setDirs()).toEqual([imageSetId(v2)]);
  const cur = (await readCurrentImageSet(root))._unsafeUnwrap();
  expect((await verifyImageSet(cur.dir, trusted())).isOk()).toBe(true);
  // Installing the current set again changes nothing and still verifies it.
  expect((await installImageSet(v2, root))._unsafeUnwrap().setId).toBe(imageSetId(v2));
});

test("refuses with IMAGE_INSUFFICIENT_SPACE before writing anything", async () => {
  const fs = await sh("df", ["-B1", "--output=avail", root]);
  const avail = Number(fs.trim().split("\n").pop());
  const filler = path.join(root, "filler");
  await sh("fallocate", ["-l", String(avail - 4 * 1024 * 1024), filler]);
  try {
    const before = await setDirs();
    const r = await installImageSet(v1, root);
    expect(r.isErr() && r.error).toMatchObject({ code: "IMAGE_INSUFFICIENT_SPACE", path: root });
    if (r.isErr() && r.error.code === "IMAGE_INSUFFICIENT_SPACE") {
      expect(r.error.availableBytes).toBeLessThan(r.error.requiredBytes);
      expect(r.error.requiredBytes).toBeGreaterThan(v1.manifest.files[0]!.size);
    }
    expect(await setDirs()).toEqual(before);
  } finally {
    await rm(filler);
  }
});

test("refuses a partition smaller than the manifest's minimum", async () => {
  const dir = scratch.path("big-min");
  await sh("cp", ["-a", scratch.path("v1"), dir]);
  await rm(path.join(dir, "manifest.json.sig"));
  (
    await createImageSet({
      dir,
      product: "lifeboat-test",
      version: "1.0-huge",
      sourceDateEpoch: EPOCH,
      files: v1.manifest.files.map((f) => ({ path: f.path, kind: f.kind })),
      minimumPartitionBytes: 2 ** 40,
    })
  )._unsafeUnwrap();
  (await signImageSet(dir, key))._unsafeUnwrap();
  const v = (await verifyImageSet(dir, trusted()))._unsafeUnwrap();
  const r = await installImageSet(v, root);
  expect(r.isErr() && r.error).toMatchObject({
    code: "IMAGE_PARTITION_TOO_SMALL",
    minimumBytes: 2 ** 40,
  });
});

test("a leftover complete set that no longer verifies is written again", async () => {
  const id = imageSetId(v1);
  expect((await readCurrentImageSet(root))._unsafeUnwrap().setId).not.toBe(id);
  await sh("cp", ["-a", scratch.path("v1"), path.join(root, "sets", id)]);
  const f = path.join(root, "sets", id, "root.squashfs");
  const h = await open(f, "r+");
  const b = Buffer.alloc(1);
  await h.read(b, 0, 1, 3 * 4096 + 1);
  await h.write(Buffer.from([b[0]! ^ 0x55]), 0, 1, 3 * 4096 + 1);
  await h.close();
  const r = (await installImageSet(v1, root))._unsafeUnwrap();
  expect(r.setId).toBe(id);
  expect(await setDirs()).toEqual([id]);
  expect((await verifyImageSet(r.dir, trusted())).isOk()).toBe(true);
});

interface ChildRun {
  readonly lines: string[];
  readonly killed: boolean;
}

/** Run the installer as a child; SIGKILL it at the `killAt` line, or after `killAfterMs`. */
function runInstaller(
  setDir: string,
  pub: string,
  kill: { atLine?: (line: string, index: number) => boolean; afterMs?: number },
): Promise<ChildRun> {
  const child = spawn(process.execPath, [scratch.path("install-child.mjs"), setDir, root, pub], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let killed = false;
  let stderr = "";
  let buffered = "";
  const doKill = () => {
    if (!killed && child.exitCode === null) {
      killed = true;
      child.kill("SIGKILL");
    }
  };
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  child.stdout.on("data", (c: Buffer) => {
    buffered += c.toString();
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      if (line.includes('"start"') && kill.afterMs !== undefined) setTimeout(doKill, kill.afterMs);
      if (kill.atLine?.(line, lines.length - 1)) doKill();
      nl = buffered.indexOf("\n");
    }
  });
  return new Promise((resolve, reject) => {
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL" || code === 0) resolve({ lines, killed: signal === "SIGKILL" });
      else reject(new Error(`installer failed (${code}): ${stderr}`));
    });
  });
}

test("power loss: SIGKILL the installer at random points (24 runs); one complete set always verifies", async () => {
  const pub = scratch.path("key.pub");
  await writeFile(pub, exportPublicKeyPem(key.publicKey));
  const sets = { [imageSetId(v1)]: scratch.path("v1"), [imageSetId(v2)]: scratch.path("v2") };
  // Calibrate: a full run, to know how many progress lines an install prints and how long it takes.
  const cur0 = (await readCurrentImageSet(root))._unsafeUnwrap().setId;
  const other0 = Object.keys(sets).find((id) => id !== cur0)!;
  const t0 = Date.now();
  const full = await runInstaller(sets[other0]!, pub, {});
  const fullMs = Date.now() - t0;
  expect(full.lines.at(-1)).toContain('"done"');
  const outcomes = { old: 0, new: 0 };
  const kills: string[] = [];
  for (let run = 0; run < 24; run++) {
    const before = (await readCurrentImageSet(root))._unsafeUnwrap().setId;
    const target = Object.keys(sets).find((id) => id !== before)!;
    const mode = run % 4;
    const n = 1 + randomInt(full.lines.length);
    const phase = run % 8 === 2 ? '"switch"' : '"cleanup"';
    const r = await runInstaller(
      sets[target]!,
      pub,
      mode <= 1
        ? { atLine: (_l, i) => i === n }
        : mode === 2
          ? { atLine: (l) => l.includes(phase) }
          : { afterMs: randomInt(Math.max(1, fullMs)) },
    );
    kills.push(r.killed ? (r.lines.at(-1) ?? "before start").slice(0, 40) : "completed");
    // Afterwards: `current` names a complete set that verifies, the old or the new one.
    const cur = await readCurrentImageSet(root);
    if (cur.isErr()) throw new Error(`run ${run}: ${cur.error.message}`);
    expect([before, target]).toContain(cur.value.setId);
    const v = await verifyImageSet(cur.value.dir, trusted());
    if (v.isErr()) throw new Error(`run ${run}: current does not verify: ${v.error.message}`);
    outcomes[cur.value.setId === target ? "new" : "old"]++;
    // Repair removes leftovers; exactly one set remains and it verifies.
    (await repairRecoveryRoot(root))._unsafeUnwrap();
    expect(await setDirs()).toEqual([cur.value.setId]);
    expect((await verifyImageSet(path.join(root, "sets", cur.value.setId), trusted())).isOk()).toBe(
      true,
    );
  }
  console.log("power-loss outcomes:", outcomes, "killed at:", kills);
  expect(outcomes.old).toBeGreaterThan(0);
  expect(outcomes.new).toBeGreaterThan(0);
}, 600_000);
