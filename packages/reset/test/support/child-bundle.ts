// The child process the crash and undo tests SIGKILL: support/child.ts bundled
// by esbuild into one script, the sibling packages (and their subpath exports)
// by their own sources, the worker and C files carried inside as in the builds.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sh } from "@lifeboat/testkit";
import { bundleDefineArgs } from "../../../../scripts/bundle-defines.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../../..");

/** Bundle support/child.ts to `outfile`. */
export async function bundleChild(outfile: string): Promise<void> {
  const alias = [
    ...["core", "btrfs", "image", "gpt", "grub"].map(
      (p) => `--alias:@lifeboat/${p}=${path.join(repo, `packages/${p}/src/index.ts`)}`,
    ),
    // A subpath export by its own source (esbuild takes the longest alias that matches).
    `--alias:@lifeboat/core/layout=${path.join(repo, "packages/core/src/layout.ts")}`,
    `--alias:@lifeboat/core/lite=${path.join(repo, "packages/core/src/lite.ts")}`,
    `--alias:@lifeboat/image/layout=${path.join(repo, "packages/image/src/layout.ts")}`,
  ];
  await sh(path.join(repo, "node_modules/.bin/esbuild"), [
    path.join(here, "child.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--log-level=error",
    `--outfile=${outfile}`,
    "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    ...alias,
    // The btrfs helpers' C files and the hash pool's worker, carried inside the bundle.
    ...bundleDefineArgs(),
  ]);
}
