/**
 * Generate docs/error-codes.md, the catalogue of every error code, from the
 * sources, so that it cannot drift (issues #19, #23):
 *
 * - each `interface … extends ErrorBase<"CODE">` gives the code, its package,
 *   the interface's TSDoc summary and its own fields (with their TSDoc);
 * - codes that appear only as a `code: "…"` literal or a `lifeboatError("…")`
 *   call are listed with the file that makes them;
 * - the `lifeboat` command's exit code for each comes from the CLI's own
 *   `exitCodeFor`.
 *
 *   pnpm errors:catalogue          # rewrite docs/error-codes.md
 *   pnpm errors:catalogue --check  # exit 1 when the file is not what the sources give
 *
 * packages/cli/test/error-catalogue.test.ts runs the check.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { exitCodeFor } from "../packages/cli/src/exit-codes.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Where the catalogue is written. */
export const CATALOGUE_PATH = path.join(root, "docs/error-codes.md");

interface Field {
  readonly name: string;
  readonly optional: boolean;
  readonly doc: string;
}

interface Entry {
  readonly code: string;
  readonly pkg: string;
  readonly file: string;
  /** The declaring interface, when the code has one. */
  readonly type?: string;
  readonly doc: string;
  readonly fields: readonly Field[];
}

const CODE = /^[A-Z][A-Z0-9_]+$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The summary of a node's TSDoc: its first paragraph, on one line. */
function summary(node: ts.Node): string {
  const docs = (node as { jsDoc?: ts.JSDoc[] }).jsDoc;
  const last = docs?.[docs.length - 1];
  if (last === undefined) return "";
  const comment = ts.getTextOfJSDocComment(last.comment) ?? "";
  const first = comment.split(/\n\s*\n/)[0] ?? "";
  return first.replace(/\s+/g, " ").trim();
}

/** The code literals in `ErrorBase<…>`'s type argument (one code, or a union of them). */
function baseCodes(decl: ts.InterfaceDeclaration): string[] {
  const codes: string[] = [];
  for (const clause of decl.heritageClauses ?? []) {
    for (const t of clause.types) {
      if (!ts.isIdentifier(t.expression) || t.expression.text !== "ErrorBase") continue;
      const arg = t.typeArguments?.[0];
      if (arg === undefined) continue;
      const visit = (n: ts.Node) => {
        if (ts.isLiteralTypeNode(n) && ts.isStringLiteral(n.literal) && CODE.test(n.literal.text))
          codes.push(n.literal.text);
        ts.forEachChild(n, visit);
      };
      visit(arg);
    }
  }
  return codes;
}

/** Every code of every package but the test kit, from its sources. */
export function collectErrors(): Entry[] {
  const byCode = new Map<string, Entry>();
  const loose = new Map<string, Entry>();
  const packages = readdirSync(path.join(root, "packages"))
    .filter((p) => p !== "testkit")
    .sort();
  for (const pkg of packages) {
    let files: string[];
    try {
      files = sourceFiles(path.join(root, "packages", pkg, "src"));
    } catch {
      continue;
    }
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const rel = path.relative(root, file);
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node) => {
        if (ts.isInterfaceDeclaration(node)) {
          for (const code of baseCodes(node)) {
            if (byCode.has(code)) continue;
            const fields = node.members.filter(ts.isPropertySignature).map((m) => ({
              name: m.name.getText(source),
              optional: m.questionToken !== undefined,
              doc: summary(m),
            }));
            byCode.set(code, {
              code,
              pkg,
              file: rel,
              type: node.name.text,
              doc: summary(node),
              fields,
            });
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
      const literals = [
        ...[...text.matchAll(/code: "([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1] as string),
        ...[...text.matchAll(/lifeboatError\(\s*"([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1] as string),
      ];
      for (const code of literals)
        if (!loose.has(code)) loose.set(code, { code, pkg, file: rel, doc: "", fields: [] });
    }
  }
  for (const [code, entry] of loose) if (!byCode.has(code)) byCode.set(code, entry);
  // A Node-style errno of an internal copy helper, mapped before it reaches a caller.
  byCode.delete("ESHA256");
  return [...byCode.values()].sort(
    (a, b) => a.pkg.localeCompare(b.pkg) || a.code.localeCompare(b.code),
  );
}

const cell = (s: string) => s.replace(/\|/g, "\\|");

/** The catalogue's Markdown. */
export function renderCatalogue(entries: readonly Entry[]): string {
  const lines = [
    "# Error codes",
    "",
    "<!-- Generated by `pnpm errors:catalogue` from the sources; do not edit by hand. -->",
    "",
    "Every code any Lifeboat package can return, where it is declared, the fields",
    "it carries and the `lifeboat` command's exit code for it (see",
    "[cli.md](cli.md) for what the exit codes mean). What a front end should do",
    "about the common ones is on [errors.md](errors.md) and on each package's page.",
    `The list is made from the sources by \`scripts/error-catalogue.ts\`; a test fails`,
    "when it no longer matches them.",
    "",
    `${entries.length} codes.`,
  ];
  let pkg = "";
  for (const e of entries) {
    if (e.pkg !== pkg) {
      pkg = e.pkg;
      lines.push("", `## ${pkg === "cli" ? "lifeboat (CLI)" : `@lifeboat/${pkg}`}`, "");
      lines.push(
        "| code | exit | means | fields | declared in |",
        "| --- | --- | --- | --- | --- |",
      );
    }
    const fields =
      e.fields.length === 0
        ? "—"
        : e.fields.map((f) => `\`${f.name}${f.optional ? "?" : ""}\``).join(", ");
    const where = e.type === undefined ? `\`${e.file}\`` : `\`${e.type}\` (\`${e.file}\`)`;
    lines.push(
      `| \`${e.code}\` | ${exitCodeFor(e.code)} | ${cell(e.doc || "—")} | ${fields} | ${where} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderCatalogue(collectErrors());
  if (process.argv.includes("--check")) {
    const now = readFileSync(CATALOGUE_PATH, "utf8");
    if (now !== text) {
      console.error("docs/error-codes.md does not match the sources: run pnpm errors:catalogue");
      process.exit(1);
    }
  } else {
    writeFileSync(CATALOGUE_PATH, text);
    console.log(`wrote ${path.relative(root, CATALOGUE_PATH)}`);
  }
}
