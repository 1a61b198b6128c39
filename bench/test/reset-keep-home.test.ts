import { requireRoot, requireTools } from "@lifeboat/testkit";
import { expect, it } from "vitest";
import { runResetBench } from "../reset-keep-home.js";

// Keeps the benchmark script from rotting: one reset and one rsync on a tiny root.
it("runResetBench times a keep-home reset and an rsync restore of the same tree", async () => {
  requireRoot();
  requireTools("mkfs.btrfs", "mkfs.ext4", "rsync");
  const [row] = await runResetBench([0.01], 1, { sources: ["/usr/lib/python3.11/lib-dynload"] });
  expect(row?.resetMs).toHaveLength(1);
  expect(row?.rsyncMs).toHaveLength(1);
  expect(row?.programs).toBeGreaterThan(0);
  expect(Object.keys(row?.stepMs ?? {})).toContain("swap-root");
}, 180_000);
