import { realpath } from "node:fs/promises";
import path from "node:path";
import { err, ok, type Result, ResultAsync } from "neverthrow";
import { type IoFailedError, ioError, type UnsafePathError } from "./errors.js";

function unsafe(p: string, reason: UnsafePathError["reason"], message: string): UnsafePathError {
  return { code: "UNSAFE_PATH", message, path: p, reason };
}

/**
 * Check a relative path from outside (a subvolume name, a file in a manifest)
 * and join it under `root`. Refuses NUL bytes, absolute paths, empty paths
 * and any `..` segment; it does not touch the disk.
 *
 * @example
 * ```ts
 * joinInside("/mnt/top", "snapshots/factory"); // ok("/mnt/top/snapshots/factory")
 * joinInside("/mnt/top", "../etc").isErr();   // true: UNSAFE_PATH, reason "traversal"
 * ```
 */
export function joinInside(root: string, relative: string): Result<string, UnsafePathError> {
  if (relative.includes("\0"))
    return err(unsafe(relative, "nul-byte", "The path contains a NUL byte."));
  if (relative.length === 0) return err(unsafe(relative, "empty", "The path is empty."));
  if (path.isAbsolute(relative)) {
    return err(
      unsafe(relative, "absolute", `The path ${JSON.stringify(relative)} must be relative.`),
    );
  }
  const segments = relative.split("/");
  if (segments.includes("..")) {
    return err(
      unsafe(relative, "traversal", `The path ${JSON.stringify(relative)} climbs out with "..".`),
    );
  }
  const joined = path.join(root, ...segments.filter((s) => s !== "" && s !== "."));
  return ok(joined);
}

/**
 * Like {@link joinInside}, then resolves symlinks on disk and refuses a path
 * whose real location is outside `root`'s real location. The last segment
 * may not exist yet (a path about to be created).
 *
 * @example
 * ```ts
 * const p = await resolveInside("/mnt/top", "root/etc");
 * ```
 */
export function resolveInside(
  root: string,
  relative: string,
): ResultAsync<string, UnsafePathError | IoFailedError> {
  const joined = joinInside(root, relative);
  if (joined.isErr()) return new ResultAsync(Promise.resolve(err(joined.error)));
  const target = joined.value;
  return ResultAsync.fromPromise(
    (async () => {
      const realRoot = await realpath(root);
      let existing = target;
      let rest = "";
      for (;;) {
        try {
          const real = await realpath(existing);
          return { realRoot, real: rest ? path.join(real, rest) : real };
        } catch (e) {
          if ((e as { code?: string }).code !== "ENOENT" || existing === root) throw e;
          rest = rest ? path.join(path.basename(existing), rest) : path.basename(existing);
          existing = path.dirname(existing);
        }
      }
    })(),
    (e) => ioError(e, target, "resolve"),
  ).andThen(({ realRoot, real }) =>
    real === realRoot || real.startsWith(`${realRoot}/`)
      ? ok(target)
      : err(
          unsafe(
            relative,
            "symlink-escape",
            `The path ${JSON.stringify(relative)} leads outside ${root} through a symlink.`,
          ),
        ),
  );
}
