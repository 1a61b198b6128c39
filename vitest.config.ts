import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));
// Tests import sibling packages by name; resolve them to source so no build is needed first.
// Each entry of a package's `exports` (`.`, `./layout`) maps to its source file,
// matched exactly: `@lifeboat/core` must not swallow `@lifeboat/core/layout`.
const alias: { find: RegExp; replacement: string }[] = [];
for (const dir of readdirSync(`${root}packages`)) {
  const pkgFile = `${root}packages/${dir}/package.json`;
  if (!existsSync(pkgFile)) continue;
  const { default: pkg } = await import(pkgFile, { with: { type: "json" } });
  for (const subpath of Object.keys(pkg.exports ?? { ".": {} })) {
    if (subpath === "./package.json" || subpath.includes("*")) continue;
    const name = subpath === "." ? "index" : subpath.slice(2);
    const specifier = subpath === "." ? pkg.name : `${pkg.name}/${name}`;
    alias.push({
      find: new RegExp(`^${specifier}$`), // names are [@a-z/-] only
      replacement: `${root}packages/${dir}/src/${name}.ts`,
    });
  }
}

export default defineConfig({
  resolve: { alias },
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "examples/test/**/*.test.ts",
      "bench/test/**/*.test.ts",
    ],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
  },
});
