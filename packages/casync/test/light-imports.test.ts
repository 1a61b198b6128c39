/**
 * @lifeboat/casync loads @lifeboat/core only through its light subpath
 * (`@lifeboat/core/lite`, issue #19: core's root, with its zod schemas and
 * execa, costs a makeIndex process about 25 MiB of RSS), and that subpath
 * loads neither zod nor execa.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

const repo = path.join(import.meta.dirname, "../../..");

async function sources(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

describe("casync's imports of core", () => {
  it("no source file imports @lifeboat/core's root except for types", async () => {
    const files = await sources(path.join(repo, "packages/casync/src"));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = await readFile(f, "utf8");
      for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*from\s+"@lifeboat\/core"/gm))
        expect(m[1], `${f}: ${m[0]}`).toBe("type ");
    }
  });

  it("@lifeboat/core/lite's modules import nothing but Node.js, neverthrow and each other", async () => {
    const core = path.join(repo, "packages/core/src");
    const seen = new Set<string>();
    const queue = ["lite.ts"];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = await readFile(path.join(core, file), "utf8");
      for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*from\s+"([^"]+)"/gm)) {
        const [, typeOnly, spec] = m as unknown as [string, string | undefined, string];
        if (typeOnly) continue;
        if (spec.startsWith("./")) queue.push(spec.slice(2).replace(/\.js$/, ".ts"));
        else expect(spec, `${file} imports ${spec}`).toMatch(/^(node:|neverthrow$)/);
      }
    }
    expect([...seen].sort()).toEqual([
      "atomic-file.ts",
      "errors.ts",
      "lite.ts",
      "worker-script.ts",
    ]);
  });
});
