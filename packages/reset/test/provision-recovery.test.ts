/**
 * provision() with `recovery`: the signed recovery image set is built from
 * the factory snapshot and installed on the recovery partition (its own loop
 * device at its offset: this kernel does not scan partition tables); the
 * installed set verifies with the trusted key; re-running is a verified
 * no-op; a changed set replaces the old one atomically.
 */
import { lstat, mkdir, open, readdir, readlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import {
  generateKeyPair,
  readCurrentImageSet,
  readRollbackLog,
  verifyImageSet,
} from "@lifeboat/image";
import {
  attachLoop,
  createImageFile,
  mountTemp,
  partitionsOf,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  unmount,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRecoveryImageSet, provision } from "../src/index.js";
import { RECOVERY_FILES } from "../src/layout.js";

const runner = createExecaRunner();
const MiB = 1024 * 1024;
const keys = generateKeyPair();
let scratch: Scratch;
let top: string;
let boot: string;
let recoveryDevice: string;

/** Every file of the installed sets with its inode and change time: "nothing rewritten" means equal. */
async function fingerprint(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const abs = path.join(dir, name);
      const st = await lstat(abs, { bigint: true });
      out.push(`${path.relative(root, abs)} ${st.ino} ${st.ctimeNs}`);
      if (st.isDirectory()) await walk(abs);
    }
  }
  await walk(root);
  return out;
}

async function installed() {
  const rec = await mountTemp(scratch, recoveryDevice, { type: "ext4" });
  try {
    const current = (await readCurrentImageSet(rec))._unsafeUnwrap();
    const verified = await verifyImageSet(current.dir, { trustedKeys: [keys.publicKey] });
    return {
      setId: current.setId,
      verified: verified.isOk(),
      sets: (await readdir(path.join(rec, "sets"))).sort(),
      current: await readlink(path.join(rec, "current")),
      files: await fingerprint(rec),
    };
  } finally {
    await unmount(rec);
  }
}

