import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ioError } from "@lifeboat/core";
import { err, ok, ResultAsync } from "neverthrow";
import { z } from "zod";
import { damaged, type RecoveryEnvError } from "./errors.js";
import { RECOVERY_ENVIRONMENT_FILES, RECOVERY_ENVIRONMENT_RECORD } from "./layout.js";

const fileSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});

const recordSchema = z.object({
  version: z.literal(1),
  kernelVersion: z.string().min(1),
  files: z.object({
    [RECOVERY_ENVIRONMENT_FILES.kernel]: fileSchema,
    [RECOVERY_ENVIRONMENT_FILES.initrd]: fileSchema,
    [RECOVERY_ENVIRONMENT_FILES.exchangeHelper]: fileSchema,
    [RECOVERY_ENVIRONMENT_FILES.agentHelper]: fileSchema,
  }),
});

/** One file of a recovery environment: its SHA-256 (hex) and size. */
export interface RecoveryEnvironmentFile {
  readonly sha256: string;
  readonly bytes: number;
}

/**
 * The record of a recovery environment (`environment.json` beside its files):
 * the kernel version and every file's SHA-256 and size. Its own digest is
 * the environment's identity.
 */
export interface RecoveryEnvironmentRecord {
  readonly version: 1;
  readonly kernelVersion: string;
  /** By file name (`vmlinuz`, `initrd.img`, `lifeboat-exch`, `lifeboat-btrfs-agent`). */
  readonly files: Readonly<Record<string, RecoveryEnvironmentFile>>;
}

/**
 * A folder holding a recovery environment whose files were read and match
 * their record. Made only by {@link verifyRecoveryEnvironment} (and
 * `prepareRecoveryEnvironment`, which verifies what it built).
 */
export interface VerifiedRecoveryEnvironment {
  /** The folder. */
  readonly dir: string;
  readonly record: RecoveryEnvironmentRecord;
  /** The record's bytes as written. */
  readonly recordBytes: Uint8Array;
  /** `sha256:<hex>` of the record: the environment's digest. */
  readonly digest: string;
  /** The first 16 hex digits of the digest: the folder name on the recovery partition. */
  readonly id: string;
  /** Kernel, initramfs and helpers together. */
  readonly sizeBytes: number;
  /** @internal proof of verification */
  readonly __verified: true;
}

/** The file names of an environment, in a fixed order. */
export const ENVIRONMENT_FILE_NAMES: readonly string[] = Object.values(RECOVERY_ENVIRONMENT_FILES);

export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** The record's canonical bytes (fixed key order, two-space JSON, a final line break). */
export function renderRecord(record: RecoveryEnvironmentRecord): Uint8Array {
  const files: Record<string, RecoveryEnvironmentFile> = {};
  for (const name of ENVIRONMENT_FILE_NAMES) {
    const f = record.files[name];
    if (f) files[name] = { sha256: f.sha256, bytes: f.bytes };
  }
  const canonical = { version: record.version, kernelVersion: record.kernelVersion, files };
  return new TextEncoder().encode(`${JSON.stringify(canonical, null, 2)}\n`);
}

export function identify(recordBytes: Uint8Array) {
  const hex = createHash("sha256").update(recordBytes).digest("hex");
  return { digest: `sha256:${hex}`, id: hex.slice(0, 16) };
}

async function verify(dir: string): Promise<VerifiedRecoveryEnvironment | RecoveryEnvError> {
  const recordFile = path.join(dir, RECOVERY_ENVIRONMENT_RECORD);
  let raw: Buffer;
  try {
    raw = await readFile(recordFile);
  } catch (e) {
    return ioError(e, recordFile, "read");
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return damaged(dir, RECOVERY_ENVIRONMENT_RECORD, "is not JSON");
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success)
    return damaged(dir, RECOVERY_ENVIRONMENT_RECORD, `is not a record: ${parsed.error.message}`);
  const record = parsed.data as RecoveryEnvironmentRecord;
  let sizeBytes = 0;
  for (const name of ENVIRONMENT_FILE_NAMES) {
    const want = record.files[name] as RecoveryEnvironmentFile;
    const file = path.join(dir, name);
    const isFile = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!isFile) return damaged(dir, name, "is missing");
    const have = await sha256File(file);
    if (have.sha256 !== want.sha256 || have.bytes !== want.bytes)
      return damaged(
        dir,
        name,
        `has SHA-256 ${have.sha256} (${have.bytes} bytes), the record says ${want.sha256} (${want.bytes} bytes)`,
      );
    sizeBytes += have.bytes;
  }
  const recordBytes = new Uint8Array(raw);
  return { dir, record, recordBytes, ...identify(recordBytes), sizeBytes, __verified: true };
}

/**
 * Read a recovery environment's folder (a prebuilt one, or the one installed
 * on the recovery partition) and check every file against its record.
 * `RECOVERY_ENV_DAMAGED` names the file that is missing or differs.
 *
 * @example
 * ```ts
 * const env = await verifyRecoveryEnvironment("/srv/oem/recovery-env");
 * if (env.isOk()) console.log(env.value.digest, env.value.record.kernelVersion);
 * ```
 */
export function verifyRecoveryEnvironment(
  dir: string,
): ResultAsync<VerifiedRecoveryEnvironment, RecoveryEnvError> {
  return ResultAsync.fromPromise(verify(dir), (e) => ioError(e, dir, "verify")).andThen((r) =>
    "__verified" in r ? ok(r) : err(r),
  );
}
