/**
 * A consumer project made from packed tarballs, as a user gets the packages
 * (issue #19): strict TypeScript, compiled once as CommonJS (`require()` of
 * the ESM packages, Node >= 20.19) and once as an ES module; both run and
 * compute the same plan digest as the workspace. `@lifeboat/recovery-ui` is
 * ESM-only (Ink loads with a top-level await): `import()` works, `require()`
 * gets a clear error. The third-party dependencies come from pnpm's store
 * (`--prefer-offline`: what the set-up's install fetched, the registry for the rest).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPlan } from "@lifeboat/core";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const packagesDir = path.join(root, "packages");

/** Folder of each workspace package, by name. */
function workspacePackages(): Map<string, { dir: string; deps: string[] }> {
  const found = new Map<string, { dir: string; deps: string[] }>();
  for (const dir of readdirSync(packagesDir)) {
    let pkg: { name: string; dependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(readFileSync(path.join(packagesDir, dir, "package.json"), "utf8"));
    } catch {
      continue;
    }
    found.set(pkg.name, {
      dir: path.join(packagesDir, dir),
      deps: Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith("@lifeboat/")),
    });
  }
  return found;
}

/** `names` and the workspace packages they depend on, transitively. */
function closure(names: readonly string[]): string[] {
  const all = workspacePackages();
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const d of all.get(n)?.deps ?? []) visit(d);
  };
  for (const n of names) visit(n);
  return [...seen].sort();
}

const SOURCE = `
import { createPlan, type LifeboatError, type Plan } from "@lifeboat/core";
import { plan as planReset, type ResetRequest } from "@lifeboat/reset";
import { parseBlsEntry } from "@lifeboat/grub";

function demo(): Plan {
  const made = createPlan({ kind: "demo", title: "Demo", target: "btrfs:x", warnings: [], steps: [] });
  if (made.isErr()) {
    const e: LifeboatError = made.error;
    throw new Error(e.message);
  }
  return made.value;
}
const request: ResetRequest = { kind: "reset-keep-home", stamp: "20261205T000000Z" };
export const report = {
  digest: demo().digest,
  planResetIs: typeof planReset,
  requestKind: request.kind,
  bls: typeof parseBlsEntry,
};
`;

let scratch: Scratch;
let project: string;

beforeAll(async () => {
  scratch = await Scratch.create("lifeboat-consumer-");
  project = scratch.path("project");
  const tarballs = scratch.path("tarballs");
  await mkdir(tarballs, { recursive: true });
  await mkdir(path.join(project, "src"), { recursive: true });
  const all = workspacePackages();
  const files: Record<string, string> = {};
  for (const name of closure(["@lifeboat/reset", "@lifeboat/grub", "@lifeboat/recovery-ui"])) {
    const out = execFileSync("pnpm", ["pack", "--pack-destination", tarballs], {
      cwd: all.get(name)!.dir,
      encoding: "utf8",
    });
    const tgz = out.trim().split("\n").at(-1)!.trim();
    files[name] = `file:${path.isAbsolute(tgz) ? tgz : path.join(tarballs, path.basename(tgz))}`;
  }
  // No "type": "module": .ts files are CommonJS, .mts files ES modules.
  await writeFile(
    path.join(project, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      dependencies: files,
      pnpm: { overrides: files },
    }),
  );
  await writeFile(
    path.join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        outDir: "out",
        rootDir: "src",
        types: ["node"],
        typeRoots: [path.join(root, "node_modules/@types")],
        skipLibCheck: true,
      },
      include: ["src"],
    }),
  );
  await writeFile(path.join(project, "src/lib-cjs.ts"), SOURCE);
  await writeFile(path.join(project, "src/lib-esm.mts"), SOURCE);
  await writeFile(
    path.join(project, "src/main-cjs.ts"),
    `import { report } from "./lib-cjs";
let ui = "";
try {
  require("@lifeboat/recovery-ui");
} catch (e) {
  ui = (e as Error).message;
}
let messages = "";
try {
  require("@lifeboat/recovery-ui/messages");
} catch (e) {
  messages = (e as Error).message;
}
console.log(JSON.stringify({ ...report, cjs: typeof module !== "undefined", ui, messages }));
`,
  );
  await writeFile(
    path.join(project, "src/main-esm.mts"),
    `import { report } from "./lib-esm.mjs";
const ui = await import("@lifeboat/recovery-ui");
const { EXPLAINED_ERROR_CODES } = await import("@lifeboat/recovery-ui/messages");
const explained: readonly string[] = EXPLAINED_ERROR_CODES;
console.log(JSON.stringify({ ...report, ui: typeof ui.runRecoveryUi, explained: explained.length }));
`,
  );
  execFileSync("pnpm", ["install", "--prefer-offline", "--ignore-workspace", "--silent"], {
    cwd: project,
    stdio: "inherit",
  });
}, 600_000);

afterAll(async () => {
  await scratch?.cleanup();
});

describe("a consumer project from packed tarballs", () => {
  it("type-checks under strict TypeScript and runs as CommonJS and as ESM", () => {
    execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", project], { stdio: "inherit" });
    const expected = createPlan({
      kind: "demo",
      title: "Demo",
      target: "btrfs:x",
      warnings: [],
      steps: [],
    })._unsafeUnwrap().digest;
    const cjs = JSON.parse(
      execFileSync("node", [path.join(project, "out/main-cjs.js")], { encoding: "utf8" }),
    );
    expect(cjs).toMatchObject({
      digest: expected,
      planResetIs: "function",
      requestKind: "reset-keep-home",
      bls: "function",
      cjs: true,
    });
    expect(cjs.ui).toContain("@lifeboat/recovery-ui is ESM-only");
    expect(cjs.messages).toContain("@lifeboat/recovery-ui is ESM-only");
    const esm = JSON.parse(
      execFileSync("node", [path.join(project, "out/main-esm.mjs")], { encoding: "utf8" }),
    );
    expect(esm).toMatchObject({ digest: expected, planResetIs: "function", ui: "function" });
    expect(esm.explained).toBeGreaterThan(10); // the translators' subpath, typed and loaded
  });
});
