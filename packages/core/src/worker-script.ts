import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const built = new Map<string, string>();

/**
 * The script of a worker thread as one classic script, for
 * `new Worker(script, { eval: true })`: `bundled` when the build put it in
 * (tsup `define`, see scripts/bundle-defines.ts), else, run from the
 * TypeScript sources (vitest, tsx), `entry` bundled by esbuild on first use
 * (esbuild is a development tool: only the repository has it).
 *
 * @example
 * ```ts
 * declare const __MY_WORKER__: string | undefined;
 * const script = workerScript(
 *   typeof __MY_WORKER__ === "string" ? __MY_WORKER__ : undefined,
 *   new URL("./my-worker.ts", import.meta.url),
 * );
 * ```
 */
export function workerScript(bundled: string | undefined, entry: URL): string {
  if (bundled !== undefined) return bundled;
  const key = entry.href;
  let script = built.get(key);
  if (script === undefined) {
    const esbuild = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
    const out = esbuild.buildSync({
      entryPoints: [fileURLToPath(entry)],
      bundle: true,
      platform: "node",
      format: "iife",
      target: "node20",
      write: false,
    });
    script = out.outputFiles[0]?.text ?? "";
    built.set(key, script);
  }
  return script;
}
