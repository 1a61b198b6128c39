import { mkdtemp, readFile, rm, rmdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { CommandRunner } from "@lifeboat/core";
import {
  exportPublicKeyPem,
  type InstallProgress,
  installImageSet,
  type PrivateKey,
  type PublicKey,
  type RollbackOverride,
  readCurrentImageSet,
  securityEpochOf,
  verifyImageSet,
} from "@lifeboat/image";
import {
  type InstalledRecoveryEnvironment,
  type InstallRecoveryEnvProgress,
  installRecoveryEnvironment,
  type PrepareRecoveryEnvProgress,
  prepareRecoveryEnvironment,
  type VerifiedRecoveryEnvironment,
  verifyRecoveryEnvironment,
} from "@lifeboat/recovery-env";
import type { ResultAsync } from "neverthrow";
import { effect, fail, must } from "./_internal/await.js";
import type { BadRequestError, ResetError } from "./errors.js";
import { FACTORY_MANIFEST, RECOVERY_FILES, ROOT_SUBVOLUME } from "./layout.js";
import { type FactoryManifest, factoryManifestSchema, readFactoryManifest } from "./manifest.js";
import { buildRecoveryImageSet } from "./recovery.js";

/** Where and what to write on the recovery partition (see {@link provisionRecovery}). */
export interface RecoveryProvisionOptions {
  /** The recovery partition's file system, mounted writable. Give this or `device`. */
  readonly root?: string;
  /** The recovery partition's block device: mounted for the install, unmounted after. */
  readonly device?: string;
  /** Build the set from the factory snapshot and sign it with this key. Give this or `set`. */
  readonly key?: PrivateKey;
  /** A prebuilt, signed image set (a directory) to install instead of building one. */
  readonly set?: string;
  /** Keys the set must verify with; default the public half of `key`. */
  readonly trustedKeys?: readonly PublicKey[];
  /** Build time recorded in the images, seconds since the epoch (default 2026-01-01). */
  readonly sourceDateEpoch?: number;
  /** Anti-rollback counter signed into a set built with `key` (default: none, read as 0). */
  readonly securityEpoch?: number | undefined;
  /** The OEM's minimum security epoch: a set below it (or below the installed one's) is refused. */
  readonly minimumEpoch?: number | undefined;
  /** Install an older set anyway; the override is recorded (see `installImageSet`). */
  readonly allowRollback?: RollbackOverride | undefined;
  /** Where a set is built before it is copied (default a temporary directory). */
  readonly workDir?: string;
  /** How the copy on the partition is verified (default `full`). */
  readonly verifyMode?: "full" | { readonly sample: number; readonly seed?: number };
  /**
   * Also install the recovery environment (kernel, initramfs, the static
   * helpers) the GRUB recovery entry boots: built here, or prebuilt. It is
   * replaced atomically, and kept when the same one is installed.
   */
  readonly environment?: RecoveryEnvironmentSource;
}

/**
 * Where the recovery environment comes from: built with the Lifeboat CLI's
 * one-file bundle (by default around the target system's newest kernel that
 * has its modules in the `root` subvolume), or a prebuilt folder (from
 * `prepareRecoveryEnvironment`), verified against its `environment.json`.
 */
export type RecoveryEnvironmentSource =
  | {
      /** The Lifeboat CLI as one JavaScript file (`lifeboat-standalone.js`). */
      readonly cliBundle: string;
      /** The kernel, `vmlinuz-<version>` (default: the newest in /boot whose modules the system has). */
      readonly kernel?: string;
      /** The root holding `lib/modules/<version>` (default: the `root` subvolume, the target system). */
      readonly modulesRoot?: string;
      /** The C compiler of the helpers (default `cc`). */
      readonly compiler?: string;
      /**
       * The folder of the `@mongodb-js/zstd` addon `lifeboat update` loads beside the
       * bundle (default: the one in a `node_modules` above the bundle; `false`: none).
       */
      readonly zstdAddon?: string | false;
    }
  | {
      /** A prebuilt environment's folder. */
      readonly prebuilt: string;
    };

/** What {@link provisionRecovery} left on the recovery partition. */
export interface ProvisionedRecovery {
  /** The set `current` names now. */
  readonly setId: string;
  /** The set it named before (undefined: none was installed). */
  readonly previousSetId: string | undefined;
  /** False when the installed set already was this factory's and verified: nothing was written. */
  readonly changed: boolean;
  /** The device, when one was given. */
  readonly device: string | undefined;
  /** The recovery environment installed, when `environment` was given. */
  readonly environment?: InstalledRecoveryEnvironment;
}

/** Progress of {@link provision} and {@link provisionRecovery}, phase by phase. */
export type ProvisionProgress =
  /** The grub.d script (before the factory snapshot). */
  | { readonly phase: "grub" }
  /** The custom.cfg block (after the recovery partition). */
  | { readonly phase: "grub-custom-cfg" }
  /** The system's grub-mkconfig, run inside it (after the grub.d script and the recovery partition). */
  | { readonly phase: "grub-mkconfig" }
  | { readonly phase: "snapshot" }
  | { readonly phase: "recovery-check" }
  | { readonly phase: "recovery-build" }
  | { readonly phase: "recovery-install"; readonly install?: InstallProgress }
  | { readonly phase: "environment-build"; readonly build?: PrepareRecoveryEnvProgress }
  | { readonly phase: "environment-install"; readonly install?: InstallRecoveryEnvProgress };

/** Options of {@link provisionRecovery}. */
export interface ProvisionRecoveryOptions extends RecoveryProvisionOptions {
  /** The provisioned Btrfs top level (its factory manifest and snapshot), mounted. */
  readonly top: string;
  /** /boot, mounted: where the environment's default kernel is found (needed to build one). */
  readonly boot?: string;
  /** An environment already prepared (by {@link provision}, before it changed anything). */
  readonly preparedEnvironment?: VerifiedRecoveryEnvironment;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProvisionProgress) => void;
}

