import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { createBtrfs, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BtrfsAgent,
  createSubvolume,
  filesystemInfo,
  getDefaultSubvolume,
  listSubvolumes,
  setDefaultSubvolume,
  showSubvolume,
  snapshot,
  startBtrfsAgent,
} from "../src/index.js";

const runner = createExecaRunner();
let scratch: Scratch;
let top: string;
let agent: BtrfsAgent;

// Names a line protocol could trip over: spaces, non-ASCII, '=' and ','.
const ODD = "odd dir/x=1,y z/ünï sub";

function must<T>(
  r: { isErr(): boolean; _unsafeUnwrap(): T; _unsafeUnwrapErr(): unknown },
  what: string,
): T {
  if (r.isErr()) throw new Error(`${what}: ${JSON.stringify(r._unsafeUnwrapErr())}`);
  return r._unsafeUnwrap();
}

beforeAll(async () => {
  requireTools("btrfs", "cc");
  scratch = await Scratch.create("lifeboat-btrfs-agent-");
  ({ mountpoint: top } = await createBtrfs(scratch, { bytes: 256 * 1024 ** 2 }));
  must(await createSubvolume(runner, top, "root"), "root");
  must(await createSubvolume(runner, top, "root/nested"), "nested");
  const odd = await createSubvolume(runner, top, ODD, { parents: true });
  if (odd.isErr()) throw new Error(odd.error.message);
  await mkdir(path.join(top, "snaps"));
  must(await snapshot(runner, top, "root", "snaps/factory", { readOnly: true }), "snapshot");
  agent = must(await startBtrfsAgent(runner), "start");
});
afterAll(async () => {
  await agent?.close();
  await scratch?.cleanup();
});

