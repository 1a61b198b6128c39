/**
 * The docs' code cannot drift from the packages: every name a TypeScript
 * example in README.md or docs/*.md imports from a Lifeboat package is an
 * export of that package (values and types, checked by the TypeScript
 * compiler against the sources). A renamed or removed export fails here,
 * not in the first program someone copies from a page.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const IMPORT =
  /import\s+(?:type\s+)?[^;]*?\s+from\s+"((?:@lifeboat\/[a-z-]+(?:\/[a-z-]+)?)|lifeboat)"\s*;?/gs;

interface Example {
  readonly where: string;
  readonly imports: string;
}

/** The import declarations of each ```ts / ```js block, with where the block starts. */
function examples(): Example[] {
  const files = [
    "README.md",
    ...readdirSync(path.join(repo, "docs"))
      .filter((n) => n.endsWith(".md"))
      .map((n) => `docs/${n}`),
  ];
  const out: Example[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(repo, file), "utf8");
    for (const m of text.matchAll(/^```(?:ts|typescript|js)\s*\n([\s\S]*?)^```/gm)) {
      const imports = [...(m[1] as string).matchAll(IMPORT)].map((i) => i[0]).join("\n");
      if (!imports) continue;
      const line = text.slice(0, m.index).split("\n").length;
      out.push({ where: `${file}:${line}`, imports });
    }
  }
  return out;
}

/** Where each package's entries are (the root and each subpath export, `./layout`), for the compiler's `paths`. */
function packagePaths(): Record<string, string[]> {
  const paths: Record<string, string[]> = {};
  for (const dir of readdirSync(path.join(repo, "packages"))) {
    let manifest: { name: string; exports?: Record<string, unknown> };
    try {
      manifest = JSON.parse(readFileSync(path.join(repo, "packages", dir, "package.json"), "utf8"));
    } catch {
      continue;
    }
    paths[manifest.name] = [path.join(repo, "packages", dir, "src/index.ts")];
    for (const subpath of Object.keys(manifest.exports ?? {})) {
      if (subpath === "." || subpath === "./package.json" || subpath.includes("*")) continue;
      paths[`${manifest.name}/${subpath.slice(2)}`] = [
        path.join(repo, "packages", dir, `src/${subpath.slice(2)}.ts`),
      ];
    }
  }
  return paths;
}

/** Compiler messages about the imports of `sources` (virtual files), by file. */
function importProblems(sources: Map<string, string>, options: ts.CompilerOptions): string[] {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, language, onError) =>
    sources.has(name)
      ? ts.createSourceFile(name, sources.get(name) as string, language)
      : getSourceFile(name, language, onError);
  host.fileExists = (name) => sources.has(name) || fileExists(name);
  host.readFile = (name) => sources.get(name) ?? readFile(name);
  const program = ts.createProgram([...sources.keys()], options, host);
  // 2305: no exported member; 2307: cannot find module; 2614/2724: no exported member (did you mean).
  const codes = new Set([2305, 2307, 2614, 2724]);
  return [...sources.keys()].flatMap((name) =>
    program
      .getSemanticDiagnostics(program.getSourceFile(name))
      .filter((d) => codes.has(d.code))
      .map((d) => `${name}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`),
  );
}

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  jsx: ts.JsxEmit.ReactJSX,
  noEmit: true,
  skipLibCheck: true,
  strict: true,
  types: [],
  baseUrl: repo,
  paths: packagePaths(),
};

describe("docs import what the packages export", () => {
  it("every import from a Lifeboat package in a docs example resolves", () => {
    const found = examples();
    // The pages do show code: a parser that found none would prove nothing.
    expect(found.length).toBeGreaterThan(20);
    const sources = new Map(
      found.map((e) => [
        path.join(repo, `.docs-example/${e.where.replace(/[/:.]/g, "_")}.ts`),
        e.imports,
      ]),
    );
    const problems = importProblems(sources, options).map((p) =>
      p.replace(`${repo}/.docs-example/`, ""),
    );
    expect(problems).toEqual([]);
  }, 120_000);

  it("catches an export that does not exist", () => {
    const file = path.join(repo, ".docs-example/probe.ts");
    const problems = importProblems(
      new Map([
        [
          file,
          'import { inspect, inspectt } from "@lifeboat/reset";\nimport type { Nope } from "@lifeboat/core";',
        ],
      ]),
      options,
    );
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toMatch(/inspectt/);
    expect(problems.join("\n")).toMatch(/Nope/);
  }, 120_000);

  it("resolves a subpath export, and refuses a layout constant from a package root", () => {
    const file = path.join(repo, ".docs-example/layout.ts");
    const problems = importProblems(
      new Map([
        [
          file,
          'import { RECOVERY_PARTITION_TYPE_GUID } from "@lifeboat/core/layout";\nimport { FACTORY_ROOT } from "@lifeboat/reset/layout";\nimport { JOURNAL_FILE } from "@lifeboat/reset";',
        ],
      ]),
      options,
    );
    expect(problems).toHaveLength(1);
    expect(problems.join("\n")).toMatch(/JOURNAL_FILE/);
  }, 120_000);
});
