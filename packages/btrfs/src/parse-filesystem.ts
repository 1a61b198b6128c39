/**
 * Pure parsers for `btrfs filesystem show --raw`, `btrfs filesystem usage -b`
 * and `btrfs filesystem du -s --raw`.
 *
 * @module
 */
import type { ParseFailedError } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import { z } from "zod";

function parseFailed(source: string, issues: string[]): ParseFailedError {
  return {
    code: "PARSE_FAILED",
    message: `Unexpected output from ${source}: ${issues.slice(0, 3).join("; ")}`,
    source,
    issues,
  };
}

function zodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

const deviceSchema = z.object({
  devid: z.number().int().min(0),
  size: z.number().int().min(0),
  used: z.number().int().min(0),
  path: z.string().min(1),
});

const filesystemSchema = z.object({
  label: z.string().optional(),
  uuid: z.string().regex(/^[0-9a-f-]{36}$/),
  totalDevices: z.number().int().min(1),
  bytesUsed: z.number().int().min(0),
  devices: z.array(deviceSchema),
  missingDevices: z.boolean(),
});

/** One device of a Btrfs filesystem. */
export interface BtrfsDevice {
  readonly devid: number;
  readonly size: number;
  readonly used: number;
  readonly path: string;
}

/** A Btrfs filesystem as `btrfs filesystem show` reports it. */
export interface FilesystemInfo {
  /** `undefined` when the filesystem has no label. */
  readonly label?: string | undefined;
  readonly uuid: string;
  readonly totalDevices: number;
  readonly bytesUsed: number;
  readonly devices: readonly BtrfsDevice[];
  /** True when btrfs reports missing devices. */
  readonly missingDevices: boolean;
}

/**
 * Parse `btrfs filesystem show --raw <path-or-device>` output (the first filesystem in it).
 *
 * @example
 * ```ts
 * const fs = parseFilesystemShow(stdout);
 * if (fs.isOk()) fs.value.uuid;
 * ```
 */
export function parseFilesystemShow(stdout: string): Result<FilesystemInfo, ParseFailedError> {
  const header = /^Label: (?:'(.*)'|none)\s+uuid: (\S+)$/m.exec(stdout);
  if (!header) return err(parseFailed("btrfs filesystem show", ["no Label/uuid line"]));
  const totals = /Total devices (\d+) FS bytes used (\d+)/.exec(stdout);
  const devices = [...stdout.matchAll(/^\s+devid\s+(\d+) size (\d+) used (\d+) path (.+)$/gm)].map(
    (m) => ({ devid: Number(m[1]), size: Number(m[2]), used: Number(m[3]), path: m[4]!.trim() }),
  );
  const candidate = {
    ...(header[1] === undefined ? {} : { label: header[1] }),
    uuid: header[2],
    totalDevices: Number(totals?.[1] ?? Number.NaN),
    bytesUsed: Number(totals?.[2] ?? Number.NaN),
    devices,
    missingDevices: /Some devices missing/.test(stdout),
  };
  const parsed = filesystemSchema.safeParse(candidate);
  if (!parsed.success) return err(parseFailed("btrfs filesystem show", zodIssues(parsed.error)));
  return ok(parsed.data);
}

const usageSchema = z.object({
  deviceSize: z.number().int().min(0),
  deviceAllocated: z.number().int().min(0),
  deviceUnallocated: z.number().int().min(0),
  deviceMissing: z.number().int().min(0),
  used: z.number().int().min(0),
  freeEstimated: z.number().int().min(0),
  freeEstimatedMin: z.number().int().min(0),
  freeStatfs: z.number().int().min(0),
  dataRatio: z.number().positive(),
  metadataRatio: z.number().positive(),
  globalReserve: z.number().int().min(0),
});

/** Space facts from `btrfs filesystem usage -b` ("Overall" section), in bytes. */
export type FilesystemUsage = z.infer<typeof usageSchema>;

/**
 * Parse the "Overall" section of `btrfs filesystem usage -b`.
 *
 * @example
 * ```ts
 * const u = parseFilesystemUsage(stdout);
 * if (u.isOk()) u.value.freeEstimated;
 * ```
 */
export function parseFilesystemUsage(stdout: string): Result<FilesystemUsage, ParseFailedError> {
  const field = (label: string): number => {
    const escaped = label.replace(/[()]/g, "\\$&");
    const m = new RegExp(`^\\s*${escaped}:\\s+([0-9.]+)`, "m").exec(stdout);
    return m ? Number(m[1]) : Number.NaN;
  };
  const min = /Free \(estimated\):\s+\d+\s+\(min: (\d+)\)/.exec(stdout);
  const candidate = {
    deviceSize: field("Device size"),
    deviceAllocated: field("Device allocated"),
    deviceUnallocated: field("Device unallocated"),
    deviceMissing: field("Device missing"),
    used: field("Used"),
    freeEstimated: field("Free (estimated)"),
    freeEstimatedMin: Number(min?.[1] ?? Number.NaN),
    freeStatfs: field("Free (statfs, df)"),
    dataRatio: field("Data ratio"),
    metadataRatio: field("Metadata ratio"),
    globalReserve: field("Global reserve"),
  };
  const parsed = usageSchema.safeParse(candidate);
  if (!parsed.success) return err(parseFailed("btrfs filesystem usage", zodIssues(parsed.error)));
  return ok(parsed.data);
}

const duSchema = z.object({
  total: z.number().int().min(0),
  exclusive: z.number().int().min(0),
  shared: z.number().int().min(0),
});

/**
 * A quota-free size estimate of a tree (from `btrfs filesystem du -s --raw`):
 * `total` counts every file extent once per file, `exclusive` the bytes no
 * other file or snapshot shares, `shared` the bytes shared with others
 * (counted once).
 */
export type SizeEstimate = z.infer<typeof duSchema>;

/**
 * Parse `btrfs filesystem du -s --raw <path>` output (one summary row).
 *
 * @example
 * ```ts
 * parseFilesystemDu("     Total   Exclusive  Set shared  Filename\n  4096  4096  0  /mnt/a\n");
 * // ok({ total: 4096, exclusive: 4096, shared: 0 })
 * ```
 */
export function parseFilesystemDu(stdout: string): Result<SizeEstimate, ParseFailedError> {
  const row = /^\s*(\d+)\s+(\d+)\s+(\d+|-)\s+\S/m.exec(stdout);
  if (!row) return err(parseFailed("btrfs filesystem du", ["no summary row"]));
  const parsed = duSchema.safeParse({
    total: Number(row[1]),
    exclusive: Number(row[2]),
    shared: row[3] === "-" ? 0 : Number(row[3]),
  });
  if (!parsed.success) return err(parseFailed("btrfs filesystem du", zodIssues(parsed.error)));
  return ok(parsed.data);
}