const DEFAULT_EPOCH = 1767225600;

function badRequest(message: string): BadRequestError {
  return { code: "RESET_BAD_REQUEST", message, field: "recovery" };
}

/** The installed set's factory manifest, when it verifies with the trusted keys; else undefined. */
async function installedFactory(
  root: string,
  trustedKeys: readonly PublicKey[],
  signal: AbortSignal | undefined,
): Promise<{ setId: string; factory: FactoryManifest; securityEpoch: number } | undefined> {
  const current = await readCurrentImageSet(root);
  if (current.isErr()) return undefined;
  const verified = await verifyImageSet(current.value.dir, {
    trustedKeys,
    ...(signal ? { signal } : {}),
  });
  if (verified.isErr()) {
    if (verified.error.code === "ABORTED") fail(verified.error);
    return undefined;
  }
  const file = verified.value.files.get(RECOVERY_FILES.factory);
  if (file === undefined) return undefined;
  const parsed = factoryManifestSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
  return parsed.success
    ? {
        setId: current.value.setId,
        factory: parsed.data,
        securityEpoch: securityEpochOf(verified.value.manifest),
      }
    : undefined;
}

/** The installed set was built from this very factory snapshot and /boot archive. */
function sameFactory(a: FactoryManifest, b: FactoryManifest): boolean {
  return (
    a.product === b.product &&
    a.build === b.build &&
    a.snapshot.uuid === b.snapshot.uuid &&
    a.boot.uuid === b.boot.uuid
  );
}

async function withMounted<T>(
  runner: CommandRunner,
  options: RecoveryProvisionOptions,
  work: (root: string) => Promise<T>,
): Promise<T> {
  if (options.root !== undefined) return work(options.root);
  const dir = await mkdtemp(path.join(os.tmpdir(), "lifeboat-recovery-"));
  try {
    await must(runner.run("mount", [options.device as string, dir]));
    try {
      return await work(dir);
    } finally {
      // A busy mount (a reader still closing) gets a few tries, then a lazy unmount.
      let gone = false;
      for (let i = 0; i < 5 && !gone; i++) {
        gone = (await runner.run("umount", [dir])).isOk();
        if (!gone) await new Promise((r) => setTimeout(r, 200));
      }
      if (!gone) await runner.run("umount", ["-l", dir]);
    }
  } finally {
    // rmdir, never a recursive remove: it must not reach into a partition still mounted there.
    await rmdir(dir).catch(() => undefined);
  }
}

