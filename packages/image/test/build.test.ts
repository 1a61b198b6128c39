// Reproducible filesystem images: the same input gives the same bytes, with
// squashfs and EROFS, and the images are valid (unsquashfs / fsck.erofs read them).
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createExecaRunner } from "@lifeboat/core";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, expect, test } from "vitest";
import { buildErofs, buildSquashfs } from "../src/index.js";

requireTools("mksquashfs", "unsquashfs", "mkfs.erofs", "fsck.erofs");
const runner = createExecaRunner();
const scratch = await Scratch.create("lifeboat-image-build-");
afterAll(() => scratch.cleanup());
const source = "/usr/share/perl5/Debian";

test("squashfs: two builds are byte-identical and list the same files", async () => {
  const opts = { sourceDir: source, sourceDateEpoch: 1767225600, compression: "xz" as const };
  const a = (
    await buildSquashfs(runner, { ...opts, output: scratch.path("a.sqfs") })
  )._unsafeUnwrap();
  const b = (
    await buildSquashfs(runner, { ...opts, output: scratch.path("b.sqfs") })
  )._unsafeUnwrap();
  expect(a.args).toContain("-mkfs-time");
  expect((await readFile(a.path)).equals(await readFile(b.path))).toBe(true);
  const listing = execFileSync("unsquashfs", ["-l", a.path]).toString();
  expect(listing).toContain("squashfs-root/DebConf");
});

test("EROFS: two builds are byte-identical and pass fsck.erofs", async () => {
  const opts = { sourceDir: source, sourceDateEpoch: 1767225600 };
  const a = (
    await buildErofs(runner, { ...opts, output: scratch.path("a.erofs") })
  )._unsafeUnwrap();
  const b = (
    await buildErofs(runner, { ...opts, output: scratch.path("b.erofs") })
  )._unsafeUnwrap();
  expect((await readFile(a.path)).equals(await readFile(b.path))).toBe(true);
  execFileSync("fsck.erofs", [a.path]);
});

test("a bad epoch is refused before running anything", async () => {
  const r = await buildSquashfs(runner, {
    sourceDir: source,
    output: scratch.path("x.sqfs"),
    sourceDateEpoch: -1,
  });
  expect(r._unsafeUnwrapErr()).toMatchObject({
    code: "INVALID_ARGUMENT",
    argument: "sourceDateEpoch",
  });
});
