/**
 * Pure parsers for `btrfs subvolume` output (btrfs-progs 6.x text; its
 * `subvolume list` has no JSON form). Every parsed record is validated with
 * zod before it is returned.
 *
 * @module
 */
import type { ParseFailedError } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import { z } from "zod";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uuidOrNone = z.union([z.string().regex(UUID), z.undefined()]);

const subvolumeSchema = z.object({
  id: z.number().int().min(5),
  generation: z.number().int().min(0),
  createdGeneration: z.number().int().min(0),
  parentId: z.number().int().min(0),
  topLevelId: z.number().int().min(0),
  uuid: z.string().regex(UUID),
  parentUuid: uuidOrNone,
  receivedUuid: uuidOrNone,
  path: z.string().min(1),
  readOnly: z.boolean(),
});

/** One subvolume as Btrfs reports it. Paths are relative to the top level (subvolume 5). */
export interface Subvolume {
  /** Subvolume (root) id; 5 is the top level. */
  readonly id: number;
  /** Generation (transaction id) of the last change. */
  readonly generation: number;
  /** Generation at creation (`cgen`). */
  readonly createdGeneration: number;
  /** Id of the subvolume this one sits in. */
  readonly parentId: number;
  /** Id of the subvolume containing this one's directory entry (same as `parentId` today). */
  readonly topLevelId: number;
  readonly uuid: string;
  /** UUID of the subvolume this one was snapshotted from. */
  readonly parentUuid: string | undefined;
  /** UUID of the sent subvolume this one was received from (set by `btrfs receive` on success). */
  readonly receivedUuid: string | undefined;
  /** Path relative to the top level, e.g. `"root"` or `"snapshots/factory"`. */
  readonly path: string;
  readonly readOnly: boolean;
}

function parseFailed(source: string, issues: string[]): ParseFailedError {
  return {
    code: "PARSE_FAILED",
    message: `Unexpected output from ${source}: ${issues.slice(0, 3).join("; ")}`,
    source,
    issues,
  };
}

function dash(value: string): string | undefined {
  return value === "-" ? undefined : value;
}

const LIST_LINE =
  /^ID (\d+) gen (\d+) cgen (\d+) parent (\d+) top level (\d+) parent_uuid (\S+)\s+received_uuid (\S+)\s+uuid (\S+) path (.+)$/;

/**
 * Parse `btrfs subvolume list -p -u -q -R -g -c <top level>` output.
 * `readOnlyIds` comes from a second `list -r` run (the text form has no flag column).
 * A leading `<FS_TREE>/` (printed by `-a`) is removed.
 *
 * @example
 * ```ts
 * const r = parseSubvolumeList(stdout, new Set([258]));
 * if (r.isOk()) r.value.map((s) => s.path); // ["root", "home", "snapshots/factory"]
 * ```
 */
export function parseSubvolumeList(
  stdout: string,
  readOnlyIds: ReadonlySet<number> = new Set(),
): Result<Subvolume[], ParseFailedError> {
  const out: Subvolume[] = [];
  const issues: string[] = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const m = LIST_LINE.exec(line);
    if (!m) {
      issues.push(`unrecognised line ${JSON.stringify(line)}`);
      continue;
    }
    const id = Number(m[1]);
    const candidate = {
      id,
      generation: Number(m[2]),
      createdGeneration: Number(m[3]),
      parentId: Number(m[4]),
      topLevelId: Number(m[5]),
      parentUuid: dash(m[6]!),
      receivedUuid: dash(m[7]!),
      uuid: m[8],
      path: m[9]!.replace(/^<FS_TREE>\//, ""),
      readOnly: readOnlyIds.has(id),
    };
    const parsed = subvolumeSchema.safeParse(candidate);
    if (parsed.success) out.push(parsed.data);
    else issues.push(...parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  if (issues.length > 0) return err(parseFailed("btrfs subvolume list", issues));
  return ok(out);
}

/**
 * Parse the ids out of `btrfs subvolume list -r` (or any `list`) output.
 *
 * @example
 * ```ts
 * parseSubvolumeIds("ID 258 gen 7 top level 5 path snap\n"); // Set {258}
 * ```
 */
export function parseSubvolumeIds(stdout: string): Set<number> {
  const ids = new Set<number>();
  for (const m of stdout.matchAll(/^ID (\d+) /gm)) ids.add(Number(m[1]));
  return ids;
}

/**
 * Parse `btrfs subvolume show` output. The first line is the path relative to
 * the top level (`/` for the top level itself).
 *
 * @example
 * ```ts
 * const r = parseSubvolumeShow(stdout);
 * if (r.isOk()) r.value.readOnly;
 * ```
 */
export function parseSubvolumeShow(stdout: string): Result<Subvolume, ParseFailedError> {
  const lines = stdout.split("\n");
  const first = lines[0]?.trim() ?? "";
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const m = /^\s+([A-Za-z][A-Za-z ()]*?):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!, m[2]!.trim());
  }
  const num = (key: string) => (fields.has(key) ? Number(fields.get(key)) : Number.NaN);
  const id = num("Subvolume ID");
  const candidate = {
    id,
    generation: num("Generation"),
    createdGeneration: num("Gen at creation"),
    parentId: num("Parent ID"),
    topLevelId: num("Top level ID"),
    uuid: fields.get("UUID"),
    parentUuid: dash(fields.get("Parent UUID") ?? "-"),
    receivedUuid: dash(fields.get("Received UUID") ?? "-"),
    path: id === 5 ? "/" : first.replace(/^<FS_TREE>\//, ""),
    readOnly: /\breadonly\b/.test(fields.get("Flags") ?? ""),
  };
  const parsed = subvolumeSchema.safeParse(candidate);
  if (!parsed.success) {
    return err(
      parseFailed(
        "btrfs subvolume show",
        parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
      ),
    );
  }
  return ok(parsed.data);
}

/** The default subvolume as `btrfs subvolume get-default` reports it. */
export interface DefaultSubvolume {
  readonly id: number;
  /** Path relative to the top level; `undefined` for the top level itself (id 5). */
  readonly path: string | undefined;
}

/**
 * Parse `btrfs subvolume get-default` output (`ID 5 (FS_TREE)` or
 * `ID 256 gen 7 top level 5 path root`).
 *
 * @example
 * ```ts
 * parseGetDefault("ID 5 (FS_TREE)\n"); // ok({ id: 5, path: undefined })
 * ```
 */
export function parseGetDefault(stdout: string): Result<DefaultSubvolume, ParseFailedError> {
  const line = stdout.trim();
  if (/^ID 5 \(FS_TREE\)$/.test(line)) return ok({ id: 5, path: undefined });
  const m = /^ID (\d+) gen \d+ top level \d+ path (.+)$/.exec(line);
  if (!m)
    return err(
      parseFailed("btrfs subvolume get-default", [`unrecognised ${JSON.stringify(line)}`]),
    );
  return ok({ id: Number(m[1]), path: m[2]!.replace(/^<FS_TREE>\//, "") });
}
