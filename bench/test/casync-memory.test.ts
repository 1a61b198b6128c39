import { requireTools, Scratch } from "@lifeboat/testkit";
import { expect, it } from "vitest";
import { benchMemory, makeInput } from "../casync-memory.js";

// Keeps the benchmark script from rotting: one run of each tool on a small input.
it("benchMemory measures the peak memory of casync make and makeIndex", async () => {
  requireTools("casync");
  const scratch = await Scratch.create("lifeboat-casync-memtest-");
  try {
    makeInput(scratch.path("in.bin"), 8, true);
    const r = benchMemory(scratch.path("in.bin"), 1);
    expect(r.inputMiB).toBe(8);
    expect(r.casyncMedian).toBeGreaterThan(0);
    expect(r.lifeboatMedian).toBeGreaterThan(0);
  } finally {
    await scratch.cleanup();
  }
});
