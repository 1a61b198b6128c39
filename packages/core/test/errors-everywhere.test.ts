// Every error code any package can return is on some page of docs/ (issue #19: codes
// appeared on no page). Codes are read from the sources: `ErrorBase<"…">` types,
// `code: "…"` literals and `lifeboatError("…", …)` calls.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

describe("error codes in the docs", () => {
  it("documents every code of every package on some docs page", () => {
    const codes = new Map<string, string>();
    for (const pkg of readdirSync(path.join(root, "packages"))) {
      if (pkg === "testkit") continue;
      const src = path.join(root, "packages", pkg, "src");
      let files: string[];
      try {
        files = sources(src);
      } catch {
        continue;
      }
      for (const file of files) {
        const text = readFileSync(file, "utf8");
        const found = [
          ...[...text.matchAll(/code: "([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1]!),
          ...[...text.matchAll(/lifeboatError\(\s*"([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1]!),
          ...[...text.matchAll(/ErrorBase<([^>]+)>/g)].flatMap((m) =>
            [...m[1]!.matchAll(/"([A-Z][A-Z0-9_]+)"/g)].map((c) => c[1]!),
          ),
        ];
        for (const code of found) if (!codes.has(code)) codes.set(code, path.relative(root, file));
      }
    }
    // A Node-style errno of an internal copy helper, mapped before it reaches a caller.
    codes.delete("ESHA256");
    expect(codes.size).toBeGreaterThan(100);
    const docs = readdirSync(path.join(root, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => readFileSync(path.join(root, "docs", f), "utf8"))
      .join("\n");
    const missing = [...codes].filter(([code]) => !docs.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });
});
