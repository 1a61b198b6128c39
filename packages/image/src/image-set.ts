/**
 * Assemble an image set directory: hash trees for the large files, the
 * manifest, and its detached signature.
 *
 * An image set is a directory holding the payload files (a squashfs or EROFS
 * root, a btrfs send stream, the /boot payload), one `<file>.verity` hash
 * tree per large file, `manifest.json` and `manifest.json.sig`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, lstat, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import {
  type AbortedError,
  abortedError,
  type IoFailedError,
  ioError,
  joinInside,
  type PlanEncodingError,
  type UnsafePathError,
  writeFileAtomic,
} from "@lifeboat/core";
import { err, ok, ResultAsync } from "neverthrow";
import { deriveUuid } from "./_internal/verity-layout.js";
import type { ImageManifestInvalidError } from "./errors.js";
import { createHashTree } from "./hash-tree.js";
import type { PrivateKey } from "./keys.js";
import { MANIFEST_FILE } from "./layout.js";
import {
  encodeManifest,
  type ImageFileKind,
  type ImageLayout,
  MANIFEST_FORMAT_VERSION,
  type Manifest,
  type ManifestFile,
  manifestSchema,
  SIGNATURE_FILE,
} from "./manifest.js";
import { signManifest } from "./signature.js";

/** One file to put into the set. */
export interface ImageSetFileInput {
  /** Path inside the set directory (relative, e.g. `root.squashfs`, `boot/vmlinuz`). */
  readonly path: string;
  readonly kind: ImageFileKind;
  /** Copy the file from here first; without it the file must already be in the set. */
  readonly source?: string;
  /** Give it a dm-verity hash tree (default: when it is 1 MiB or larger). */
  readonly merkle?: boolean;
}

/** Progress of {@link createImageSet}. */
export type CreateImageSetProgress =
  | { readonly phase: "copy"; readonly file: string }
  | {
      readonly phase: "hash";
      readonly file: string;
      readonly bytesDone: number;
      readonly bytesTotal: number;
    }
  | { readonly phase: "manifest" };

/** Options for {@link createImageSet}. */
export interface CreateImageSetOptions {
  /** The set directory (created if missing). */
  readonly dir: string;
  readonly product: string;
  readonly version: string;
  /**
   * Anti-rollback counter written into the signed manifest (integer ≥ 0;
   * default: the field is left out, which reads as 0).
   */
  readonly securityEpoch?: number;
  /** Seconds since the epoch: the manifest's build date (reproducible builds). */
  readonly sourceDateEpoch: number;
  readonly files: readonly ImageSetFileInput[];
  /** Expected partitions and subvolumes (default: none stated). */
  readonly layout?: ImageLayout;
  /** Minimum recovery partition size (default: twice the set, plus 64 MiB, so an update fits beside it). */
  readonly minimumPartitionBytes?: number;
  /** Salt for the hash trees (default: derived from product and version, for reproducibility). */
  readonly salt?: Uint8Array;
  /** Write dm-verity superblocks (default true). */
  readonly superblock?: boolean;
  readonly threads?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: CreateImageSetProgress) => void;
}

/** The written manifest. */
export interface CreatedImageSet {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly manifestBytes: Uint8Array;
}

type CreateError =
  | IoFailedError
  | AbortedError
  | UnsafePathError
  | ImageManifestInvalidError
  | PlanEncodingError;

const MERKLE_THRESHOLD = 1024 * 1024;

function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    const s = createReadStream(file, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
    s.on("data", (c) => h.update(c));
    s.on("error", reject);
    s.on("end", () => resolve(h.digest("hex")));
  });
}

/**
 * Hash the files of a set, write their trees and `manifest.json` (not yet
 * signed: call {@link signImageSet}). Same input and options, same bytes.
 *
 * @example
 * ```ts
 * const set = await createImageSet({
 *   dir: "out/set", product: "acme-laptop", version: "42.1", sourceDateEpoch: 1767225600,
 *   files: [{ path: "root.squashfs", kind: "squashfs" }, { path: "boot/vmlinuz", kind: "kernel", source: "/boot/vmlinuz" }],
 * });
 * ```
 */
