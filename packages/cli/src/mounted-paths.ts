/**
 * Paths inside the directories a `--disk` target is mounted on only while a
 * command runs, rewritten for messages so they stay meaningful after it:
 * `[Btrfs of disk.img]/.lifeboat/factory/manifest.json`.
 */

/** The mounts of an opened target, and the disk they belong to. */
export interface TargetMounts {
  readonly disk: string | undefined;
  readonly top?: string | undefined;
  readonly boot?: string | undefined;
  readonly recoveryRoot?: string | undefined;
}

function prefixes(t: TargetMounts): [string, string][] {
  if (t.disk === undefined) return []; // the caller's own mounts: their paths stay valid
  const out: [string, string][] = [];
  if (t.top) out.push([t.top, `[Btrfs of ${t.disk}]`]);
  if (t.boot) out.push([t.boot, `[/boot of ${t.disk}]`]);
  if (t.recoveryRoot) out.push([t.recoveryRoot, `[recovery partition of ${t.disk}]`]);
  // Longest first, so a mount nested in another is named by the inner one.
  return out.sort((a, b) => b[0].length - a[0].length);
}

/** `text` with every mount directory of `t` replaced by the partition it is. */
export function nameMountedPaths(text: string, t: TargetMounts): string {
  let out = text;
  for (const [dir, name] of prefixes(t)) {
    const trimmed = dir.replace(/\/+$/, "");
    out = out.replaceAll(`${trimmed}/`, `${name}/`).replaceAll(trimmed, name);
  }
  return out;
}

/** A copy of an error (and its `cause` chain) with {@link nameMountedPaths} applied to every string field. */
export function nameMountedPathsIn<T>(value: T, t: TargetMounts, depth = 0): T {
  if (depth > 8) return value;
  if (typeof value === "string") return nameMountedPaths(value, t) as T;
  if (Array.isArray(value)) return value.map((v) => nameMountedPathsIn(v, t, depth + 1)) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = nameMountedPathsIn(v, t, depth + 1);
    return out as T;
  }
  return value;
}

/**
 * Run `body`; an error it throws comes out with mount directories named as
 * partitions (see {@link nameMountedPathsIn}).
 */
export async function withNamedPaths<R>(t: TargetMounts, body: () => Promise<R>): Promise<R> {
  try {
    return await body();
  } catch (e) {
    throw nameMountedPathsIn(e, t);
  }
}
