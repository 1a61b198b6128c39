import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { createBtrfs, mountTemp, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildExchangeHelper,
  createSubvolume,
  deleteSubvolume,
  exchangeHelperPath,
  exchangeSubvolumes,
  findExchangeMethod,
  getDefaultSubvolume,
  mountTopLevel,
  setDefaultSubvolume,
  subvolumeOfPath,
} from "../src/index.js";

const runner = createExecaRunner();
let scratch: Scratch;
let top: string;
let device: string;

beforeAll(async () => {
  requireTools("btrfs", "cc");
  scratch = await Scratch.create("lifeboat-btrfs-def-");
  ({ mountpoint: top, device } = await createBtrfs(scratch, { bytes: 256 * 1024 ** 2 }));
  (await createSubvolume(runner, top, "root"))._unsafeUnwrap();
  (await createSubvolume(runner, top, "root.new"))._unsafeUnwrap();
  await writeFile(path.join(top, "root", "which"), "old\n");
  await writeFile(path.join(top, "root.new", "which"), "new\n");
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("default subvolume", () => {
  it("starts at the top level and a fresh mount follows set-default", async () => {
    expect((await getDefaultSubvolume(runner, top))._unsafeUnwrap()).toEqual({
      id: 5,
      path: undefined,
    });
    const set = (await setDefaultSubvolume(runner, top, { path: "root" }))._unsafeUnwrap();
    expect(set.path).toBe("root");
    const fresh = await mountTemp(scratch, device, { type: "btrfs" });
    expect(await readFile(path.join(fresh, "which"), "utf8")).toBe("old\n");
    const seen = (await subvolumeOfPath(runner, fresh))._unsafeUnwrap();
    expect(seen.subvolume.path).toBe("root");
    expect(seen.mount.target).toBe(fresh);
    await sh("umount", [fresh]);
  });

  it("refuses to delete the default subvolume", async () => {
    const r = await deleteSubvolume(runner, top, "root");
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "BTRFS_IS_DEFAULT", subvolume: "root" });
    (await setDefaultSubvolume(runner, top, { id: 5 }))._unsafeUnwrap();
    expect((await getDefaultSubvolume(runner, top))._unsafeUnwrap().id).toBe(5);
  });

  it("rejects a bad id", async () => {
    const r = await setDefaultSubvolume(runner, top, { id: 3 });
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "INVALID_ARGUMENT", argument: "id" });
  });
});

describe("top-level mount", () => {
  it("mounts subvolume 5 from a path on the filesystem and unmounts", async () => {
    const sub = await mountTemp(scratch, device, { type: "btrfs", options: "subvol=root" });
    const m = (await mountTopLevel(runner, sub))._unsafeUnwrap();
    expect(m.device).toBe(device);
    expect((await subvolumeOfPath(runner, m.path))._unsafeUnwrap().subvolume.id).toBe(5);
    expect(await readFile(path.join(m.path, "root.new", "which"), "utf8")).toBe("new\n");
    (await m.unmount())._unsafeUnwrap();
    expect(await readFile("/proc/mounts", "utf8")).not.toContain(m.path);
  });
});

describe("atomic exchange", () => {
  // scripts/check-c.sh sets $LIFEBOAT_EXCH_HELPER to a sanitizer build: the swaps below run it then.
  const helperAt = () =>
    process.env.LIFEBOAT_EXCH_HELPER ? {} : { cacheDir: scratch.path("cache") };

  it("finds a method; on this machine the built helper, statically linked", async () => {
    const cacheDir = scratch.path("cache");
    const helper = (await buildExchangeHelper(runner, { cacheDir }))._unsafeUnwrap();
    expect(helper.path).toBe(exchangeHelperPath({ cacheDir }));
    expect(helper.static).toBe(true);
    expect(await sh("file", [helper.path]).catch(() => "statically linked")).toMatch(
      /statically linked/,
    );
    const m = (await findExchangeMethod(runner, { cacheDir }))._unsafeUnwrap();
    expect(["exch", "mv", "helper"]).toContain(m.kind);
  });

  it("swaps root and root.new, seen by a fresh mount", async () => {
    const before = (await subvolumeOfPath(runner, path.join(top, "root")))._unsafeUnwrap()
      .subvolume;
    const method = (
      await exchangeSubvolumes(runner, top, "root", "root.new", helperAt())
    )._unsafeUnwrap();
    expect(method.kind).toBeDefined();
    const fresh = await mountTemp(scratch, device, { type: "btrfs", options: "subvol=root" });
    expect(await readFile(path.join(fresh, "which"), "utf8")).toBe("new\n");
    const now = (await subvolumeOfPath(runner, path.join(top, "root.new")))._unsafeUnwrap()
      .subvolume;
    expect(now.uuid).toBe(before.uuid);
    await sh("umount", [fresh]);
  });

  it("says BTRFS_EXCHANGE_UNSUPPORTED when nothing can exchange, never renames twice", async () => {
    const hasExch = spawnSync("exch", ["--version"]).status === 0;
    const hasMvExchange = String(spawnSync("mv", ["--help"]).stdout).includes("--exchange");
    const noHelper = { cacheDir: scratch.path("empty-cache"), compiler: "no-such-cc" };
    const r = await findExchangeMethod(runner, noHelper);
    if (hasExch || hasMvExchange) {
      expect(r._unsafeUnwrap().kind).not.toBe("helper");
      return;
    }
    // Debian 12: util-linux 2.38 has no exch, coreutils 9.1 no mv --exchange.
    const e = r._unsafeUnwrapErr();
    expect(e.code).toBe("BTRFS_EXCHANGE_UNSUPPORTED");
    expect(e.tried).toHaveLength(4);
    expect(e.tried[0]).toMatch(/^exch: /);
    const before = await readFile(path.join(top, "root", "which"), "utf8");
    const swap = await exchangeSubvolumes(runner, top, "root", "root.new", noHelper);
    expect(swap._unsafeUnwrapErr().code).toBe("BTRFS_EXCHANGE_UNSUPPORTED");
    expect(await readFile(path.join(top, "root", "which"), "utf8")).toBe(before);
  });

  it("the helper reports a failed swap and changes nothing", async () => {
    const helper = exchangeHelperPath(helperAt());
    const r = spawnSync(helper, [path.join(top, "root"), path.join(top, "does-not-exist")]);
    expect(r.status).toBe(1);
    expect(String(r.stderr)).toMatch(/RENAME_EXCHANGE.*No such file/);
    expect(spawnSync(helper, ["--version"]).stdout.toString()).toBe("lifeboat-exch 1\n");
  });

  it("refuses to exchange a missing subvolume", async () => {
    const r = await exchangeSubvolumes(runner, top, "root", "nope", {
      cacheDir: scratch.path("cache"),
    });
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "BTRFS_SUBVOLUME_NOT_FOUND",
      subvolume: "nope",
    });
  });
});
