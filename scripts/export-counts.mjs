#!/usr/bin/env node
/**
 * Count each package's public named exports (issue #23): the root entry
 * (`src/index.ts`) and every other subpath entry its package.json `exports`
 * declares (`./advanced` -> `src/advanced.ts`), split into values (functions,
 * constants, classes) and types, read with the TypeScript compiler API so no
 * build is needed.
 *
 *   node scripts/export-counts.mjs          # a table
 *   node scripts/export-counts.mjs --json   # { package: { entry: { values, types, names } } }
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const packagesDir = path.join(root, "packages");

/** The source file of a subpath export: `./dist/advanced.js` -> `src/advanced.ts`. */
function sourceOf(dir, target) {
  const importPath =
    typeof target === "string"
      ? target
      : (target?.import?.default ?? target?.import ?? target?.default);
  if (
    typeof importPath !== "string" ||
    !importPath.startsWith("./dist/") ||
    !importPath.endsWith(".js")
  ) {
    return undefined;
  }
  const src = path.join(dir, "src", importPath.slice("./dist/".length).replace(/\.js$/, ".ts"));
  const tsx = src.replace(/\.ts$/, ".tsx");
  return existsSync(src) ? src : existsSync(tsx) ? tsx : undefined;
}

const entries = [];
for (const name of readdirSync(packagesDir).sort()) {
  const dir = path.join(packagesDir, name);
  const manifestPath = path.join(dir, "package.json");
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  const exportsField = manifest.exports ?? {};
  for (const [subpath, target] of Object.entries(exportsField)) {
    if (subpath === "./package.json" || subpath.includes("*")) continue;
    const file = sourceOf(dir, target);
    if (file !== undefined) entries.push({ pkg: manifest.name, subpath, file });
  }
}

const config = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
const program = ts.createProgram(
  entries.map((e) => e.file),
  { ...parsed.options, noEmit: true },
);
const checker = program.getTypeChecker();

const result = {};
for (const entry of entries) {
  const source = program.getSourceFile(entry.file);
  const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  const names = { values: [], types: [] };
  for (const symbol of moduleSymbol === undefined ? [] : checker.getExportsOfModule(moduleSymbol)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    (target.flags & ts.SymbolFlags.Value ? names.values : names.types).push(symbol.getName());
  }
  result[entry.pkg] ??= {};
  result[entry.pkg][entry.subpath] = {
    values: names.values.length,
    types: names.types.length,
    names: [...names.values, ...names.types].sort(),
  };
}

if (process.argv.includes("--json")) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const rows = [["package", "entry", "values", "types", "total"]];
  let total = 0;
  let rootTotal = 0;
  for (const [pkg, byEntry] of Object.entries(result)) {
    for (const [subpath, counts] of Object.entries(byEntry)) {
      const sum = counts.values + counts.types;
      total += sum;
      if (subpath === ".") rootTotal += sum;
      rows.push([pkg, subpath, String(counts.values), String(counts.types), String(sum)]);
    }
  }
  rows.push(["all packages", "root (.)", "", "", String(rootTotal)]);
  rows.push(["all packages", "every entry", "", "", String(total)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) {
    process.stdout.write(
      `${row.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ")}\n`,
    );
  }
}
