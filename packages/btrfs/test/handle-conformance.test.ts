/**
 * One suite for the one contract of `openBtrfs`, run against each backend
 * (the agent and the `btrfs` programs) on a real loop-backed Btrfs, the way
 * unstorage tests every driver with one suite; then the two backends'
 * answers compared with each other.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import { createBtrfs, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { okAsync, ResultAsync } from "neverthrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BtrfsBackend,
  type BtrfsHandle,
  createSubvolume,
  filesystemInfo,
  openBtrfs,
  setDefaultSubvolume,
  showSubvolume,
  withBtrfs,
} from "../src/index.js";

const runner = createExecaRunner();
let scratch: Scratch;
let top: string;
let device: string;

// Names a line protocol or a program's text output could trip over.
const ODD = "odd dir/x=1,y z/ünï sub";
const NAMES = ["root", "root/nested", ODD, "snaps/factory"];

function must<T>(r: { isErr(): boolean; _unsafeUnwrap(): T; _unsafeUnwrapErr(): unknown }): T {
  if (r.isErr()) throw new Error(JSON.stringify(r._unsafeUnwrapErr()));
  return r._unsafeUnwrap();
}

/** The runner, counting the agents it starts. */
function countingRunner(base: CommandRunner): CommandRunner & { agents: number } {
  const counted = {
    agents: 0,
    run: base.run.bind(base),
    runBytes: base.runBytes.bind(base),
    spawn: (c: string, a: readonly string[], o?: Parameters<CommandRunner["spawn"]>[2]) => {
      if (path.basename(c).startsWith("lifeboat-btrfs-agent")) counted.agents++;
      return base.spawn(c, a, o);
    },
  };
  return counted;
}

