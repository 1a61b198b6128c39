import { mkdir, writeFile } from "node:fs/promises";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { expect, it } from "vitest";
import { updateSizes } from "../casync-update-size.js";

// Pseudo-random words: compressible like text, but no two files alike.
function text(seed: number, bytes: number): string {
  let x = seed;
  const words: string[] = [];
  let length = 0;
  while (length < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const w = `w${(x >> 8) % 5000}`;
    words.push(w);
    length += w.length + 1;
  }
  return words.join(" ");
}

// Keeps the benchmark script from rotting: one small pair of trees, one file changed.
it("updateSizes measures overlap, chunked downloads and rebuilds v2 with Lifeboat and casync", async () => {
  requireTools("casync", "zstd", "xz", "tar");
  const scratch = await Scratch.create("lifeboat-casync-update-test-");
  try {
    for (const v of ["v1", "v2"]) {
      await mkdir(scratch.path(v, "lib"), { recursive: true });
      for (let i = 0; i < 12; i++) {
        const changed = v === "v2" && i === 5;
        await writeFile(scratch.path(v, "lib", `f${i}.txt`), text(changed ? 999 : i + 1, 40_000));
      }
    }
    await mkdir(scratch.path("work"));
    const report = await updateSizes(scratch.path("v1"), scratch.path("v2"), scratch.path("work"), {
      formats: ["tar"],
      averages: [4096],
      levels: [3, 19],
      full: ["zstd"],
    });
    expect(report.overlap.v2Files).toBe(12);
    expect(report.overlap.identicalFiles).toBe(11);
    expect(report.extracted?.identical).toBe(true);
    expect(report.extracted?.casyncIdentical).toBe(true);
    expect(report.extracted?.downloaded).toBe(report.extracted?.estimated);
    const chunked = report.rows.find((r) => r.method.startsWith("Lifeboat"));
    const casync = report.rows.find((r) => r.method.startsWith("casync"));
    expect(chunked?.downloadBytes).toBeLessThan(report.full / 2);
    const at19 = report.rows.find((r) => r.method.endsWith("zstd -19"));
    expect(at19?.downloadBytes).toBeLessThan(chunked?.downloadBytes ?? 0);
    expect(casync?.downloadBytes).toBeGreaterThan(report.full / 2);
  } finally {
    await scratch.cleanup();
  }
});
