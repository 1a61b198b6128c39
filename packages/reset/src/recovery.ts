import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CommandRunner, LifeboatError } from "@lifeboat/core";
import {
  buildSquashfs,
  createImageSet,
  type PrivateKey,
  type PublicKey,
  signImageSet,
  verifyImageSet,
} from "@lifeboat/image";
import { okAsync, type ResultAsync } from "neverthrow";
import { effect, must } from "./_internal/await.js";
import { FACTORY_BOOT, FACTORY_MANIFEST, FACTORY_ROOT } from "./layout.js";
import { type FactoryManifest, factoryManifestSchema, readFactoryManifest } from "./manifest.js";
import type { RecoveryState } from "./state.js";
import type { RecoveryImageAccess } from "./steps/context.js";

/** The files of a Lifeboat recovery image set. */
export const RECOVERY_FILES = {
  root: "root.squashfs",
  boot: "boot.squashfs",
  factory: "factory.json",
} as const;

/** Options of {@link buildRecoveryImageSet}. */
export interface BuildRecoveryOptions {
  /** The provisioned Btrfs top level, mounted. */
  readonly top: string;
  /** Where the set is written (a directory; then installed on the recovery partition). */
  readonly dir: string;
  readonly key: PrivateKey;
  /** Build time, seconds since the epoch (reproducible builds). */
  readonly sourceDateEpoch: number;
  readonly signal?: AbortSignal;
}

/**
 * Build the signed recovery image set from the factory snapshot: the root
 * tree and the /boot payload as squashfs images, and the factory manifest
 * (with the root's size), signed with `key` through `@lifeboat/image`.
 *
 * @example
 * ```ts
 * await buildRecoveryImageSet(runner, { top, dir: "/mnt/recovery/set", key, sourceDateEpoch: 1767225600 });
 * ```
 */
export function buildRecoveryImageSet(
  runner: CommandRunner,
  options: BuildRecoveryOptions,
): ResultAsync<FactoryManifest, LifeboatError> {
  return effect(async () => {
    const manifest = await must(readFactoryManifest(path.join(options.top, FACTORY_MANIFEST)));
    const du = await must(runner.run("du", ["-sxb", path.join(options.top, FACTORY_ROOT)]));
    const rootBytes = Number(du.stdout.split(/\s/)[0] ?? "0");
    const base = {
      sourceDateEpoch: options.sourceDateEpoch,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    await (await import("node:fs/promises")).mkdir(options.dir, { recursive: true });
    await must(
      buildSquashfs(runner, {
        ...base,
        sourceDir: path.join(options.top, FACTORY_ROOT),
        output: path.join(options.dir, RECOVERY_FILES.root),
        xattrs: true,
      }),
    );
    await must(
      buildSquashfs(runner, {
        ...base,
        sourceDir: path.join(options.top, FACTORY_BOOT),
        output: path.join(options.dir, RECOVERY_FILES.boot),
      }),
    );
    const withSize: FactoryManifest = {
      ...manifest,
      snapshot: { ...manifest.snapshot, bytes: rootBytes },
    };
    await writeFile(
      path.join(options.dir, RECOVERY_FILES.factory),
      `${JSON.stringify(withSize, null, 2)}\n`,
    );
    await must(
      createImageSet({
        dir: options.dir,
        product: manifest.product,
        version: manifest.build,
        sourceDateEpoch: options.sourceDateEpoch,
        files: [
          { path: RECOVERY_FILES.root, kind: "squashfs" },
          { path: RECOVERY_FILES.boot, kind: "squashfs" },
          { path: RECOVERY_FILES.factory, kind: "file" },
        ],
      }),
    );
    await must(signImageSet(options.dir, options.key));
    return withSize;
  }, "build the recovery image set");
}

/** Options of {@link openRecoveryImageSet}. */
export interface OpenRecoveryOptions {
  /** The image set directory (on the mounted recovery partition). */
  readonly dir: string;
  /** The keys whose signature is accepted. */
  readonly trustedKeys: readonly PublicKey[];
  /** The device of the recovery partition, reported in the state. */
  readonly device?: string;
  readonly signal?: AbortSignal;
}

/**
 * Verify a recovery image set (signature and every block) and give its
 * {@link RecoveryState} for the planner plus the access the reset's steps
 * use. A set that fails verification gives `verified: false` with the
 * reason, so the planner refuses with `RESET_IMAGE_NOT_VERIFIED`.
 *
 * @example
 * ```ts
 * const { state, access } = (await openRecoveryImageSet(runner, { dir, trustedKeys: [pub] }))._unsafeUnwrap();
 * const s = await inspect(runner, { top, boot, recovery: state });
 * await executeReset({ runner, top, boot, recovery: access }, plan, { confirm: plan.digest });
 * ```
 */
export function openRecoveryImageSet(
  runner: CommandRunner,
  options: OpenRecoveryOptions,
): ResultAsync<{ state: RecoveryState; access: RecoveryImageAccess }, LifeboatError> {
  const access = recoveryAccess(runner, options.trustedKeys);
  const signal = options.signal ?? new AbortController().signal;
  return access
    .verify(options.dir, signal)
    .map(() => undefined as string | undefined)
    .orElse((e) => okAsync(e.message))
    .andThen((problem) =>
      effect(async () => {
        let factory: FactoryManifest | undefined;
        if (problem === undefined) {
          const text = await readFile(path.join(options.dir, RECOVERY_FILES.factory), "utf8");
          factory = factoryManifestSchema.parse(JSON.parse(text));
        }
        const state: RecoveryState = {
          device: options.device ?? "",
          imageDir: options.dir,
          product: factory?.product,
          build: factory?.build,
          rootBytes: factory?.snapshot.bytes,
          bootFiles: factory?.boot.files ?? [],
          verified: problem === undefined,
          problem,
        };
        return { state, access };
      }, "read the recovery image set"),
    );
}

/** The reset's access to image sets signed by one of `trustedKeys`. */
export function recoveryAccess(
  runner: CommandRunner,
  trustedKeys: readonly PublicKey[],
): RecoveryImageAccess {
  const verify = (dir: string, signal: AbortSignal) =>
    verifyImageSet(dir, { trustedKeys, signal, threads: 1 }).map(() => undefined);
  return {
    verify,
    unpack: (dir, into, progress, signal) =>
      verifyImageSet(dir, { trustedKeys, signal, threads: 1 }).andThen((set) => {
        const root = set.files.get(RECOVERY_FILES.root) ?? path.join(dir, RECOVERY_FILES.root);
        const boot = set.files.get(RECOVERY_FILES.boot) ?? path.join(dir, RECOVERY_FILES.boot);
        return runner
          .run("unsquashfs", ["-f", "-no-progress", "-d", into.rootDir, root], { signal })
          .andThen(() =>
            runner.run("unsquashfs", ["-f", "-no-progress", "-d", into.bootDir, boot], { signal }),
          )
          .map(() => progress(set.manifest.files.reduce((s, f) => s + f.size, 0)));
      }),
  };
}
