import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describeRescueTarget } from "@lifeboat/reset";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("describeRescueTarget", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "rescue-target-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("measures free bytes and the filesystem type of the mount the directory is on", async () => {
    const t = (await describeRescueTarget(dir))._unsafeUnwrap();
    expect(t.directory).toBe(dir);
    expect(t.freeBytes).toBeGreaterThan(0);
    expect(typeof t.fsType).toBe("string");
  });

  it("a missing directory is IO_FAILED naming it, never a throw", async () => {
    const r = await describeRescueTarget(path.join(dir, "missing"));
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "IO_FAILED",
      path: path.join(dir, "missing"),
    });
  });
});
