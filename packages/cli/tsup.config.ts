import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";
import { bundleDefines } from "../../scripts/bundle-defines.js";
import { inkForProduction } from "./ink-for-production.js";

// The workspace packages are bundled from their sources, so the binary never
// depends on another package's dist being built (or being rebuilt) at the time.
const packages = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const alias: Record<string, string> = {};
for (const dir of [
  "core",
  "gpt",
  "btrfs",
  "grub",
  "image",
  "casync",
  "reset",
  "recovery-env",
  "factory",
  "recovery-ui",
]) {
  if (readdirSync(path.join(packages, dir)).includes("src"))
    alias[`@lifeboat/${dir}`] = path.join(packages, dir, "src/index.ts");
}
// Subpath exports, by their own source (esbuild takes the longest alias that matches).
for (const dir of ["core", "image", "reset"]) {
  alias[`@lifeboat/${dir}/layout`] = path.join(packages, dir, "src/layout.ts");
}
alias["@lifeboat/core/lite"] = path.join(packages, "core/src/lite.ts");
alias["@lifeboat/recovery-ui/messages"] = path.join(packages, "recovery-ui/src/messages.ts");

// Carried inside the bundles: the worker threads' modules and the btrfs
// helpers' C files (a bundle, one file in the recovery environment, has
// nothing beside it).
const define = bundleDefines();

export default defineConfig([
  {
    entry: ["src/index.ts", "src/bin.ts"],
    format: ["esm"],
    dts: { entry: "src/index.ts" },
    sourcemap: true,
    clean: true,
    target: "node20",
    noExternal: [/^@lifeboat\//],
    external: ["@mongodb-js/zstd"],
    platform: "node",
    define,
    esbuildPlugins: [inkForProduction],
    esbuildOptions(options) {
      options.alias = alias;
    },
    banner: {
      js: "import { createRequire as __lbCreateRequire } from 'node:module'; const require = __lbCreateRequire(import.meta.url);",
    },
  },
  {
    // One self-contained file for the recovery environment, which has node but no node_modules.
    entry: { "lifeboat-standalone": "src/bin.ts" },
    format: ["esm"],
    // Everything but native addons (casync's zstd binding): `lifeboat update` needs
    // @mongodb-js/zstd beside the file; every other command runs from this one file.
    noExternal: [/^(?!@mongodb-js\/zstd)/],
    external: ["@mongodb-js/zstd"],
    platform: "node",
    target: "node20",
    outDir: "dist",
    splitting: false,
    define,
    esbuildPlugins: [inkForProduction],
    esbuildOptions(options) {
      options.alias = alias;
    },
    banner: {
      js: "import { createRequire as __lbCreateRequire } from 'node:module'; const require = __lbCreateRequire(import.meta.url);",
    },
  },
]);
