import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { expect, it } from "vitest";
import { benchThroughput } from "../casync-throughput.js";

// Keeps the benchmark script from rotting: one run on a small input (it also checks the indexes match).
it("benchThroughput runs both tools and compares their indexes", async () => {
  requireTools("casync");
  const scratch = await Scratch.create("lifeboat-casync-benchtest-");
  try {
    await writeFile(scratch.path("in.bin"), randomBytes(2 * 1024 * 1024));
    const rows = await benchThroughput(scratch.path("in.bin"), 1);
    expect(rows.map((r) => r.name)).toEqual(["casync make", "@lifeboat/casync makeIndex"]);
    expect(rows.every((r) => r.median > 0)).toBe(true);
  } finally {
    await scratch.cleanup();
  }
});
