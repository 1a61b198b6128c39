// Guards docs/errors.md against rot: every code of CoreError is documented.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), "utf8");

describe("docs/errors.md", () => {
  it("documents every code that @lifeboat/core can return", () => {
    const source = read("../src/errors.ts");
    const codes = new Set(
      [...source.matchAll(/ErrorBase<([^>]+)>/g)].flatMap((m) =>
        [...m[1]!.matchAll(/"([A-Z_]+)"/g)].map((c) => c[1]!),
      ),
    );
    for (const file of ["../src/_internal/run-steps.ts", "../src/executor.ts"]) {
      for (const m of read(file).matchAll(/code: "([A-Z_]+)"/g)) codes.add(m[1]!);
    }
    expect(codes.size).toBeGreaterThan(18);
    const doc = read("../../../docs/errors.md");
    const missing = [...codes].filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });
});