describe("lifeboat-btrfs-agent", () => {
  it("lists the same subvolumes as `btrfs subvolume list`, odd names included", async () => {
    const mine = (await agent.listSubvolumes(top))._unsafeUnwrap();
    const listed = await listSubvolumes(runner, top);
    if (listed.isErr()) throw new Error(JSON.stringify(listed.error));
    const theirs = listed.value;
    const key = (s: { id: number; path: string; uuid: string; parentUuid: string | undefined }) =>
      `${s.id} ${JSON.stringify(s.path)} ${s.uuid} ${s.parentUuid ?? "-"}`;
    expect(mine.map(key).sort()).toEqual(theirs.map(key).sort());
    expect(mine.map((s) => s.path).sort()).toEqual(
      ["root", "root/nested", ODD, "snaps/factory"].sort(),
    );
    for (const s of mine) {
      const t = theirs.find((x) => x.id === s.id)!;
      expect(s).toMatchObject({
        parentId: t.parentId,
        generation: t.generation,
        createdGeneration: t.createdGeneration,
        readOnly: t.readOnly,
        receivedUuid: t.receivedUuid,
      });
    }
    expect(mine.find((s) => s.path === "snaps/factory")?.readOnly).toBe(true);
  });

  it("lists a name with a newline, which `btrfs subvolume list` output cannot carry", async () => {
    const name = "two\nlines";
    must(await createSubvolume(runner, top, name), "create");
    const mine = (await agent.listSubvolumes(top))._unsafeUnwrap();
    expect(mine.map((s) => s.path)).toContain(name);
    expect((await agent.subvolume(path.join(top, name)))._unsafeUnwrap().id).toBe(
      mine.find((s) => s.path === name)?.id,
    );
    expect((await listSubvolumes(runner, top)).isErr()).toBe(true);
    // btrfs-progs' own delete (ours lists subvolumes first, which this name breaks)
    await sh("btrfs", ["subvolume", "delete", path.join(top, name)]);
  });

  it("answers one subvolume's facts like `btrfs subvolume show`", async () => {
    for (const rel of ["root", "snaps/factory", ODD]) {
      const mine = (await agent.subvolume(path.join(top, rel)))._unsafeUnwrap();
      const theirs = (await showSubvolume(runner, top, rel))._unsafeUnwrap();
      expect(mine).toMatchObject({
        id: theirs.id,
        uuid: theirs.uuid,
        parentUuid: theirs.parentUuid,
        readOnly: theirs.readOnly,
      });
    }
  });

  it("refuses a plain directory and a missing path with typed errors", async () => {
    const plain = (await agent.subvolume(path.join(top, "snaps")))._unsafeUnwrapErr();
    expect(plain).toMatchObject({ code: "IO_FAILED", errno: "EINVAL", operation: "info" });
    const missing = (await agent.subvolume(path.join(top, "nope")))._unsafeUnwrapErr();
    expect(missing).toMatchObject({ code: "IO_FAILED", errno: "ENOENT" });
    // and it still answers afterwards
    expect((await agent.subvolume(path.join(top, "root"))).isOk()).toBe(true);
  });

  it("reads the default subvolume and the devices like btrfs-progs", async () => {
    expect((await agent.defaultSubvolumeId(top))._unsafeUnwrap()).toBe(5);
    (await setDefaultSubvolume(runner, top, { path: "root" }))._unsafeUnwrap();
    const id = (await agent.defaultSubvolumeId(top))._unsafeUnwrap();
    expect(id).toBe((await getDefaultSubvolume(runner, top))._unsafeUnwrap().id);
    expect(id).not.toBe(5);
    (await setDefaultSubvolume(runner, top, { id: 5 }))._unsafeUnwrap();
    const devs = (await agent.devices(top))._unsafeUnwrap();
    const info = (await filesystemInfo(runner, top))._unsafeUnwrap();
    expect(devs.fsUuid).toBe(info.uuid);
    expect(devs.devices.map((d) => d.path)).toEqual(info.devices.map((d) => d.path));
    expect(devs.devices[0]?.totalBytes).toBe(info.devices[0]?.size);
  });

  it("snapshots (read-only and writable) and exchanges names", async () => {
    (
      await agent.snapshot(path.join(top, "root"), path.join(top, "snaps/ro"), { readOnly: true })
    )._unsafeUnwrap();
    (await agent.snapshot(path.join(top, "root"), path.join(top, "root.new")))._unsafeUnwrap();
    const ro = (await showSubvolume(runner, top, "snaps/ro"))._unsafeUnwrap();
    const rw = (await showSubvolume(runner, top, "root.new"))._unsafeUnwrap();
    const root = (await showSubvolume(runner, top, "root"))._unsafeUnwrap();
    expect(ro).toMatchObject({ readOnly: true, parentUuid: root.uuid });
    expect(rw).toMatchObject({ readOnly: false, parentUuid: root.uuid });
    const again = (
      await agent.snapshot(path.join(top, "root"), path.join(top, "root.new"))
    )._unsafeUnwrapErr();
    expect(again).toMatchObject({ code: "IO_FAILED", errno: "EEXIST" });
    await writeFile(path.join(top, "root.new", "which"), "new\n");
    (await agent.exchange(path.join(top, "root"), path.join(top, "root.new")))._unsafeUnwrap();
    expect(await readFile(path.join(top, "root", "which"), "utf8")).toBe("new\n");
    expect((await showSubvolume(runner, top, "root"))._unsafeUnwrap().uuid).toBe(rw.uuid);
  });

  it("answers requests made together, in order, and reports its end", async () => {
    const all = await Promise.all([
      agent.subvolume(path.join(top, "root")),
      agent.defaultSubvolumeId(top),
      agent.listSubvolumes(top),
      agent.subvolume(path.join(top, "nope")),
      agent.devices(top),
    ]);
    expect(all.map((r) => r.isOk())).toEqual([true, true, true, false, true]);
    const second = (await startBtrfsAgent(runner))._unsafeUnwrap();
    await second.close();
    const after = (await second.subvolume(path.join(top, "root")))._unsafeUnwrapErr();
    expect(after.message).toMatch(/ended before it answered/);
  });

  it("answers each malformed request with one err line", async () => {
    const helper = (await import("../src/index.js")).agentHelperPath();
    const out = await sh(helper, [], { stdin: "info zz\nfrobnicate\ninfo\n" });
    expect(
      out
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]),
    ).toEqual(["err", "err", "err"]);
  });
});
