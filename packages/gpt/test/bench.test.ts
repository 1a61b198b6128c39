/** Keeps bench/gpt-parse.ts from rotting: its core function on a small table (no timing asserted). */
import { requireTools } from "@lifeboat/testkit";
import { expect, it } from "vitest";
import { runGptParseBench } from "../../../bench/gpt-parse.js";

it("bench/gpt-parse.ts runs on a small table", async () => {
  requireTools("sfdisk");
  const rows = await runGptParseBench({ runs: 1, dir: "/dev/shm", entries: 4 });
  expect(rows.map((r) => r.name)).toHaveLength(3);
  for (const r of rows) expect(r.medianMs).toBeGreaterThan(0);
});