beforeAll(async () => {
  requireTools("btrfs", "cc");
  scratch = await Scratch.create("lifeboat-btrfs-handle-");
  ({ mountpoint: top, device } = await createBtrfs(scratch, { bytes: 256 * 1024 ** 2 }));
  must(await createSubvolume(runner, top, "root"));
  must(await createSubvolume(runner, top, "root/nested"));
  must(await createSubvolume(runner, top, ODD, { parents: true }));
  await mkdir(path.join(top, "snaps"));
  await mkdir(path.join(top, "plain dir"));
  await writeFile(path.join(top, "root", "which"), "root\n");
  await sh("btrfs", [
    "subvolume",
    "snapshot",
    "-r",
    path.join(top, "root"),
    path.join(top, "snaps/factory"),
  ]);
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe.each<BtrfsBackend>(["agent", "programs"])("the %s backend", (backend) => {
  let fs: BtrfsHandle;
  // Every name this backend makes is its own, so both suites share one filesystem.
  const mine = (name: string) => `${backend}/${name}`;

  beforeAll(async () => {
    fs = must(await openBtrfs(runner, top, { backend }));
    await mkdir(path.join(top, backend));
  });
  afterAll(async () => {
    await fs?.close();
  });

  it("says which backend it is", () => {
    expect(fs.backend).toBe(backend);
    expect(fs.top).toBe(top);
  });

  it("gives the facts of subvolumes with odd names, nested ones and read-only snapshots", async () => {
    const root = must(await fs.subvolume("root"));
    expect(root).toMatchObject({ readOnly: false, parentId: 5, parentUuid: undefined });
    expect(root.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(must(await fs.subvolume("root/nested"))).toMatchObject({ parentId: root.id });
    expect(must(await fs.subvolume(ODD)).id).toBeGreaterThan(256);
    expect(must(await fs.subvolume("snaps/factory"))).toMatchObject({
      readOnly: true,
      parentUuid: root.uuid,
    });
  });

  it("refuses a plain directory and a missing path as not a subvolume", async () => {
    expect((await fs.subvolume("plain dir"))._unsafeUnwrapErr().code).toBe(
      "BTRFS_SUBVOLUME_NOT_FOUND",
    );
    expect((await fs.subvolume("nope"))._unsafeUnwrapErr().code).toBe("BTRFS_SUBVOLUME_NOT_FOUND");
    expect((await fs.subvolume("../escape"))._unsafeUnwrapErr().code).toBe("UNSAFE_PATH");
  });

  it("lists every subvolume with its path from the top level", async () => {
    const list = must(await fs.listSubvolumes());
    for (const name of NAMES) expect(list.map((s) => s.path)).toContain(name);
    expect(list.find((s) => s.path === "snaps/factory")?.readOnly).toBe(true);
    expect(list.find((s) => s.path === "root")?.id).toBe(must(await fs.subvolume("root")).id);
  });

  it("reads the default subvolume", async () => {
    expect(must(await fs.defaultSubvolumeId())).toBe(5);
  });

  it("reads the filesystem UUID and its device", async () => {
    const info = must(await fs.filesystem());
    expect(info.uuid).toBe(must(await filesystemInfo(runner, top)).uuid);
    expect(info.devices.map((d) => d.path)).toEqual([device]);
    expect(info.devices[0]?.size).toBe(256 * 1024 ** 2);
  });

  it("makes read-only and writable snapshots under odd names, parents created on request", async () => {
    const root = must(await fs.subvolume("root"));
    must(await fs.snapshot("root", mine(`${ODD}/ro`), { readOnly: true, parents: true }));
    must(await fs.snapshot(ODD, mine("rw=1,x ü")));
    expect(must(await fs.subvolume(mine(`${ODD}/ro`)))).toMatchObject({
      readOnly: true,
      parentUuid: root.uuid,
    });
    expect(must(await showSubvolume(runner, top, mine("rw=1,x ü")))).toMatchObject({
      readOnly: false,
      parentUuid: must(await fs.subvolume(ODD)).uuid,
    });
    expect(await readFile(path.join(top, mine(`${ODD}/ro`), "which"), "utf8")).toBe("root\n");
  });

  it("refuses a snapshot onto an existing path, of a plain directory, of a missing path", async () => {
    const exists = (await fs.snapshot("root", "plain dir"))._unsafeUnwrapErr();
    expect(exists).toMatchObject({ code: "BTRFS_PATH_EXISTS", path: "plain dir" });
    const taken = (await fs.snapshot("root", "snaps/factory"))._unsafeUnwrapErr();
    expect(taken.code).toBe("BTRFS_PATH_EXISTS");
    const plain = (await fs.snapshot("plain dir", mine("from-plain")))._unsafeUnwrapErr();
    expect(plain.code).toBe("BTRFS_SUBVOLUME_NOT_FOUND");
    const missing = (await fs.snapshot("nope", mine("from-missing")))._unsafeUnwrapErr();
    expect(missing.code).toBe("BTRFS_SUBVOLUME_NOT_FOUND");
    const noParent = (await fs.snapshot("root", mine("no/parent")))._unsafeUnwrapErr();
    expect(noParent.code).not.toBe("BTRFS_PATH_EXISTS");
  });

  it("exchanges two subvolumes' names atomically, and refuses a plain directory", async () => {
    must(await fs.snapshot("root", mine("a b")));
    must(await fs.snapshot("root", mine("c=d")));
    await writeFile(path.join(top, mine("c=d"), "which"), "c\n");
    const [a, c] = [must(await fs.subvolume(mine("a b"))), must(await fs.subvolume(mine("c=d")))];
    must(await fs.exchange(mine("a b"), mine("c=d")));
    expect(must(await fs.subvolume(mine("a b"))).uuid).toBe(c.uuid);
    expect(must(await fs.subvolume(mine("c=d"))).uuid).toBe(a.uuid);
    expect(await readFile(path.join(top, mine("a b"), "which"), "utf8")).toBe("c\n");
    expect((await fs.exchange(mine("a b"), "plain dir"))._unsafeUnwrapErr().code).toBe(
      "BTRFS_SUBVOLUME_NOT_FOUND",
    );
    expect((await fs.exchange("nope", mine("a b")))._unsafeUnwrapErr().code).toBe(
      "BTRFS_SUBVOLUME_NOT_FOUND",
    );
  });

  it("deletes a subvolume with the ones nested in it, and refuses unasked nesting and the default", async () => {
    must(await fs.snapshot("root", mine("doomed")));
    must(await createSubvolume(runner, top, mine("doomed/inner ü")));
    const refused = (await fs.deleteSubvolume(mine("doomed")))._unsafeUnwrapErr();
    expect(refused.code).toBe("INVALID_ARGUMENT");
    must(await setDefaultSubvolume(runner, top, { path: mine("doomed") }));
    try {
      const dflt = (
        await fs.deleteSubvolume(mine("doomed"), { recursive: true })
      )._unsafeUnwrapErr();
      expect(dflt.code).toBe("BTRFS_IS_DEFAULT");
      expect(must(await fs.defaultSubvolumeId())).toBe(must(await fs.subvolume(mine("doomed"))).id);
    } finally {
      must(await setDefaultSubvolume(runner, top, { id: 5 }));
    }
    const done = must(await fs.deleteSubvolume(mine("doomed"), { recursive: true }));
    expect(done.deleted).toEqual([mine("doomed/inner ü"), mine("doomed")]);
    expect((await fs.subvolume(mine("doomed")))._unsafeUnwrapErr().code).toBe(
      "BTRFS_SUBVOLUME_NOT_FOUND",
    );
    expect((await fs.deleteSubvolume("plain dir"))._unsafeUnwrapErr().code).toBe(
      "BTRFS_SUBVOLUME_NOT_FOUND",
    );
  });

  it("refuses a directory that is not the top level, and answers nothing once closed or cancelled", async () => {
    const notTop = (
      await openBtrfs(runner, path.join(top, "root"), { backend })
    )._unsafeUnwrapErr();
    expect(notTop.code).toBe("BTRFS_NOT_TOP_LEVEL");
    const other = must(await openBtrfs(runner, top, { backend }));
    await other.close();
    await other.close();
    expect((await other.subvolume("root"))._unsafeUnwrapErr().code).toBe("INVALID_ARGUMENT");
    const ac = new AbortController();
    const cancelled = must(await openBtrfs(runner, top, { backend, signal: ac.signal }));
    ac.abort();
    expect((await cancelled.listSubvolumes())._unsafeUnwrapErr().code).toBe("ABORTED");
    expect(
      (await openBtrfs(runner, top, { backend, signal: ac.signal }))._unsafeUnwrapErr().code,
    ).toBe("ABORTED");
  });
});

describe("both backends", () => {
  it("give equal answers: facts, list, default subvolume, filesystem", async () => {
    const answers = await Promise.all(
      (["agent", "programs"] as const).map((backend) =>
        withBtrfs(
          runner,
          top,
          (fs) =>
            fs.listSubvolumes().andThen((list) =>
              fs.defaultSubvolumeId().andThen((def) =>
                fs.filesystem().andThen((info) =>
                  // one `subvolume` call per listed name: every odd name included
                  ResultAsync.combine(list.map((s) => fs.subvolume(s.path))).map((facts) => ({
                    backend: fs.backend,
                    list: [...list].sort((x, y) => x.id - y.id),
                    facts: facts.sort((x, y) => x.id - y.id),
                    def,
                    info,
                  })),
                ),
              ),
            ),
          { backend },
        ),
      ),
    );
    const [agent, programs] = answers.map(must);
    expect(agent?.backend).toBe("agent");
    expect(programs?.backend).toBe("programs");
    expect(agent?.list.length).toBeGreaterThanOrEqual(NAMES.length + 6);
    expect(agent?.list).toEqual(programs?.list);
    expect(agent?.facts).toEqual(programs?.facts);
    expect(agent?.def).toBe(programs?.def);
    expect(agent?.info).toEqual(programs?.info);
  });
});

describe("choosing a backend", () => {
  it("auto takes the agent, and the programs with LIFEBOAT_BTRFS_AGENT=0", async () => {
    expect(must(await withBtrfs(runner, top, (fs) => okAsync(fs.backend)))).toBe("agent");
    process.env.LIFEBOAT_BTRFS_AGENT = "0";
    try {
      expect(must(await withBtrfs(runner, top, (fs) => okAsync(fs.backend)))).toBe("programs");
    } finally {
      delete process.env.LIFEBOAT_BTRFS_AGENT;
    }
  });

  it("shares one agent among the handles of one runner, and ends it after the last one closes", async () => {
    const counted = countingRunner(runner);
    const a = must(await openBtrfs(counted, top));
    const b = must(await openBtrfs(counted, top));
    await Promise.all([a.subvolume("root"), b.listSubvolumes()]);
    await a.close();
    // opened and closed at once after another: still the same agent
    must(await withBtrfs(counted, top, (fs) => fs.subvolume(ODD)));
    await b.close();
    must(await withBtrfs(counted, top, (fs) => fs.defaultSubvolumeId()));
    expect(counted.agents).toBe(1);
    await new Promise((r) => setImmediate(r));
    must(await withBtrfs(counted, top, (fs) => fs.defaultSubvolumeId()));
    await new Promise((r) => setImmediate(r));
    expect(counted.agents).toBe(2);
  });

  it("reports an agent that cannot be started when the agent is asked for", async () => {
    const noAgent = { build: false, cacheDir: scratch.path("no-build") };
    const asked = await openBtrfs(countingRunner(runner), top, { backend: "agent", ...noAgent });
    expect(asked._unsafeUnwrapErr()).toMatchObject({ code: "IO_FAILED", errno: "ENOENT" });
    // an explicit request that failed does not rule the agent out for "auto"
    expect(must(await withBtrfs(runner, top, (fs) => okAsync(fs.backend)))).toBe("agent");
  });

  // Last: once "auto" fails to start the agent, this process does not try again.
  it("falls back on the programs when auto cannot start the agent", async () => {
    const noAgent = { build: false, cacheDir: scratch.path("no-build") };
    const fallback = must(
      await withBtrfs(
        countingRunner(runner),
        top,
        (fs) => fs.subvolume("root").map(() => fs.backend),
        noAgent,
      ),
    );
    expect(fallback).toBe("programs");
  });
});
