import { createHash } from "node:crypto";
import { readFile, statfs, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CommandRunner } from "@lifeboat/core";
import {
  buildSquashfs,
  createImageSet,
  type PrivateKey,
  type PublicKey,
  readEpochFloor,
  securityEpochOf,
  signImageSet,
  type VerifiedImageSet,
  type VerifyProgress,
  verifyImageSet,
} from "@lifeboat/image";
import { MANIFEST_FILE } from "@lifeboat/image/layout";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { effect, must } from "./_internal/await.js";
import { treeIdentity } from "./_internal/file-identity.js";
import type { ImageChangedError, ResetError } from "./errors.js";
import { FACTORY_BOOT, FACTORY_MANIFEST, FACTORY_ROOT, RECOVERY_FILES } from "./layout.js";
import { type FactoryManifest, factoryManifestSchema, readFactoryManifest } from "./manifest.js";
import type { RecoveryState } from "./state.js";
import type { RecoveryImageAccess } from "./steps/context.js";

/** Options of {@link buildRecoveryImageSet}. */
export interface BuildRecoveryOptions {
  /** The provisioned Btrfs top level, mounted. */
  readonly top: string;
  /** Where the set is written (a directory; then installed on the recovery partition). */
  readonly dir: string;
  readonly key: PrivateKey;
  /** Build time, seconds since the epoch (reproducible builds). */
  readonly sourceDateEpoch: number;
  /** Anti-rollback counter signed into the manifest (default: none, read as 0). */
  readonly securityEpoch?: number | undefined;
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
): ResultAsync<FactoryManifest, ResetError> {
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
        ...(options.securityEpoch === undefined ? {} : { securityEpoch: options.securityEpoch }),
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
  /**
   * The recovery partition's root (holding `current`): its record of the
   * highest security epoch installed becomes part of `epochFloor`.
   */
  readonly recoveryRoot?: string | undefined;
  /** The OEM's minimum security epoch (`minimum-epoch` beside the trusted keys). */
  readonly minimumEpoch?: number | undefined;
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
): ResultAsync<{ state: RecoveryState; access: RecoveryImageAccess }, ResetError> {
  const signal = options.signal ?? new AbortController().signal;
  return verifyImageSet(options.dir, { trustedKeys: options.trustedKeys, signal, threads: 1 })
    .map((set) => ({
      set: set as VerifiedImageSet | undefined,
      digest: imageSetDigest(set),
      securityEpoch: securityEpochOf(set.manifest) as number | undefined,
      problem: undefined,
      problemCode: undefined,
    }))
    .orElse((e) =>
      okAsync({
        set: undefined,
        digest: undefined,
        securityEpoch: undefined,
        problem: e.message as string | undefined,
        problemCode: e.code as string | undefined,
      }),
    )
    .andThen(({ set, digest, securityEpoch, problem, problemCode }) =>
      effect(async () => {
        const epochFloor = await floorOf(options);
        let factory: FactoryManifest | undefined;
        if (problem === undefined) {
          const text = await readFile(path.join(options.dir, RECOVERY_FILES.factory), "utf8");
          factory = factoryManifestSchema.parse(JSON.parse(text));
        }
        const state: RecoveryState = {
          device: options.device ?? "",
          imageDir: options.dir,
          digest,
          product: factory?.product,
          build: factory?.build,
          rootBytes: factory?.snapshot.bytes,
          bootFiles: factory?.boot.files ?? [],
          verified: problem === undefined,
          problem,
          ...(problemCode === undefined ? {} : { problemCode }),
          securityEpoch,
          epochFloor,
        };
        const access = recoveryAccess(runner, {
          dir: options.dir,
          trustedKeys: options.trustedKeys,
          ...(digest === undefined ? {} : { digest }),
          ...(set === undefined ? {} : { verified: set }),
        });
        return { state, access };
      }, "read the recovery image set"),
    );
}

/** The anti-rollback floor: the partition's record of the highest epoch installed, the OEM minimum. */
async function floorOf(options: OpenRecoveryOptions): Promise<number | undefined> {
  const min = options.minimumEpoch;
  if (options.recoveryRoot === undefined) return min;
  const floor = await must(readEpochFloor(options.recoveryRoot));
  const recorded = floor.recordedEpoch;
  if (recorded === undefined) return min;
  return min === undefined ? recorded : Math.max(recorded, min);
}

/**
 * The identity of a verified image set: `sha256:` and the hex SHA-256 of
 * its signed manifest bytes. Where the set is mounted does not change it.
 *
 * @example
 * ```ts
 * const set = (await verifyImageSet(dir, { trustedKeys }))._unsafeUnwrap();
 * imageSetDigest(set); // "sha256:3f1c…"
 * ```
 */
export function imageSetDigest(set: VerifiedImageSet): string {
  return `sha256:${createHash("sha256").update(set.manifestBytes).digest("hex")}`;
}

/** Options of {@link recoveryAccess}. */
export interface RecoveryAccessOptions {
  /** The image set directory. */
  readonly dir: string;
  readonly trustedKeys: readonly PublicKey[];
  /**
   * The identity the set had when it was opened: a plan naming another set
   * is refused even before the set is read again. Without it, only the
   * identity the set has when it is used is checked against the plan's.
   */
  readonly digest?: string;
  /**
   * The set as this process verified it already (what
   * {@link openRecoveryImageSet} passes): a use that finds every file of the
   * set unchanged since (same device, inode, size, modification and change
   * time, to the nanosecond) does not hash it again.
   */
  readonly verified?: VerifiedImageSet;
}

