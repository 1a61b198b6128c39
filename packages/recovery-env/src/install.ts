import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  mkdir,
  open,
  readdir,
  readlink,
  rename,
  rm,
  statfs,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { abortedError, fsyncDirectory, ioError } from "@lifeboat/core";
import { ResultAsync } from "neverthrow";
import { damaged, type RecoveryEnvError } from "./errors.js";
import {
  RECOVERY_ENVIRONMENT_FILES,
  RECOVERY_ENVIRONMENT_LINK,
  RECOVERY_ENVIRONMENT_RECORD,
  RECOVERY_ENVIRONMENTS_DIR,
} from "./layout.js";
import {
  ENVIRONMENT_FILE_NAMES,
  type RecoveryEnvironmentFile,
  type VerifiedRecoveryEnvironment,
  verifyRecoveryEnvironment,
} from "./record.js";

/** Progress of {@link installRecoveryEnvironment}. */
export type InstallRecoveryEnvProgress =
  | { readonly step: "check" }
  | { readonly step: "copy"; readonly file: string }
  | { readonly step: "switch"; readonly id: string }
  | { readonly step: "cleanup"; readonly removed: readonly string[] };

/** Options of {@link installRecoveryEnvironment}. */
export interface InstallRecoveryEnvironmentOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: InstallRecoveryEnvProgress) => void;
}

/** What {@link installRecoveryEnvironment} left on the recovery partition. */
export interface InstalledRecoveryEnvironment {
  /** The environment's folder name, `environments/<id>`. */
  readonly id: string;
  /** `sha256:<hex>` of its record (`environment.json`). */
  readonly digest: string;
  /** The id `environment` named before (undefined: none, or a damaged one). */
  readonly previousId: string | undefined;
  /** False when this very environment was installed and verified: nothing was written. */
  readonly changed: boolean;
  readonly kernelVersion: string;
  /** Each file's SHA-256 and size, by name, as recorded. */
  readonly files: Readonly<Record<string, RecoveryEnvironmentFile>>;
  /** Paths on the partition (relative to its root). */
  readonly paths: {
    readonly kernel: string;
    readonly initrd: string;
    readonly record: string;
  };
}

class Failure {
  constructor(readonly error: RecoveryEnvError) {}
}

/** Copy `from` to `to` (created), fsync it, and check the copy's SHA-256 as it was written. */
async function durableCopy(from: string, to: string, want: RecoveryEnvironmentFile, mode: number) {
  const out = await open(to, "w", mode);
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(from)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      await out.write(chunk as Buffer);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  const sha256 = hash.digest("hex");
  if (sha256 !== want.sha256 || bytes !== want.bytes)
    throw new Failure(
      damaged(path.dirname(from), path.basename(from), `changed while it was copied (${sha256})`),
    );
}

async function currentId(root: string): Promise<string | undefined> {
  try {
    const target = await readlink(path.join(root, RECOVERY_ENVIRONMENT_LINK));
    const parts = target.split("/");
    if (parts.length !== 2 || parts[0] !== RECOVERY_ENVIRONMENTS_DIR || !parts[1]) return undefined;
    return parts[1];
  } catch {
    return undefined;
  }
}

/** Make `name` in `dir` a symbolic link to `target`, atomically (a new link renamed over it). */
async function linkAtomically(dir: string, name: string, target: string): Promise<boolean> {
  const at = path.join(dir, name);
  const now = await readlink(at).catch(() => undefined);
  if (now === target) return false;
  const next = path.join(dir, `.${name}.new-${process.pid}`);
  await rm(next, { force: true });
  await symlink(target, next);
  await rename(next, at);
  return true;
}