/**
 * Write the recovery partition: the signed recovery image set (root and
 * /boot payload as squashfs, the factory manifest, Merkle trees, Ed25519
 * signature, from `@lifeboat/image`), built from the factory snapshot with
 * `key` or taken prebuilt from `set`, installed with `installImageSet`
 * (copied beside the old set, verified on the partition, then `current`
 * switched by one rename; the old set removed after).
 *
 * With `environment`, the recovery environment the GRUB recovery entry
 * boots is built first (before anything is written; a missing kernel,
 * modules, busybox or compiler is `RECOVERY_ENV_INPUT_MISSING`) and then
 * installed beside the set, atomically, with its SHA-256 digests in
 * `environment/environment.json` (see `installRecoveryEnvironment`).
 *
 * Re-running is safe. With `key`, an installed set that verifies with the
 * trusted keys and was built from the same factory snapshot is kept as it
 * is (`changed: false`, nothing built or written). A prebuilt `set` that is
 * already current is verified on the partition and kept. Anything else is
 * replaced atomically.
 *
 * @example
 * ```ts
 * const r = await provisionRecovery(runner, { top: "/mnt/top", device: "/dev/nvme0n1p7", key });
 * if (r.isOk()) console.log(r.value.setId, r.value.changed);
 * ```
 */
async function installSet(
  runner: CommandRunner,
  options: ProvisionRecoveryOptions,
  manifest: FactoryManifest,
  trustedKeys: readonly PublicKey[],
  root: string,
  emit: (e: ProvisionProgress) => void,
): Promise<ProvisionedRecovery> {
  const signal = options.signal;
  const withSignal = signal ? { signal } : {};
  emit({ phase: "recovery-check" });
  let setDir = options.set;
  let work: string | undefined;
  try {
    if (setDir === undefined) {
      const have = await installedFactory(root, trustedKeys, signal);
      if (
        have !== undefined &&
        sameFactory(have.factory, manifest) &&
        have.securityEpoch === (options.securityEpoch ?? 0)
      )
        return {
          setId: have.setId,
          previousSetId: have.setId,
          changed: false,
          device: options.device,
        };
      emit({ phase: "recovery-build" });
      work = options.workDir ?? (await mkdtemp(path.join(os.tmpdir(), "lifeboat-build-")));
      setDir = work;
      await must(
        buildRecoveryImageSet(runner, {
          top: options.top,
          dir: work,
          key: options.key as PrivateKey,
          sourceDateEpoch: options.sourceDateEpoch ?? DEFAULT_EPOCH,
          securityEpoch: options.securityEpoch,
          ...withSignal,
        }),
      );
    }
    emit({ phase: "recovery-install" });
    const set = await must(verifyImageSet(setDir, { trustedKeys, ...withSignal }));
    const done = await must(
      installImageSet(set, root, {
        ...withSignal,
        ...(options.verifyMode ? { verifyMode: options.verifyMode } : {}),
        minimumEpoch: options.minimumEpoch,
        ...(options.allowRollback ? { allowRollback: options.allowRollback } : {}),
        onProgress: (install) => emit({ phase: "recovery-install", install }),
      }),
    );
    return {
      setId: done.setId,
      previousSetId: done.previousSetId,
      changed: done.previousSetId !== done.setId,
      device: options.device,
    };
  } finally {
    if (work !== undefined && options.workDir === undefined)
      await rm(work, { recursive: true, force: true });
  }
}

/** A recovery environment ready to install, and how to remove the folder it was built in. */
export interface PreparedEnvironment {
  readonly env: VerifiedRecoveryEnvironment;
  readonly cleanup: () => Promise<void>;
}