/**
 * Verification progress as bytes of the whole set: the sizes come from the
 * (not yet verified) manifest, only to show how far it got.
 */
async function verifyProgress(
  dir: string,
  report: ((done: number, total?: number) => void) | undefined,
): Promise<((e: VerifyProgress) => void) | undefined> {
  if (report === undefined) return undefined;
  let total: number | undefined;
  try {
    const m = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), "utf8")) as {
      files?: { size?: unknown }[];
    };
    total = (m.files ?? []).reduce((n, f) => n + (typeof f.size === "number" ? f.size : 0), 0);
  } catch {
    total = undefined;
  }
  const done = new Map<string, number>();
  return (e) => {
    if (e.phase !== "content") return;
    done.set(e.file, e.bytesDone);
    report(
      [...done.values()].reduce((a, b) => a + b, 0),
      total || undefined,
    );
  };
}

/** Bytes used on the filesystem holding `dir`. */
async function usedBytes(dir: string): Promise<number> {
  const st = await statfs(dir);
  return (st.blocks - st.bfree) * st.bsize;
}

/**
 * The reset's access to the image set in `dir`, signed by one of
 * `trustedKeys`. A use verifies the set (signature and every block, with
 * progress in bytes) unless this access verified it already and no file of
 * the set changed since, so a reset from the recovery image hashes it once;
 * it refuses with `RESET_IMAGE_CHANGED` when the set's identity is not the
 * one the plan names (or, with `digest`, the one it had when it was opened).
 * Unpacking reports the bytes written against the root's size from the
 * signed factory manifest, about twice a second.
 *
 * @example
 * ```ts
 * const access = recoveryAccess(runner, { dir: "/run/recovery/sets/current", trustedKeys: [pub] });
 * await executeReset({ runner, top, boot, recovery: access }, plan, { confirm: plan.digest });
 * ```
 */
export function recoveryAccess(
  runner: CommandRunner,
  options: RecoveryAccessOptions,
): RecoveryImageAccess {
  const { dir, trustedKeys } = options;
  // The set as verified, and the identity of its files then.
  let memo: { set: VerifiedImageSet; identity: Promise<string | undefined> } | undefined;
  const remember = (set: VerifiedImageSet) => {
    memo = { set, identity: treeIdentity(set.dir).catch(() => undefined) };
  };
  if (options.verified) remember(options.verified);
  const unchanged = async (): Promise<VerifiedImageSet | undefined> => {
    if (memo === undefined) return undefined;
    const then = await memo.identity;
    const now = await treeIdentity(memo.set.dir).catch(() => undefined);
    return then !== undefined && then === now ? memo.set : undefined;
  };
  const verified = (
    expected: string,
    signal: AbortSignal,
    progress?: (done: number, total?: number) => void,
  ) => {
    if (options.digest !== undefined && options.digest !== expected)
      return errAsync<VerifiedImageSet, ResetError>(imageChanged(expected, options.digest));
    const check = (set: VerifiedImageSet) => {
      const actual = imageSetDigest(set);
      return actual === expected
        ? okAsync<VerifiedImageSet, ResetError>(set)
        : errAsync<VerifiedImageSet, ResetError>(imageChanged(expected, actual));
    };
    return effect(unchanged, "check the recovery image set's files").andThen((same) => {
      if (same !== undefined) return check(same);
      return effect(() => verifyProgress(dir, progress), "read the image set's sizes")
        .andThen((onProgress) =>
          verifyImageSet(dir, {
            trustedKeys,
            signal,
            threads: 1,
            ...(onProgress ? { onProgress } : {}),
          }),
        )
        .andThen((set) => {
          remember(set);
          return check(set);
        });
    });
  };
  return {
    verify: (setDigest, signal, progress) =>
      verified(setDigest, signal, progress).map(() => undefined),
    unpack: (setDigest, into, progress, signal) =>
      verified(setDigest, signal).andThen((set) => {
        const root = set.files.get(RECOVERY_FILES.root) ?? path.join(dir, RECOVERY_FILES.root);
        const boot = set.files.get(RECOVERY_FILES.boot) ?? path.join(dir, RECOVERY_FILES.boot);
        return effect(async () => {
          const factory = set.files.get(RECOVERY_FILES.factory);
          const rootBytes =
            factory === undefined
              ? undefined
              : factoryManifestSchema.parse(JSON.parse(await readFile(factory, "utf8"))).snapshot
                  .bytes;
          const start = await usedBytes(into.rootDir);
          const sample = async () => {
            const done = Math.max(0, (await usedBytes(into.rootDir)) - start);
            progress(rootBytes === undefined ? done : Math.min(done, rootBytes), rootBytes);
          };
          const timer = setInterval(() => void sample().catch(() => {}), 500);
          try {
            await must(
              runner
                .run("unsquashfs", ["-f", "-no-progress", "-d", into.rootDir, root], { signal })
                .andThen(() =>
                  runner.run("unsquashfs", ["-f", "-no-progress", "-d", into.bootDir, boot], {
                    signal,
                  }),
                ),
            );
          } finally {
            clearInterval(timer);
          }
          if (rootBytes !== undefined) progress(rootBytes, rootBytes);
        }, "unpack the recovery image");
      }),
  };
}

function imageChanged(expected: string, actual: string): ImageChangedError {
  return {
    code: "RESET_IMAGE_CHANGED",
    message: `The recovery image set is not the one this plan was made for (${actual.slice(0, 19)}…, the plan names ${expected.slice(0, 19)}…); it changed since. Make a new plan.`,
    expected,
    actual,
  };
}