async function install(
  env: VerifiedRecoveryEnvironment,
  root: string,
  o: InstallRecoveryEnvironmentOptions,
): Promise<InstalledRecoveryEnvironment> {
  const emit = o.onProgress ?? (() => undefined);
  const envs = path.join(root, RECOVERY_ENVIRONMENTS_DIR);
  emit({ step: "check" });
  const previousId = await currentId(root);
  let changed = false;
  let installedOk = false;
  if (previousId === env.id) {
    const have = await verifyRecoveryEnvironment(path.join(envs, previousId));
    installedOk = have.isOk() && have.value.digest === env.digest;
  }
  if (!installedOk) {
    const free = await statfs(root);
    const available = Number(free.bavail) * Number(free.bsize);
    // Headroom for the folder and the record: file systems round up to blocks.
    const needed = env.sizeBytes + 64 * 1024;
    if (available < needed)
      throw new Failure({
        code: "RECOVERY_ENV_INSUFFICIENT_SPACE",
        message: `The recovery partition ${root} has ${available} bytes free; the recovery environment needs ${needed} beside the one in use. Nothing was changed: make the recovery partition larger.`,
        root,
        neededBytes: needed,
        availableBytes: available,
      });
    await mkdir(envs, { recursive: true });
    const partial = path.join(envs, `.partial-${env.id}`);
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial);
    try {
      for (const name of ENVIRONMENT_FILE_NAMES) {
        if (o.signal?.aborted)
          throw new Failure(abortedError("installing the recovery environment"));
        emit({ step: "copy", file: name });
        const helper =
          name === RECOVERY_ENVIRONMENT_FILES.exchangeHelper ||
          name === RECOVERY_ENVIRONMENT_FILES.agentHelper;
        await durableCopy(
          path.join(env.dir, name),
          path.join(partial, name),
          env.record.files[name] as RecoveryEnvironmentFile,
          helper ? 0o755 : 0o644,
        );
      }
      const record = path.join(partial, RECOVERY_ENVIRONMENT_RECORD);
      await writeFile(record, env.recordBytes);
      const handle = await open(record, "r");
      await handle.sync().finally(() => handle.close());
      await fsyncDirectory(partial);
      const final = path.join(envs, env.id);
      // A folder of this id that is not current (a damaged copy, or one left by a cut run) is replaced.
      await rm(final, { recursive: true, force: true });
      await rename(partial, final);
      await fsyncDirectory(envs);
    } catch (e) {
      await rm(partial, { recursive: true, force: true });
      throw e;
    }
    emit({ step: "switch", id: env.id });
    await linkAtomically(root, RECOVERY_ENVIRONMENT_LINK, `${RECOVERY_ENVIRONMENTS_DIR}/${env.id}`);
    await fsyncDirectory(root);
    changed = true;
  }
  // The names at the partition's root (where the recovery CLI and recovery media look for the
  // helpers, kernel and initramfs) point through `environment`, so they follow its switch.
  let linked = false;
  for (const name of ENVIRONMENT_FILE_NAMES)
    linked = (await linkAtomically(root, name, `${RECOVERY_ENVIRONMENT_LINK}/${name}`)) || linked;
  if (linked) await fsyncDirectory(root);
  const removed: string[] = [];
  for (const name of (await readdir(envs)).sort())
    if (name !== env.id) {
      await rm(path.join(envs, name), { recursive: true, force: true });
      removed.push(name);
    }
  if (removed.length > 0) await fsyncDirectory(envs);
  emit({ step: "cleanup", removed });
  return {
    id: env.id,
    digest: env.digest,
    previousId: previousId === env.id && !installedOk ? undefined : previousId,
    changed: changed || linked,
    kernelVersion: env.record.kernelVersion,
    files: env.record.files,
    paths: {
      kernel: `${RECOVERY_ENVIRONMENT_LINK}/${RECOVERY_ENVIRONMENT_FILES.kernel}`,
      initrd: `${RECOVERY_ENVIRONMENT_LINK}/${RECOVERY_ENVIRONMENT_FILES.initrd}`,
      record: `${RECOVERY_ENVIRONMENT_LINK}/${RECOVERY_ENVIRONMENT_RECORD}`,
    },
  };
}

/**
 * Install a verified recovery environment on the recovery partition mounted
 * at `root`, atomically: its files are copied into
 * `environments/.partial-<id>` (each checked against its SHA-256 and
 * fsynced), the folder is renamed to `environments/<id>`, and then one
 * rename switches the `environment` link to it; until that rename the old
 * environment stays complete and bootable. The old folder is removed after.
 * `vmlinuz`, `initrd.img`, `lifeboat-exch` and `lifeboat-btrfs-agent` at the
 * partition's root are links through `environment`.
 *
 * An environment with the same digest already installed and intact is kept
 * (`changed: false`, nothing written). `RECOVERY_ENV_INSUFFICIENT_SPACE`
 * (nothing written) when the new one does not fit beside the old.
 *
 * @example
 * ```ts
 * const env = await prepareRecoveryEnvironment(runner, { cliBundle, outDir: "/tmp/env" });
 * if (env.isOk()) {
 *   const r = await installRecoveryEnvironment(env.value, "/run/recovery");
 *   if (r.isOk()) console.log(r.value.id, r.value.changed);
 * }
 * ```
 */
export function installRecoveryEnvironment(
  env: VerifiedRecoveryEnvironment,
  root: string,
  options: InstallRecoveryEnvironmentOptions = {},
): ResultAsync<InstalledRecoveryEnvironment, RecoveryEnvError> {
  return ResultAsync.fromPromise(install(env, root, options), (e): RecoveryEnvError => {
    if (e instanceof Failure) return e.error;
    return ioError(e, root, "install the recovery environment on");
  });
}

/**
 * The recovery environment installed on the recovery partition mounted at
 * `root`, verified against its record (`RECOVERY_ENV_DAMAGED` when a file
 * differs; `IO_FAILED` with `ENOENT` when none is installed).
 *
 * @example
 * ```ts
 * const env = await readInstalledRecoveryEnvironment("/run/recovery");
 * if (env.isOk()) console.log(env.value.digest);
 * ```
 */
export function readInstalledRecoveryEnvironment(
  root: string,
): ResultAsync<VerifiedRecoveryEnvironment, RecoveryEnvError> {
  return verifyRecoveryEnvironment(path.join(root, RECOVERY_ENVIRONMENT_LINK));
}
