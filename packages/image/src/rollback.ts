/**
 * Anti-rollback: an image set whose signed `securityEpoch` is below the
 * floor is refused (`IMAGE_ROLLBACK`). The floor is the highest of
 *
 * - the epoch of the set `current` points at (`installed`),
 * - `<root>/security-epoch`, the recovery partition's record of the highest
 *   epoch installed there (`recorded`; it survives a set being swapped by
 *   hand),
 * - the OEM's `minimumEpoch`, shipped with the trusted keys (`minimum`).
 *
 * A service engineer can override with a reason; every override is appended
 * to `<root>/rollback-log.jsonl` (one JSON object a line, fsynced) before
 * the older set becomes current.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import path from "node:path";
import {
  fsyncDirectory,
  type InvalidArgumentError,
  type IoFailedError,
  ioError,
  writeFileAtomic,
} from "@lifeboat/core";
import { err, ok, type Result, ResultAsync } from "neverthrow";
import type { ImageError, ImageRollbackError } from "./errors.js";
import { MANIFEST_FILE, ROLLBACK_LOG_FILE, SECURITY_EPOCH_FILE } from "./layout.js";
import { type Manifest, parseManifest, securityEpochOf } from "./manifest.js";

/** Where the floor came from (the highest source wins; `none`: no floor at all). */
export type EpochFloorSource = "installed" | "recorded" | "minimum" | "none";

/** The anti-rollback floor of a recovery partition, with each source. */
export interface EpochFloor {
  /** The highest of the sources (0 when there is none). */
  readonly epoch: number;
  readonly source: EpochFloorSource;
  /** The `current` set's epoch, when a set is installed and its manifest reads. */
  readonly installedEpoch: number | undefined;
  /** The partition's `security-epoch` record, when present. */
  readonly recordedEpoch: number | undefined;
  /** The OEM minimum given by the caller. */
  readonly minimumEpoch: number | undefined;
}

/** An explicit, logged override of the anti-rollback check, for service engineers. */
export interface RollbackOverride {
  /** Why (a ticket, a name): written to the rollback log. Must not be empty. */
  readonly reason: string;
}

/** One line of `rollback-log.jsonl`. */
export interface RollbackRecord {
  /** ISO 8601 UTC. */
  readonly time: string;
  /** What accepted the older set. */
  readonly action: "install" | "update" | "reset";
  /** The floor that was overridden. */
  readonly fromEpoch: number;
  readonly floorSource: EpochFloorSource;
  /** The epoch of the older set. */
  readonly toEpoch: number;
  readonly product: string;
  readonly version: string;
  /** `sha256:` and the hex SHA-256 of the set's signed manifest. */
  readonly setDigest: string;
  readonly reason: string;
}

/**
 * Compute the floor for `root` (a mounted recovery partition, or a directory
 * on it). A missing `current` or record is no floor; an unreadable current
 * manifest does not lower the floor (the record still counts).
 *
 * @example
 * ```ts
 * const floor = await readEpochFloor("/run/recovery", { minimumEpoch: 2 });
 * if (floor.isOk()) console.log(floor.value.epoch, floor.value.source);
 * ```
 */
export function readEpochFloor(
  root: string,
  options: { readonly minimumEpoch?: number | undefined } = {},
): ResultAsync<EpochFloor, ImageError> {
  const work = async (): Promise<EpochFloor | ImageError> => {
    const installed = await readInstalledEpoch(root);
    const recorded = await readEpochFile(path.join(root, SECURITY_EPOCH_FILE));
    if (typeof recorded === "object") return recorded;
    return floorOf(installed, recorded, options.minimumEpoch);
  };
  return ResultAsync.fromPromise(work(), (e) => ioError(e, root, "read the epoch floor")).andThen(
    (r) => ("code" in r ? err(r) : ok(r)),
  );
}

function floorOf(
  installedEpoch: number | undefined,
  recordedEpoch: number | undefined,
  minimumEpoch: number | undefined,
): EpochFloor {
  let epoch = 0;
  let source: EpochFloorSource = "none";
  for (const [value, from] of [
    [installedEpoch, "installed"],
    [recordedEpoch, "recorded"],
    [minimumEpoch, "minimum"],
  ] as const) {
    if (value !== undefined && (source === "none" || value > epoch)) {
      epoch = value;
      source = from;
    }
  }
  return { epoch, source, installedEpoch, recordedEpoch, minimumEpoch };
}

async function readInstalledEpoch(root: string): Promise<number | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(root, "current", MANIFEST_FILE));
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
  const m = parseManifest(bytes);
  return m.isOk() ? securityEpochOf(m.value) : undefined;
}

async function readEpochFile(file: string): Promise<number | undefined | InvalidArgumentError> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
  const n = /^\s*(\d{1,15})\s*$/.exec(text);
  if (!n?.[1])
    return {
      code: "INVALID_ARGUMENT",
      message: `${file} does not hold one non-negative integer (a security epoch).`,
      argument: file,
    };
  return Number(n[1]);
}

