import type { Options } from "tsup";

/**
 * Ink and React as the bundles need them, about half the size:
 * - React's production builds only (`process.env.NODE_ENV` is "production"
 *   in the bundle), not the development builds beside them;
 * - Ink's React devtools bridge left out: it is loaded only when DEV=true and
 *   needs react-devtools-core, which is not installed; `./devtools.js`
 *   imported from Ink becomes an empty module.
 */
export const inkForProduction: NonNullable<Options["esbuildPlugins"]>[number] = {
  name: "ink-for-production",
  setup(build) {
    build.initialOptions.define = {
      ...build.initialOptions.define,
      "process.env.NODE_ENV": JSON.stringify("production"),
    };
    build.onResolve({ filter: /^\.\/devtools\.js$/ }, (args) =>
      args.importer.includes(`/ink/`) ? { path: "ink-devtools", namespace: "empty" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export {};" }));
  },
};