describe("provision with a recovery partition", () => {
  beforeAll(async () => {
    requireRoot();
    requireTools("sgdisk", "mkfs.btrfs", "mkfs.ext4", "mksquashfs");
    scratch = await Scratch.create("lifeboat-provision-recovery-");
    const image = await createImageFile(scratch, "disk.img", 420 * MiB);
    await sh("sgdisk", [
      "-o",
      "-n1:0:+40M",
      "-t1:8300",
      "-n2:0:+260M",
      "-t2:8300",
      "-n3:0:0",
      "-t3:d999c366-3126-4451-b3c1-be31e091158c",
      image,
    ]);
    const parts = await partitionsOf(image);
    const dev = async (n: number) => {
      const p = parts.find((x) => x.number === n)!;
      return attachLoop(scratch, image, { offset: p.offsetBytes, sizeLimit: p.sizeBytes });
    };
    const bootDev = await dev(1);
    const btrfsDev = await dev(2);
    recoveryDevice = await dev(3);
    await sh("mkfs.ext4", ["-q", bootDev]);
    await sh("mkfs.btrfs", ["-q", "-f", btrfsDev]);
    await sh("mkfs.ext4", ["-q", "-L", "recovery", recoveryDevice]);
    top = await mountTemp(scratch, btrfsDev, { type: "btrfs" });
    boot = await mountTemp(scratch, bootDev, { type: "ext4" });
    await sh("btrfs", ["subvolume", "create", path.join(top, "root")]);
    await sh("btrfs", ["subvolume", "create", path.join(top, "home")]);
    await sh("cp", ["-a", "/usr/share/doc/coreutils", path.join(top, "root/doc")]);
    await mkdir(path.join(top, "root/etc"));
    await writeFile(path.join(top, "root/etc/machine-id"), "0123456789abcdef0123456789abcdef\n");
    await writeFile(path.join(boot, "vmlinuz-6.8.5"), Buffer.alloc(MiB, 1));
    await mkdir(path.join(boot, "loader/entries"), { recursive: true });
    await writeFile(
      path.join(boot, "loader/entries/a-6.8.5.conf"),
      "title F\nlinux /vmlinuz-6.8.5\n",
    );
  }, 120_000);
  afterAll(async () => {
    await scratch?.cleanup();
  });

  const options = () => ({
    top,
    boot,
    product: "Contoso Laptop 14",
    build: "F40-R",
    recovery: { device: recoveryDevice, key: keys },
  });

  it("builds, signs and installs the set; a second run is a verified no-op", async () => {
    const phases: string[] = [];
    const first = (
      await provision(runner, {
        ...options(),
        onProgress: (e) => {
          if (phases.at(-1) !== e.phase) phases.push(e.phase);
        },
      })
    )._unsafeUnwrap();
    expect(phases).toEqual(["snapshot", "recovery-check", "recovery-build", "recovery-install"]);
    expect(first.recoveryImage).toEqual({
      setId: expect.stringMatching(/^Contoso_Laptop_14-F40_R-[0-9a-f]{12}$/),
      previousSetId: undefined,
      changed: true,
      device: recoveryDevice,
    });
    const after = await installed();
    expect(after).toMatchObject({
      setId: first.recoveryImage?.setId,
      verified: true,
      sets: [first.recoveryImage?.setId],
      current: `sets/${first.recoveryImage?.setId}`,
    });
    // The set carries the factory manifest of this very snapshot.
    const rec = await mountTemp(scratch, recoveryDevice, { type: "ext4" });
    const factory = JSON.parse(
      await (await import("node:fs/promises")).readFile(
        path.join(rec, "current", RECOVERY_FILES.factory),
        "utf8",
      ),
    );
    await unmount(rec);
    expect(factory.snapshot.uuid).toBe(first.snapshot.uuid);

    const second = (await provision(runner, options()))._unsafeUnwrap();
    expect(second.recoveryImage).toEqual({
      setId: first.recoveryImage?.setId,
      previousSetId: first.recoveryImage?.setId,
      changed: false,
      device: recoveryDevice,
    });
    expect(second.snapshot.uuid).toBe(first.snapshot.uuid);
    // Nothing on the partition was written again (same inodes, same change times).
    expect((await installed()).files).toEqual(after.files);
  }, 300_000);

  it("replaces a changed set atomically and refuses one the key does not trust", async () => {
    const before = await installed();
    const other = scratch.path("prebuilt");
    (
      await buildRecoveryImageSet(runner, {
        top,
        dir: other,
        key: keys,
        sourceDateEpoch: 1700000000,
      })
    )._unsafeUnwrap();
    const replaced = (
      await provision(runner, {
        ...options(),
        recovery: { device: recoveryDevice, set: other, trustedKeys: [keys.publicKey] },
      })
    )._unsafeUnwrap();
    expect(replaced.recoveryImage?.changed).toBe(true);
    expect(replaced.recoveryImage?.previousSetId).toBe(before.setId);
    expect(replaced.recoveryImage?.setId).not.toBe(before.setId);
    const now = await installed();
    expect(now).toMatchObject({
      setId: replaced.recoveryImage?.setId,
      verified: true,
      sets: [replaced.recoveryImage?.setId],
    });
    // Signed by a key nobody trusts: refused before anything is copied.
    const stranger = generateKeyPair();
    const refused = await provision(runner, {
      ...options(),
      recovery: { device: recoveryDevice, set: other, trustedKeys: [stranger.publicKey] },
    });
    expect(refused._unsafeUnwrapErr().code).toBe("IMAGE_UNTRUSTED_KEY");
    expect((await installed()).files).toEqual(now.files);
    // With the key: that set was built from this same factory snapshot, so it is kept.
    const same = (await provision(runner, options()))._unsafeUnwrap();
    expect(same.recoveryImage).toMatchObject({ changed: false, setId: now.setId });
    // A damaged installed set no longer verifies: it is rebuilt and replaced.
    const rec = await mountTemp(scratch, recoveryDevice, { type: "ext4" });
    const file = path.join(rec, "sets", now.setId, RECOVERY_FILES.root);
    const handle = await open(file, "r+");
    await handle.write(Buffer.from([0xff, 0x00, 0xff]), 0, 3, 4096);
    await handle.close();
    await unmount(rec);
    expect((await installed()).verified).toBe(false);
    const back = (await provision(runner, options()))._unsafeUnwrap();
    expect(back.recoveryImage).toMatchObject({ changed: true, previousSetId: now.setId });
    const repaired = await installed();
    expect(repaired).toMatchObject({ verified: true, sets: [back.recoveryImage?.setId] });
  }, 300_000);

  it("refuses a request that names neither or both ways to get a set", async () => {
    const r = await provision(runner, {
      ...options(),
      recovery: { device: recoveryDevice, key: keys, set: "/nonexistent" },
    });
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "RESET_BAD_REQUEST", field: "recovery" });
  });

  it("passes the security epoch to the set it builds; an older one is refused, the override installs and records it (issue #22)", async () => {
    const epoch = (n: number, more: object = {}) => ({
      ...options(),
      recovery: { device: recoveryDevice, key: keys, securityEpoch: n, ...more },
    });
    const two = (await provision(runner, epoch(2)))._unsafeUnwrap();
    expect(two.recoveryImage?.changed).toBe(true); // same factory, another epoch: rebuilt
    const current = async () => {
      const rec = await mountTemp(scratch, recoveryDevice, { type: "ext4" });
      try {
        const dir = (await readCurrentImageSet(rec))._unsafeUnwrap().dir;
        const v = (await verifyImageSet(dir, { trustedKeys: [keys.publicKey] }))._unsafeUnwrap();
        const log = await readRollbackLog(rec);
        return { epoch: v.manifest.securityEpoch, log: log._unsafeUnwrap() };
      } finally {
        await unmount(rec);
      }
    };
    expect(await current()).toEqual({ epoch: 2, log: [] });
    const refused = (await provision(runner, epoch(1)))._unsafeUnwrapErr();
    expect(refused).toMatchObject({ code: "IMAGE_ROLLBACK", offeredEpoch: 1, floorEpoch: 2 });
    expect((await current()).epoch).toBe(2);
    const over = await provision(runner, epoch(1, { allowRollback: { reason: "line test" } }));
    expect(over._unsafeUnwrap().recoveryImage?.changed).toBe(true);
    const after = await current();
    expect(after.epoch).toBe(1);
    expect(after.log).toMatchObject([
      { action: "install", fromEpoch: 2, toEpoch: 1, reason: "line test" },
    ]);
  }, 300_000);
});
