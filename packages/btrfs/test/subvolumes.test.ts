import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { createBtrfs, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSubvolume,
  deleteSubvolume,
  getReadOnly,
  listSubvolumes,
  renameSubvolume,
  setReadOnly,
  showSubvolume,
  snapshot,
} from "../src/index.js";

const runner = createExecaRunner();
let scratch: Scratch;
let top: string;

beforeAll(async () => {
  requireTools("btrfs");
  scratch = await Scratch.create("lifeboat-btrfs-sub-");
  ({ mountpoint: top } = await createBtrfs(scratch, { bytes: 512 * 1024 ** 2 }));
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("subvolumes on a real btrfs", () => {
  it("creates nested subvolumes and lists them with their facts", async () => {
    const a = (await createSubvolume(runner, top, "root"))._unsafeUnwrap();
    expect(a.path).toBe("root");
    expect(a.readOnly).toBe(false);
    (
      await createSubvolume(runner, top, "root/var/lib/machines", { parents: true })
    )._unsafeUnwrap();
    (await createSubvolume(runner, top, "with space/sub vol", { parents: true }))._unsafeUnwrap();
    const all = (await listSubvolumes(runner, top))._unsafeUnwrap();
    const byPath = new Map(all.map((s) => [s.path, s]));
    expect([...byPath.keys()].sort()).toEqual([
      "root",
      "root/var/lib/machines",
      "with space/sub vol",
    ]);
    const nested = byPath.get("root/var/lib/machines")!;
    expect(nested.parentId).toBe(a.id);
    expect(nested.uuid).toMatch(/^[0-9a-f-]{36}$/);
    // A second opinion: btrfs's own listing names the same ids.
    const raw = await sh("btrfs", ["subvolume", "list", top]);
    for (const s of all) expect(raw).toContain(`ID ${s.id} `);
  });

  it("makes a read-only snapshot that cannot be written", async () => {
    await writeFile(path.join(top, "root", "etc-file"), "factory\n");
    const snap = (
      await snapshot(runner, top, "root", "snapshots/factory", { readOnly: true, parents: true })
    )._unsafeUnwrap();
    expect(snap.readOnly).toBe(true);
    expect(snap.parentUuid).toBe((await showSubvolume(runner, top, "root"))._unsafeUnwrap().uuid);
    expect((await getReadOnly(runner, top, "snapshots/factory"))._unsafeUnwrap()).toBe(true);
    await expect(writeFile(path.join(top, "snapshots/factory/new"), "x")).rejects.toMatchObject({
      code: "EROFS",
    });
    // Nested subvolumes are not part of a snapshot: an empty directory stands in.
    const list = (await listSubvolumes(runner, top))._unsafeUnwrap();
    expect(list.find((s) => s.path === "snapshots/factory")?.readOnly).toBe(true);
    expect(list.some((s) => s.path.startsWith("snapshots/factory/"))).toBe(false);
  });

  it("toggles the read-only property", async () => {
    (await snapshot(runner, top, "root", "scratch-snap"))._unsafeUnwrap();
    expect(
      (await setReadOnly(runner, top, "scratch-snap", { readOnly: true }))._unsafeUnwrap(),
    ).toBe(true);
    await expect(writeFile(path.join(top, "scratch-snap/x"), "x")).rejects.toMatchObject({
      code: "EROFS",
    });
    expect(
      (await setReadOnly(runner, top, "scratch-snap", { readOnly: false }))._unsafeUnwrap(),
    ).toBe(false);
    await writeFile(path.join(top, "scratch-snap/x"), "x");
  });

  it("refuses to snapshot onto an existing path", async () => {
    const r = await snapshot(runner, top, "root", "scratch-snap");
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "BTRFS_PATH_EXISTS", path: "scratch-snap" });
  });

  it("renames a subvolume and refuses to overwrite", async () => {
    (
      await renameSubvolume(runner, top, "scratch-snap", "moved/here", { parents: true })
    )._unsafeUnwrap();
    expect((await showSubvolume(runner, top, "moved/here"))._unsafeUnwrap().path).toBe(
      "moved/here",
    );
    const clash = await renameSubvolume(runner, top, "moved/here", "root");
    expect(clash._unsafeUnwrapErr().code).toBe("BTRFS_PATH_EXISTS");
  });

  it("deletes recursively, deepest first, and refuses nested without recursive", async () => {
    (await snapshot(runner, top, "root", "doomed"))._unsafeUnwrap();
    (await createSubvolume(runner, top, "doomed/a"))._unsafeUnwrap();
    (await createSubvolume(runner, top, "doomed/a/b"))._unsafeUnwrap();
    const refused = await deleteSubvolume(runner, top, "doomed");
    expect(refused._unsafeUnwrapErr()).toMatchObject({
      code: "INVALID_ARGUMENT",
      argument: "recursive",
    });
    const r = (await deleteSubvolume(runner, top, "doomed", { recursive: true }))._unsafeUnwrap();
    expect(r.deleted).toEqual(["doomed/a/b", "doomed/a", "doomed"]);
    const left = (await listSubvolumes(runner, top))._unsafeUnwrap().map((s) => s.path);
    expect(left.some((p) => p.startsWith("doomed"))).toBe(false);
  });

  it("refuses unsafe paths: .., absolute, NUL, symlink escapes", async () => {
    await mkdir(path.join(top, "links"), { recursive: true });
    await symlink("/tmp", path.join(top, "links/out"));
    for (const [p, reason] of [
      ["../x", "traversal"],
      ["/etc", "absolute"],
      ["a\0b", "nul-byte"],
      ["links/out/evil", "symlink-escape"],
    ] as const) {
      const r = await createSubvolume(runner, top, p);
      expect(r._unsafeUnwrapErr()).toMatchObject({ code: "UNSAFE_PATH", reason });
    }
    const del = await deleteSubvolume(runner, top, "../../etc");
    expect(del._unsafeUnwrapErr().code).toBe("UNSAFE_PATH");
  });

  it("reports a missing subvolume and a plain directory as not found", async () => {
    await mkdir(path.join(top, "plain"), { recursive: true });
    for (const p of ["nothing-here", "plain"]) {
      const r = await deleteSubvolume(runner, top, p);
      expect(r._unsafeUnwrapErr()).toMatchObject({
        code: "BTRFS_SUBVOLUME_NOT_FOUND",
        subvolume: p,
      });
    }
  });

  it("refuses a directory that is not the top level", async () => {
    const r = await listSubvolumes(runner, path.join(top, "root"));
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "BTRFS_NOT_TOP_LEVEL" });
    const r2 = await listSubvolumes(runner, "/proc");
    expect(r2._unsafeUnwrapErr().code).toBe("BTRFS_NOT_BTRFS");
  });
});
