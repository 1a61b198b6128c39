import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: ["src/index.ts", "src/bin.ts"],
    format: ["esm"],
    dts: { entry: "src/index.ts" },
    sourcemap: true,
    clean: true,
    target: "node20",
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
    banner: {
      js: "import { createRequire as __lbCreateRequire } from 'node:module'; const require = __lbCreateRequire(import.meta.url);",
    },
  },
]);
