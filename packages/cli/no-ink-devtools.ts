import type { Options } from "tsup";

/**
 * Ink loads its React devtools bridge (and react-devtools-core, which is not
 * installed) only when DEV=true; the recovery front end never wants it, so
 * the bundles leave it out: Ink's `./devtools.js` becomes an empty module.
 */
export const noInkDevtools: NonNullable<Options["esbuildPlugins"]>[number] = {
  name: "no-ink-devtools",
  setup(build) {
    build.onResolve({ filter: /^\.\/devtools\.js$/ }, (args) =>
      args.importer.includes(`/ink/`) ? { path: "ink-devtools", namespace: "empty" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export {};" }));
  },
};
