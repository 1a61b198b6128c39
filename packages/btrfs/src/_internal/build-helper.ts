import { createHash } from "node:crypto";
import { access, chmod, constants, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { type CommandRunner, ioError } from "@lifeboat/core";
import { errAsync, okAsync, type Result, ResultAsync } from "neverthrow";
import type { BtrfsError } from "../errors.js";
import { cProgram, HELPER_CFLAGS } from "./c-sources.js";
import { fromNode } from "./common-io.js";

/** The default cache directory of compiled helpers (`exchangeHelperPath`, `reuuidHelperPath`). */
export function defaultHelperCacheDir(): string {
  if (process.env.LIFEBOAT_CACHE_DIR) return process.env.LIFEBOAT_CACHE_DIR;
  if (process.getuid?.() === 0) return "/var/cache/lifeboat";
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), ".cache"), "lifeboat");
}

/** One C helper: its program name, its main file in the package's `c/`, the variable naming a prebuilt one. */
export interface HelperSpec {
  readonly name: string;
  readonly main: string;
  readonly envVar: string;
}

/**
 * Where a compiled helper is (or will be once built): `$<envVar>` when set
 * (and no cache directory is given), else `<cacheDir>/<name>-<hash of its
 * C files>`, so a changed source is a new file. Builds and checks nothing.
 */
export function helperPath(spec: HelperSpec, cacheDir: string | undefined): string {
  const fixed = process.env[spec.envVar];
  if (fixed && cacheDir === undefined) return fixed;
  const program = cProgram(spec.main);
  // Without its C files the helper cannot be built: a name no build ever has.
  let digest = "nosource";
  if (program) {
    const hash = createHash("sha256");
    for (const [name, text] of program.files) hash.update(`${name}\0${text}\0`);
    digest = hash.digest("hex").slice(0, 12);
  }
  return path.join(cacheDir ?? defaultHelperCacheDir(), `${spec.name}-${digest}`);
}

export function isExecutable(p: string): ResultAsync<boolean, never> {
  return ResultAsync.fromSafePromise(
    access(p, constants.X_OK).then(
      () => true,
      () => false,
    ),
  );
}

/**
 * Compile a C helper (its main file and headers, copied from the package's
 * `c/`) to `target` (statically when `-static` links, else dynamically), through a temporary name renamed into place. Keeps an
 * existing build unless `force`.
 */
export function compileHelper(
  runner: CommandRunner,
  spec: HelperSpec & { target: string; compiler?: string; force?: boolean },
): ResultAsync<{ path: string; static: boolean | undefined }, BtrfsError> {
  const { target } = spec;
  const dir = path.dirname(target);
  return isExecutable(target).andThen((exists) => {
    if (exists && !spec.force) return okAsync({ path: target, static: undefined });
    const program = cProgram(spec.main);
    if (!program)
      return errAsync(
        ioError(
          new Error("the C files are not in this installation (the package's c/ directory)"),
          spec.main,
          "read",
        ),
      );
    return fromNode(mkdir(dir, { recursive: true }), dir, "create")
      .andThen(() => fromNode(mkdtemp(path.join(dir, ".build-")), dir, "create"))
      .andThen((work) => {
        const source = path.join(work, program.main);
        const out = path.join(work, spec.name);
        const cc = spec.compiler ?? "cc";
        const compile = (isStatic: boolean) =>
          runner
            .run(cc, [...HELPER_CFLAGS, ...(isStatic ? ["-static"] : []), "-o", out, source])
            .map(() => isStatic);
        const written = [...program.files].map(([name, text]) =>
          fromNode(writeFile(path.join(work, name), text), path.join(work, name), "write"),
        );
        const built = ResultAsync.combine(written)
          .andThen(() => compile(true).orElse(() => compile(false)))
          .andThen((isStatic) =>
            fromNode(chmod(out, 0o755), out, "chmod")
              .andThen(() => fromNode(rename(out, target), target, "install"))
              .map(() => ({ path: target, static: isStatic as boolean | undefined })),
          );
        const cleaned = (async (): Promise<
          Result<{ path: string; static: boolean | undefined }, BtrfsError>
        > => {
          const r = await built;
          await rm(work, { recursive: true, force: true }).catch(() => undefined);
          return r;
        })();
        return ResultAsync.fromSafePromise(cleaned).andThen((r) => r);
      });
  });
}
