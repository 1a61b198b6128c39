import { err, ok, type Result, type ResultAsync } from "neverthrow";
import { z } from "zod";
import {
  looseNumber,
  looseString,
  parseFailed,
  parseJsonInput,
  zodIssues,
} from "./_internal/zod-fields.js";
import type { CommandError, ParseFailedError } from "./errors.js";
import type { CommandRunner } from "./runner.js";

/** One mounted filesystem, as `findmnt -J -b -l` reports it. */
export interface Mount {
  /** Where it is mounted. */
  readonly target: string;
  /** What findmnt shows as source: `/dev/vda3[/root]` for a btrfs subvolume. */
  readonly source: string;
  /** The source without the `[/fsroot]` suffix: the device node (or `tmpfs`, `proc`, ...). */
  readonly device: string;
  readonly fstype: string;
  /** The mount options, as one string (`rw,relatime,subvol=/root`). */
  readonly options: string;
  /** The directory of the filesystem that is mounted here (`/root` for `subvol=root`). */
  readonly fsroot: string;
  /** Btrfs: the mounted subvolume's path from the top level, from `subvol=`. */
  readonly subvol: string | undefined;
  /** Btrfs: the mounted subvolume's id, from `subvolid=`. */
  readonly subvolId: number | undefined;
  /** Mount id and its parent's, from the kernel. */
  readonly id: number | undefined;
  readonly parentId: number | undefined;
  readonly majMin: string | undefined;
  /** Filesystem UUID and label. */
  readonly fsUuid: string | undefined;
  readonly label: string | undefined;
  /** Bytes: total, free for users, used. */
  readonly size: number | undefined;
  readonly available: number | undefined;
  readonly used: number | undefined;
}

/** The columns Lifeboat asks findmnt for. */
export const FINDMNT_COLUMNS =
  "TARGET,SOURCE,FSTYPE,OPTIONS,FSROOT,ID,PARENT,MAJ:MIN,UUID,LABEL,SIZE,AVAIL,USED";

const rawMountSchema = z.object({
  target: z.string(),
  source: looseString,
  fstype: looseString,
  options: looseString,
  fsroot: looseString,
  id: looseNumber,
  parent: looseNumber,
  "maj:min": looseString,
  uuid: looseString,
  label: looseString,
  size: looseNumber,
  avail: looseNumber,
  used: looseNumber,
  children: z.array(z.unknown()).nullish(),
});

const topSchema = z.object({ filesystems: z.array(z.unknown()) });

/** Read one option (`subvol=/root`) from a comma-separated mount option string. */
function option(options: string, name: string): string | undefined {
  const prefix = `${name}=`;
  return options
    .split(",")
    .find((o) => o.startsWith(prefix))
    ?.slice(prefix.length);
}

function toMounts(raw: unknown, where: string, out: Mount[]): string[] | undefined {
  const parsed = rawMountSchema.safeParse(raw);
  if (!parsed.success) return zodIssues(parsed.error).map((i) => `${where}.${i}`);
  const m = parsed.data;
  const options = m.options ?? "";
  const source = m.source ?? "none";
  const fstype = m.fstype ?? "unknown";
  const subvolId = fstype === "btrfs" ? option(options, "subvolid") : undefined;
  out.push({
    target: m.target,
    source,
    device: source.replace(/\[.*\]$/, ""),
    fstype,
    options,
    fsroot: m.fsroot ?? "/",
    subvol: fstype === "btrfs" ? option(options, "subvol") : undefined,
    subvolId: subvolId === undefined ? undefined : Number(subvolId),
    id: m.id,
    parentId: m.parent,
    majMin: m["maj:min"],
    fsUuid: m.uuid,
    label: m.label,
    size: m.size,
    available: m.avail,
    used: m.used,
  });
  for (const [i, c] of (m.children ?? []).entries()) {
    const issues = toMounts(c, `${where}.children.${i}`, out);
    if (issues) return issues;
  }
  return undefined;
}

/**
 * Parse the JSON of `findmnt -J` (list `-l` or tree form) into a flat list of
 * {@link Mount}s, in findmnt's order. Pure.
 *
 * @example
 * ```ts
 * const mounts = parseFindmnt(stdout)._unsafeUnwrap();
 * mounts.find((m) => m.target === "/")?.subvol; // "/root" on Fedora
 * ```
 */
export function parseFindmnt(json: string | unknown): Result<Mount[], ParseFailedError> {
  const source = "findmnt -J";
  const input = parseJsonInput(json, source);
  if (!input.ok) return err(input.error);
  const top = topSchema.safeParse(input.value);
  if (!top.success) return err(parseFailed(source, zodIssues(top.error)));
  const mounts: Mount[] = [];
  for (const [i, raw] of top.data.filesystems.entries()) {
    const issues = toMounts(raw, `filesystems.${i}`, mounts);
    if (issues) return err(parseFailed(source, issues));
  }
  return ok(mounts);
}

/** Options for the findmnt functions. */
export interface FindmntOptions {
  readonly signal?: AbortSignal | undefined;
}

const runOpts = (o: FindmntOptions) => (o.signal === undefined ? {} : { signal: o.signal });

/**
 * List every mounted filesystem (`findmnt -J -b -l`).
 *
 * @example
 * ```ts
 * const r = await listMounts(createExecaRunner());
 * if (r.isOk()) for (const m of r.value) console.log(m.target, m.fstype, m.subvol ?? "");
 * ```
 */
export function listMounts(
  runner: CommandRunner,
  options: FindmntOptions = {},
): ResultAsync<Mount[], CommandError | ParseFailedError> {
  return runner
    .run("findmnt", ["-J", "-b", "-l", "-o", FINDMNT_COLUMNS], runOpts(options))
    .andThen((r) => parseFindmnt(r.stdout));
}

/**
 * The mount that holds `path` (`findmnt -T path`): for a file, the filesystem
 * it lives on; for a mount point, that mount (the topmost when stacked).
 *
 * @example
 * ```ts
 * const m = await findMountOf(runner, "/home/alice");
 * if (m.isOk()) console.log(m.value.target, m.value.subvol); // "/home" "/home"
 * ```
 */
export function findMountOf(
  runner: CommandRunner,
  path: string,
  options: FindmntOptions = {},
): ResultAsync<Mount, CommandError | ParseFailedError> {
  return runner
    .run("findmnt", ["-J", "-b", "-l", "-o", FINDMNT_COLUMNS, "-T", path], runOpts(options))
    .andThen((r) => parseFindmnt(r.stdout))
    .andThen((mounts) => {
      const last = mounts.at(-1);
      return last === undefined
        ? err(parseFailed("findmnt -J -T", [`no mount reported for ${path}`]))
        : ok(last);
    });
}