/**
 * Read an OEM's `minimum-epoch` file (one integer; missing: `undefined`).
 * The CLI looks for it beside each `--trusted-key` file.
 *
 * @example
 * ```ts
 * const min = await readMinimumEpoch("/etc/lifeboat/keys/minimum-epoch"); // ok(2) or ok(undefined)
 * ```
 */
export function readMinimumEpoch(
  file: string,
): ResultAsync<number | undefined, IoFailedError | InvalidArgumentError> {
  return ResultAsync.fromPromise(readEpochFile(file), (e) => ioError(e, file, "read")).andThen(
    (r) => (typeof r === "object" ? err(r) : ok(r)),
  );
}

/**
 * Refuse an offered set below the floor with `IMAGE_ROLLBACK` (pure).
 *
 * @example
 * ```ts
 * const r = checkSecurityEpoch(verified.manifest, floor);
 * if (r.isErr()) console.error(r.error.message); // "… epoch 1 is older than … 2 …"
 * ```
 */
export function checkSecurityEpoch(
  offered: Pick<Manifest, "securityEpoch" | "product" | "version">,
  floor: EpochFloor,
): Result<void, ImageRollbackError> {
  const offeredEpoch = securityEpochOf(offered);
  if (floor.source === "none" || offeredEpoch >= floor.epoch) return ok(undefined);
  const why = {
    installed: "the installed image set's",
    recorded: "the highest ever installed on this recovery partition,",
    minimum: "the minimum the OEM set with the trusted keys,",
  }[floor.source];
  return err({
    code: "IMAGE_ROLLBACK",
    message: `${offered.product} ${offered.version} has security epoch ${offeredEpoch}, older than ${why} epoch ${floor.epoch}: an older image may have known holes. A service engineer can override with a reason (--allow-rollback).`,
    offeredEpoch,
    floorEpoch: floor.epoch,
    floorSource: floor.source,
    installedEpoch: floor.installedEpoch,
  });
}

/**
 * `sha256:` and the hex SHA-256 of signed manifest bytes (a set's identity,
 * the same as `@lifeboat/reset`'s `imageSetDigest`).
 *
 * @example
 * ```ts
 * manifestDigest(verified.manifestBytes); // "sha256:3f1c…"
 * ```
 */
export function manifestDigest(manifestBytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(manifestBytes).digest("hex")}`;
}

/**
 * Append one override to `<root>/rollback-log.jsonl` and fsync it (and the
 * directory when the log is new). Records are never rewritten.
 *
 * @example
 * ```ts
 * await recordRollback("/run/recovery", { time: new Date().toISOString(), action: "reset", fromEpoch: 2,
 *   floorSource: "recorded", toEpoch: 1, product: "acme", version: "1", setDigest, reason: "ticket 42" });
 * ```
 */
export function recordRollback(
  root: string,
  record: RollbackRecord,
): ResultAsync<void, IoFailedError> {
  const file = path.join(root, ROLLBACK_LOG_FILE);
  const work = async () => {
    const h = await open(file, "a", 0o644);
    try {
      await h.write(`${JSON.stringify(record)}\n`);
      await h.sync();
    } finally {
      await h.close();
    }
    await fsyncDirectory(root);
  };
  return ResultAsync.fromPromise(work(), (e) => ioError(e, file, "append"));
}

/**
 * The overrides recorded on a recovery partition, oldest first (none: `[]`).
 * A torn last line (power cut while appending) is skipped.
 *
 * @example
 * ```ts
 * const log = await readRollbackLog("/run/recovery");
 * if (log.isOk()) for (const r of log.value) console.log(r.time, r.fromEpoch, "→", r.toEpoch, r.reason);
 * ```
 */
export function readRollbackLog(root: string): ResultAsync<RollbackRecord[], IoFailedError> {
  const file = path.join(root, ROLLBACK_LOG_FILE);
  const work = async () => {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return [];
      throw e;
    }
    const out: RollbackRecord[] = [];
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        out.push(JSON.parse(line) as RollbackRecord);
      } catch {
        // a torn last line
      }
    }
    return out;
  };
  return ResultAsync.fromPromise(work(), (e) => ioError(e, file, "read"));
}

/** @internal Raise (or, after an override, set) the partition's epoch record. */
export function writeRecordedEpoch(root: string, epoch: number): ResultAsync<void, IoFailedError> {
  return writeFileAtomic(path.join(root, SECURITY_EPOCH_FILE), `${epoch}\n`);
}

/** @internal An override needs a reason. */
export function checkOverride(
  override: RollbackOverride | undefined,
): Result<void, InvalidArgumentError> {
  return override === undefined || override.reason.trim() !== ""
    ? ok(undefined)
    : err({
        code: "INVALID_ARGUMENT",
        message: "A rollback override needs a reason (it is written to the rollback log).",
        argument: "allowRollback.reason",
      });
}
