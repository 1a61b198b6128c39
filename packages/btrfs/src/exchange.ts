/**
 * Atomic exchange of two subvolumes' names (renameat2 RENAME_EXCHANGE), so a
 * root subvolume is never missing: util-linux `exch`, coreutils
 * `mv --exchange`, or the bundled `lifeboat-exch` helper (C source shipped in
 * this package, compiled on demand). Never emulated with two renames.
 *
 * @module
 */
import path from "node:path";
import { type CommandRunner, fsyncDirectory } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import {
  compileHelper,
  type HelperSpec,
  helperPath,
  isExecutable,
} from "./_internal/build-helper.js";
import { fromNode, inside } from "./_internal/common.js";
import type { BtrfsError, BtrfsExchangeUnsupportedError } from "./errors.js";
import { requireSubvolume } from "./subvolumes.js";

const SPEC: HelperSpec = {
  name: "lifeboat-exch",
  main: "lifeboat-exch.c",
  envVar: "LIFEBOAT_EXCH_HELPER",
};

/** Options naming where the helper lives. */
export interface ExchangeHelperLocation {
  /**
   * Directory of the compiled helper. Default: `$LIFEBOAT_CACHE_DIR`, else
   * `/var/cache/lifeboat` for root, else `$XDG_CACHE_HOME/lifeboat` (or `~/.cache/lifeboat`).
   */
  readonly cacheDir?: string;
}

/**
 * Where the compiled `lifeboat-exch` helper is (or will be once built):
 * `$LIFEBOAT_EXCH_HELPER` when set, else `<cacheDir>/lifeboat-exch-<hash of its source>`.
 * Pure: it does not build or check anything.
 *
 * @example
 * ```ts
 * exchangeHelperPath(); // "/var/cache/lifeboat/lifeboat-exch-3f2a9c0d1e4b" (as root)
 * ```
 */
export function exchangeHelperPath(options: ExchangeHelperLocation = {}): string {
  return helperPath(SPEC, options.cacheDir);
}

/** Options for {@link buildExchangeHelper}. */
export interface BuildHelperOptions extends ExchangeHelperLocation {
  /** C compiler. Default `cc`. */
  readonly compiler?: string;
  /** Rebuild even when the helper exists. Default false. */
  readonly force?: boolean;
}

/** A built helper. */
export interface ExchangeHelper {
  readonly path: string;
  /** True when it was linked statically (usable in an initramfs as is). */
  readonly static: boolean | undefined;
}

/**
 * Compile the helper into its cache directory (statically when `-static` links,
 * else dynamically), written to a temporary name and renamed into place.
 * Returns the existing one when already built.
 *
 * @example
 * ```ts
 * const h = await buildExchangeHelper(runner);
 * if (h.isOk()) h.value.path; // copy it into the initramfs
 * ```
 */
export function buildExchangeHelper(
  runner: CommandRunner,
  options: BuildHelperOptions = {},
): ResultAsync<ExchangeHelper, BtrfsError> {
  return compileHelper(runner, {
    ...SPEC,
    target: exchangeHelperPath(options),
    ...(options.compiler === undefined ? {} : { compiler: options.compiler }),
    ...(options.force === undefined ? {} : { force: options.force }),
  });
}

/** How names are exchanged on this machine. */
export type ExchangeMethod =
  | { readonly kind: "exch"; readonly command: string }
  | { readonly kind: "mv"; readonly command: string }
  | { readonly kind: "helper"; readonly command: string };

/** Options for {@link findExchangeMethod}. */
export interface FindExchangeOptions extends BuildHelperOptions {
  /** Compile the helper when nothing else is available. Default true. */
  readonly build?: boolean;
}

/**
 * Find how this machine swaps two names atomically, in order: util-linux
 * `exch`, coreutils `mv --exchange`, the built `lifeboat-exch` helper
 * (compiled on demand with `cc` unless `build: false`).
 *
 * @example
 * ```ts
 * const m = await findExchangeMethod(runner);
 * if (m.isOk()) m.value.kind; // "helper" on Debian 12
 * ```
 */
export function findExchangeMethod(
  runner: CommandRunner,
  options: FindExchangeOptions = {},
): ResultAsync<ExchangeMethod, BtrfsExchangeUnsupportedError> {
  const tried: string[] = [];
  const helper = exchangeHelperPath(options);
  return runner
    .run("exch", ["--version"])
    .map((): ExchangeMethod => ({ kind: "exch", command: "exch" }))
    .orElse((e) => {
      tried.push(`exch: ${e.message}`);
      return runner.run("mv", ["--help"]).andThen((r) => {
        if (/--exchange/.test(r.stdout))
          return okAsync<ExchangeMethod>({ kind: "mv", command: "mv" });
        tried.push("mv: no --exchange option (coreutils < 9.5)");
        return errAsync(undefined);
      });
    })
    .orElse(() =>
      isExecutable(helper).andThen((ok) => {
        if (ok)
          return okAsync<ExchangeMethod, BtrfsExchangeUnsupportedError>({
            kind: "helper",
            command: helper,
          });
        tried.push(`${helper}: not built`);
        if (options.build === false) return errAsync(unsupported(tried));
        return buildExchangeHelper(runner, options)
          .map((h): ExchangeMethod => ({ kind: "helper", command: h.path }))
          .mapErr((e) => {
            tried.push(`building the helper: ${e.message}`);
            return unsupported(tried);
          });
      }),
    );
}

function syncDir(dir: string) {
  return fromNode(fsyncDirectory(dir), dir, "fsync");
}

function unsupported(tried: readonly string[]): BtrfsExchangeUnsupportedError {
  return {
    code: "BTRFS_EXCHANGE_UNSUPPORTED",
    message: `No way to exchange two names atomically on this machine (${tried.join("; ")}). Install util-linux >= 2.40 (exch) or a C compiler (cc).`,
    tried,
  };
}

/** Options for {@link exchangeSubvolumes}. */
export interface ExchangeOptions extends FindExchangeOptions {
  /** Use this method instead of searching (see {@link findExchangeMethod}). */
  readonly method?: ExchangeMethod;
}

/**
 * Swap the names of two subvolumes in one atomic step (RENAME_EXCHANGE), then
 * fsync their parent directories: after a crash either the old or the new
 * names hold, never neither. Both must exist on the same filesystem.
 *
 * @example
 * ```ts
 * // "root.new" becomes "root" and the old root becomes "root.new", atomically.
 * await exchangeSubvolumes(runner, "/mnt/top", "root", "root.new");
 * ```
 */
export function exchangeSubvolumes(
  runner: CommandRunner,
  topLevel: string,
  a: string,
  b: string,
  options: ExchangeOptions = {},
): ResultAsync<ExchangeMethod, BtrfsError> {
  return inside(topLevel, a)
    .andThen(requireSubvolume)
    .andThen((wa) =>
      inside(topLevel, b)
        .andThen(requireSubvolume)
        .andThen((wb) =>
          (options.method ? okAsync(options.method) : findExchangeMethod(runner, options)).andThen(
            (method) => {
              const args =
                method.kind === "mv"
                  ? ["--exchange", "-T", "--", wa.absolute, wb.absolute]
                  : [wa.absolute, wb.absolute];
              return runner
                .run(method.command, args)
                .andThen(() => syncDir(path.dirname(wa.absolute)))
                .andThen(() => syncDir(path.dirname(wb.absolute)))
                .map(() => method);
            },
          ),
        ),
    );
}