/**
 * Build the recovery environment for the provisioned system (kernel from
 * `boot`, modules from the `root` subvolume under `top`) into a temporary
 * folder, or verify a prebuilt one. Writes nothing else.
 */
export function prepareEnvironment(
  runner: CommandRunner,
  source: RecoveryEnvironmentSource,
  options: {
    readonly top: string;
    readonly boot: string | undefined;
    /** The keys the environment's CLI verifies the recovery image with (built into it). */
    readonly trustedKeys: readonly PublicKey[];
    readonly signal?: AbortSignal;
    readonly onProgress?: (event: ProvisionProgress) => void;
  },
): ResultAsync<PreparedEnvironment, ResetError> {
  const emit = (e: ProvisionProgress) => options.onProgress?.(e);
  return effect(async () => {
    emit({ phase: "environment-build" });
    if ("prebuilt" in source) {
      const env = await must(verifyRecoveryEnvironment(source.prebuilt));
      return { env, cleanup: async () => undefined };
    }
    if (options.boot === undefined)
      fail(
        badRequest("recovery: building the recovery environment needs `boot` (/boot, mounted)."),
      );
    const outDir = await mkdtemp(path.join(os.tmpdir(), "lifeboat-env-"));
    const cleanup = () => rm(outDir, { recursive: true, force: true }).catch(() => undefined);
    try {
      const env = await must(
        prepareRecoveryEnvironment(runner, {
          cliBundle: source.cliBundle,
          outDir,
          boot: options.boot,
          systemRoot: source.modulesRoot ?? path.join(options.top, ROOT_SUBVOLUME),
          ...(source.kernel ? { kernel: source.kernel } : {}),
          ...(source.compiler ? { compiler: source.compiler } : {}),
          ...(source.zstdAddon !== undefined ? { zstdAddon: source.zstdAddon } : {}),
          trustedKeys: options.trustedKeys.map(exportPublicKeyPem),
          ...(options.signal ? { signal: options.signal } : {}),
          onProgress: (build) => emit({ phase: "environment-build", build }),
        }),
      );
      return { env, cleanup };
    } catch (e) {
      await cleanup();
      throw e;
    }
  }, "prepare the recovery environment");
}

export function provisionRecovery(
  runner: CommandRunner,
  options: ProvisionRecoveryOptions,
): ResultAsync<ProvisionedRecovery, ResetError> {
  const emit = (e: ProvisionProgress) => options.onProgress?.(e);
  const signal = options.signal;
  const withSignal = signal ? { signal } : {};
  return effect(async () => {
    if ((options.root === undefined) === (options.device === undefined))
      fail(badRequest("recovery: give exactly one of `root` (mounted) or `device`."));
    if ((options.key === undefined) === (options.set === undefined))
      fail(badRequest("recovery: give exactly one of `key` (build and sign) or `set` (prebuilt)."));
    const trustedKeys = options.trustedKeys ?? (options.key ? [options.key.publicKey] : []);
    if (trustedKeys.length === 0)
      fail(badRequest("recovery: a prebuilt `set` needs `trustedKeys` to verify it with."));
    const manifest = await must(readFactoryManifest(path.join(options.top, FACTORY_MANIFEST)));
    const prepared: PreparedEnvironment | undefined = options.preparedEnvironment
      ? { env: options.preparedEnvironment, cleanup: async () => undefined }
      : options.environment === undefined
        ? undefined
        : await must(
            prepareEnvironment(runner, options.environment, {
              top: options.top,
              boot: options.boot,
              trustedKeys,
              ...withSignal,
              onProgress: emit,
            }),
          );
    try {
      return await withMounted(runner, options, async (root) => {
        const set = await installSet(runner, options, manifest, trustedKeys, root, emit);
        if (prepared === undefined) return set;
        emit({ phase: "environment-install" });
        const environment = await must(
          installRecoveryEnvironment(prepared.env, root, {
            ...withSignal,
            onProgress: (install) => emit({ phase: "environment-install", install }),
          }),
        );
        return { ...set, environment };
      });
    } finally {
      await prepared?.cleanup();
    }
  }, "write the recovery partition");
}
