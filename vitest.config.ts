import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));
// Tests import sibling packages by name; resolve them to source so no build is needed first.
const alias: Record<string, string> = {};
for (const dir of readdirSync(`${root}packages`)) {
  const pkgFile = `${root}packages/${dir}/package.json`;
  if (!existsSync(pkgFile)) continue;
  const { default: pkg } = await import(pkgFile, { with: { type: "json" } });
  alias[pkg.name] = `${root}packages/${dir}/src/index.ts`;
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
