// Keeps bench/image-verify.ts from rotting: its core function on 8 MiB, one run.
import { expect, test } from "vitest";
import { runImageVerifyBench } from "../../../bench/image-verify.js";

test("the verify benchmark runs and compares against veritysetup and sha256sum", async () => {
  const rows = await runImageVerifyBench({
    sizeBytes: 8 * 1024 * 1024,
    runs: 1,
    dir: "/dev/shm",
    ours: "in-process",
  });
  expect(rows.map((r) => r.name)).toEqual([
    "lifeboat verifyImageSet (full)",
    "veritysetup format",
    "sha256sum",
  ]);
  for (const r of rows) expect(r.median).toBeGreaterThan(0);
});
