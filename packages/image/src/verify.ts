/**
 * Verify an image set: signature first, then the manifest, then that the
 * files on disk belong to it, then sizes, then content (full or a random
 * sample). Only a successful verification yields a {@link VerifiedImageSet},
 * the token every downstream consumer (reset, install) requires.
 *
 * @module
 */
import { randomInt } from "node:crypto";
import { lstat, open } from "node:fs/promises";
import path from "node:path";
import { abortedError, ioError } from "@lifeboat/core";
import { err, ok, ResultAsync } from "neverthrow";
import { checkStructure } from "./_internal/check-structure.js";
import { hashPool } from "./_internal/hash-pool.js";
import { sha256Compare } from "./_internal/sha256-compare.js";
import {
  type ContentOutcome,
  verifyMerkleFull,
  verifyMerkleSample,
} from "./_internal/verify-merkle.js";
import type { ImageError, ImageFileMissingError } from "./errors.js";
import type { PublicKey } from "./keys.js";
import { MANIFEST_FILE } from "./layout.js";
import { type Manifest, parseManifest, SIGNATURE_FILE } from "./manifest.js";
import { verifyManifestSignature } from "./signature.js";

declare const verifiedBrand: unique symbol;

/**
 * Proof that an image set passed {@link verifyImageSet}. Only this package
 * creates it (the brand is a private `unique symbol`; {@link isVerifiedImageSet}
 * checks at run time), so an API that takes a `VerifiedImageSet` cannot be
 * handed an unchecked set. It records a moment: files changed afterwards are
 * not covered (install re-verifies on its target).
 */
export interface VerifiedImageSet {
  readonly [verifiedBrand]: true;
  /** Absolute path of the set directory. */
  readonly dir: string;
  readonly manifest: Manifest;
  /** The exact manifest bytes that were signed. */
  readonly manifestBytes: Uint8Array;
  /** Id of the trusted key that signed. */
  readonly keyId: string;
  /** `full`: every block; `sample`: signature, sizes, whole trees and `sampleFraction` of data blocks. */
  readonly mode: "full" | "sample";
  readonly sampleFraction: number;
  /** Absolute paths of the manifest's files, by manifest path. */
  readonly files: ReadonlyMap<string, string>;
  readonly verifiedAt: string;
}

/** Progress of {@link verifyImageSet}. */
export type VerifyProgress =
  | { readonly phase: "signature" }
  | { readonly phase: "structure" }
  | { readonly phase: "sizes" }
  | {
      readonly phase: "content";
      readonly file: string;
      readonly bytesDone: number;
      readonly bytesTotal: number;
    }
  | { readonly phase: "done"; readonly bytesVerified: number };

/** Options for {@link verifyImageSet}. */
export interface VerifyImageSetOptions {
  /** Keys whose signature is accepted (several: key rotation). */
  readonly trustedKeys: readonly PublicKey[];
  /** `full` (default) or a random sample of data blocks, e.g. `{ sample: 0.01 }`. */
  readonly mode?: "full" | { readonly sample: number; readonly seed?: number };
  /** Refuse a set of another product or version (`IMAGE_MANIFEST_MISMATCH`). */
  readonly expect?: { readonly product?: string; readonly version?: string };
  /** Hashing threads (default: available cores, at most 4). */
  readonly threads?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: VerifyProgress) => void;
}

const issued = new WeakSet<object>();
const trustOf = new WeakMap<object, readonly PublicKey[]>();
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * True when `value` is a token made by {@link verifyImageSet} in this process.
 *
 * @example
 * ```ts
 * if (!isVerifiedImageSet(set)) throw new Error("refusing an unverified image set");
 * ```
 */
export function isVerifiedImageSet(value: unknown): value is VerifiedImageSet {
  return typeof value === "object" && value !== null && issued.has(value);
}

/** @internal The keys a token was verified with (install re-verifies with them). */
export function trustedKeysOf(set: VerifiedImageSet): readonly PublicKey[] {
  return trustOf.get(set) ?? [];
}

