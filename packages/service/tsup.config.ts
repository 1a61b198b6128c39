import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: ["src/index.ts", "src/lifeboatd.ts"],
    format: ["esm"],
    dts: { entry: "src/index.ts" },
    sourcemap: true,
    clean: true,
    target: "node20",
  },
  {
    // One self-contained file `lifeboat provision --service` installs into the factory
    // root (/usr/lib/lifeboat/lifeboatd.mjs): the system has node but no node_modules.
    entry: { "lifeboatd-standalone": "src/lifeboatd.ts" },
    format: ["esm"],
    noExternal: [/.*/],
    platform: "node",
    target: "node20",
    outDir: "dist",
    splitting: false,
    outExtension: () => ({ js: ".mjs" }),
    banner: {
      js: "import { createRequire as __lbCreateRequire } from 'node:module'; const require = __lbCreateRequire(import.meta.url);",
    },
  },
]);
