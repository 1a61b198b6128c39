/**
 * The smaller commands through the real binary, on a plain Btrfs (`--top`)
 * and files: subvolumes (delete goes through a plan), and `update`
 * assembling an image from a casync index with the old image as seed.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createBtrfs, requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  planRunDataSchema,
  subvolListDataSchema,
  subvolSetDefaultDataSchema,
  subvolumeSchema,
  updateDataSchema,
} from "../src/json-schemas.js";
import { cli, cliJson, cliJsonFailure, ensureBuilt } from "./support.js";

let scratch: Scratch;
let top: string;

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-prim-");
  top = (await createBtrfs(scratch, { bytes: 256 * 1024 * 1024 })).mountpoint;
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("subvol and update through the binary", () => {
  it("creates, snapshots, sets the default, and deletes only with the plan's digest", () => {
    const a = cliJson(["subvol", "create", "data", "--top", top], subvolumeSchema);
    const s = cliJson(
      ["subvol", "snapshot", "data", "snaps/data-1", "--read-only", "--top", top],
      subvolumeSchema,
    );
    expect([s.readOnly, s.parentUuid]).toEqual([true, a.uuid]);
    expect(
      cliJson(["subvol", "set-default", "data", "--top", top], subvolSetDefaultDataSchema).id,
    ).toBe(a.id);
    expect(cli(["subvol", "set-default", "5", "--top", top]).code).toBe(0);
    const dry = cliJson(
      ["subvol", "delete", "snaps/data-1", "--top", top, "--dry-run"],
      planRunDataSchema,
    );
    expect(dry.executed).toBe(false);
    expect(dry.plan.steps[0]?.destroys[0]?.what).toContain("snaps/data-1");
    expect(cli(["subvol", "delete", "snaps/data-1", "--top", top]).code).toBe(3); // no terminal
    const del = cliJson(
      ["subvol", "delete", "snaps/data-1", "--top", top, "--yes", "--confirm", dry.plan.digest],
      planRunDataSchema,
    );
    expect(del.executed).toBe(true);
    const left = cliJson(["subvol", "list", "--top", top], subvolListDataSchema).subvolumes.map(
      (x) => x.path,
    );
    expect(left).toEqual(["data"]);
    expect(cliJsonFailure(["subvol", "list"]).code).toBe(2);
  });

  it("update assembles the new image from seed and store, byte-identical", async () => {
    const old = scratch.path("old.img");
    const next = scratch.path("new.img");
    const base = randomBytes(6 * 1024 * 1024);
    await writeFile(old, base);
    const changed = Buffer.from(base);
    randomBytes(64 * 1024).copy(changed, 3 * 1024 * 1024);
    await writeFile(next, changed);
    const index = scratch.path("new.caibx");
    requireTools("casync");
    // the index and chunks made by casync itself (what an update server publishes)
    const made = spawnSync("casync", ["make", `--store=${scratch.path("store")}`, index, next], {
      stdio: "ignore",
      timeout: 60_000,
    });
    expect(made.status).toBe(0);
    const out = scratch.path("assembled.img");
    const d = cliJson(
      ["update", index, out, "--store", scratch.path("store"), "--seed", old],
      updateDataSchema,
    );
    expect((await readFile(out)).equals(changed)).toBe(true);
    expect(d.bytesFromSeeds).toBeGreaterThan(d.bytesFromStores);
  });
});