async function readSmall(file: string): Promise<Uint8Array | undefined> {
  try {
    const st = await lstat(file);
    if (!st.isFile()) return undefined;
    const h = await open(file, "r");
    try {
      const b = Buffer.alloc(Math.min(st.size, MAX_MANIFEST_BYTES + 1));
      const { bytesRead } = await h.read(b, 0, b.length, 0);
      return b.subarray(0, bytesRead);
    } finally {
      await h.close();
    }
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Verify the image set in `dir`. Order: signature, manifest schema, files
 * belong to this manifest (tree superblocks), sizes, content. Content checks
 * stop at the first bad block and name it.
 *
 * @example
 * ```ts
 * const v = await verifyImageSet("/run/recovery/current", { trustedKeys: [key], onProgress: console.log });
 * if (v.isErr()) console.error(v.error.code); // IMAGE_HASH_MISMATCH, IMAGE_BAD_SIGNATURE, ...
 * else await installImageSet(v.value, "/run/recovery");
 * ```
 */
export function verifyImageSet(
  dir: string,
  options: VerifyImageSetOptions,
): ResultAsync<VerifiedImageSet, ImageError> {
  const root = path.resolve(dir);
  return ResultAsync.fromPromise(verify(root, options), (e) =>
    ioError(e, root, "verify image set"),
  ).andThen((r) => ("code" in r ? err(r) : ok(r)));
}

async function verify(
  dir: string,
  options: VerifyImageSetOptions,
): Promise<VerifiedImageSet | ImageError> {
  const progress = options.onProgress ?? (() => {});
  if (options.signal?.aborted) return abortedError("verifying the image set");
  progress({ phase: "signature" });
  const signed = await signedManifest(dir, options.trustedKeys);
  if ("code" in signed) return signed;
  const { manifest, manifestBytes, keyId } = signed;
  for (const field of ["product", "version"] as const) {
    const want = options.expect?.[field];
    if (want !== undefined && manifest[field] !== want) {
      return {
        code: "IMAGE_MANIFEST_MISMATCH",
        message: `The image set is ${field} ${manifest[field]}, expected ${want}.`,
        file: MANIFEST_FILE,
        field,
        expected: want,
        actual: manifest[field],
      };
    }
  }
  progress({ phase: "structure" });
  const structure = await checkStructure(dir, manifest, () => progress({ phase: "sizes" }));
  if ("code" in structure) return structure;
  const total = manifest.files.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const pool = hashPool(options.threads);
  const mode = options.mode ?? "full";
  const fraction = mode === "full" ? 1 : Math.min(1, Math.max(0, mode.sample));
  const seed = mode === "full" ? 0 : (mode.seed ?? randomInt(2 ** 31));
  for (const f of manifest.files) {
    if (options.signal?.aborted) return abortedError("verifying the image set");
    const paths = structure.get(f.path)!;
    const onBytes = (bytes: number) => {
      done += bytes;
      progress({ phase: "content", file: f.path, bytesDone: done, bytesTotal: total });
    };
    const content = { pool, onBytes, ...(options.signal ? { signal: options.signal } : {}) };
    let outcome: ContentOutcome;
    if (f.merkle) {
      const target = {
        file: f.path,
        treeFile: f.merkle.hashTreeFile,
        dataPath: paths.data,
        treePath: paths.tree!,
        size: f.size,
        merkle: f.merkle,
      };
      outcome =
        fraction >= 1
          ? await verifyMerkleFull(target, content)
          : await verifyMerkleSample(target, fraction, seed, content);
    } else {
      outcome = await sha256Compare(f.path, paths.data, f.sha256, f.size, content);
    }
    if (outcome === "aborted") return abortedError(`verifying ${f.path}`);
    if (outcome !== "ok") return outcome;
  }
  progress({ phase: "done", bytesVerified: done });
  const files = new Map([...structure].map(([k, v]) => [k, v.data]));
  const token = Object.freeze({
    dir,
    manifest,
    manifestBytes,
    keyId,
    mode: fraction >= 1 ? "full" : "sample",
    sampleFraction: fraction,
    files,
    verifiedAt: new Date().toISOString(),
  }) as unknown as VerifiedImageSet;
  issued.add(token);
  trustOf.set(token, [...options.trustedKeys]);
  return token;
}

/** A manifest whose signature by a trusted key was checked, and which fits the schema. */
export interface SignedManifest {
  readonly manifest: Manifest;
  /** The exact manifest bytes that were signed. */
  readonly manifestBytes: Uint8Array;
  /** Id of the trusted key that signed. */
  readonly keyId: string;
}

/**
 * Check only the signature and the schema of the manifest in `dir` (not the
 * files): enough to decide about a release before downloading it, e.g. its
 * security epoch. It is not a {@link VerifiedImageSet}.
 *
 * @example
 * ```ts
 * const m = await readSignedManifest("/run/update/release", { trustedKeys: [oemKey] });
 * if (m.isOk()) console.log(m.value.manifest.version, m.value.manifest.securityEpoch ?? 0);
 * ```
 */
export function readSignedManifest(
  dir: string,
  options: { readonly trustedKeys: readonly PublicKey[] },
): ResultAsync<SignedManifest, ImageError> {
  const root = path.resolve(dir);
  return ResultAsync.fromPromise(signedManifest(root, options.trustedKeys), (e) =>
    ioError(e, root, "read the signed manifest"),
  ).andThen((r) => ("code" in r ? err(r) : ok(r)));
}

async function signedManifest(
  dir: string,
  trustedKeys: readonly PublicKey[],
): Promise<SignedManifest | ImageError> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const sigPath = path.join(dir, SIGNATURE_FILE);
  const manifestBytes = await readSmall(manifestPath);
  if (manifestBytes === undefined) return missing(MANIFEST_FILE);
  const sigBytes = await readSmall(sigPath);
  if (sigBytes === undefined) {
    return {
      code: "IMAGE_BAD_SIGNATURE",
      message: `The image set has no signature (${SIGNATURE_FILE}).`,
      signaturePath: SIGNATURE_FILE,
      reason: "missing",
      keyId: undefined,
    };
  }
  const signer = verifyManifestSignature(manifestBytes, sigBytes, trustedKeys, SIGNATURE_FILE);
  if (signer.isErr()) return signer.error;
  const parsed = parseManifest(manifestBytes, MANIFEST_FILE);
  if (parsed.isErr()) return parsed.error;
  return { manifest: parsed.value, manifestBytes, keyId: signer.value.keyId };
}

function missing(file: string): ImageFileMissingError {
  return {
    code: "IMAGE_FILE_MISSING",
    message: `The image set lacks ${file}.`,
    file,
  };
}