export function createImageSet(
  options: CreateImageSetOptions,
): ResultAsync<CreatedImageSet, CreateError> {
  const work = async (): Promise<CreatedImageSet | CreateError> => {
    const salt = Buffer.from(
      options.salt ??
        createHash("sha256")
          .update(`lifeboat-salt\0${options.product}\0${options.version}`)
          .digest(),
    );
    await mkdir(options.dir, { recursive: true });
    const files: ManifestFile[] = [];
    for (const input of options.files) {
      if (options.signal?.aborted) return abortedError("creating the image set");
      const target = joinInside(options.dir, input.path);
      if (target.isErr()) return target.error;
      if (input.source !== undefined) {
        options.onProgress?.({ phase: "copy", file: input.path });
        await mkdir(path.dirname(target.value), { recursive: true });
        await copyFile(input.source, target.value);
      }
      const st = await lstat(target.value);
      if (!st.isFile()) return ioError(new Error("not a regular file"), target.value, "read");
      const useMerkle = input.merkle ?? st.size >= MERKLE_THRESHOLD;
      const sha = sha256File(target.value, options.signal);
      let merkle: ManifestFile["merkle"];
      if (useMerkle) {
        const treeRel = `${input.path}.verity`;
        const treeAbs = joinInside(options.dir, treeRel);
        if (treeAbs.isErr()) return treeAbs.error;
        const t = await createHashTree(target.value, treeAbs.value, {
          salt,
          superblock: options.superblock ?? true,
          // Ties the tree to this build: a manifest of another build names another uuid.
          uuid: (root) => deriveUuid([options.product, options.version, input.path, root]),
          ...(options.threads === undefined ? {} : { threads: options.threads }),
          ...(options.signal ? { signal: options.signal } : {}),
          onProgress: (p) => options.onProgress?.({ phase: "hash", file: input.path, ...p }),
        });
        if (t.isErr()) return t.error;
        merkle = {
          algorithm: "sha256",
          hashType: 1,
          dataBlockSize: 4096,
          hashBlockSize: 4096,
          dataBlocks: t.value.dataBlocks,
          salt: t.value.salt,
          rootHash: t.value.rootHash,
          hashTreeFile: treeRel,
          hashOffset: 0,
          hashTreeSize: t.value.hashTreeSize,
          superblock: t.value.superblock,
          uuid: t.value.uuid,
        };
      }
      files.push({
        path: input.path,
        kind: input.kind,
        size: st.size,
        sha256: await sha,
        ...(merkle ? { merkle } : {}),
      });
    }
    options.onProgress?.({ phase: "manifest" });
    const setBytes = files.reduce((n, f) => n + f.size + (f.merkle?.hashTreeSize ?? 0), 0);
    const candidate = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      product: options.product,
      version: options.version,
      ...(options.securityEpoch === undefined ? {} : { securityEpoch: options.securityEpoch }),
      buildDate: new Date(options.sourceDateEpoch * 1000).toISOString(),
      minimumPartitionBytes: options.minimumPartitionBytes ?? 2 * setBytes + 64 * 1024 * 1024,
      layout: options.layout ?? { gpt: { partitions: [] }, subvolumes: [] },
      files,
    };
    const parsed = manifestSchema.safeParse(candidate);
    if (!parsed.success) {
      return {
        code: "IMAGE_MANIFEST_INVALID",
        message: `The manifest would not be valid: ${parsed.error.issues[0]?.message ?? ""}`,
        manifestPath: MANIFEST_FILE,
        issues: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
      };
    }
    const encoded = encodeManifest(parsed.data);
    if (encoded.isErr()) return encoded.error;
    const manifestBytes = encoded.value;
    const w = await writeFileAtomic(path.join(options.dir, MANIFEST_FILE), manifestBytes);
    if (w.isErr()) return w.error;
    return { dir: options.dir, manifest: parsed.data, manifestBytes };
  };
  return ResultAsync.fromPromise(work(), (e) =>
    ioError(e, options.dir, "create image set"),
  ).andThen((r) => ("code" in r ? err(r) : ok(r)));
}

/**
 * Sign the set's `manifest.json`, writing `manifest.json.sig` beside it.
 *
 * @example
 * ```ts
 * await signImageSet("out/set", loadPrivateKey(pem)._unsafeUnwrap());
 * ```
 */
export function signImageSet(dir: string, key: PrivateKey): ResultAsync<void, IoFailedError> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  return ResultAsync.fromPromise(readFile(manifestPath), (e) =>
    ioError(e, manifestPath, "read"),
  ).andThen((bytes) => writeFileAtomic(path.join(dir, SIGNATURE_FILE), signManifest(bytes, key)));
}
