/**
 * The image-set manifest: what files a recovery image set holds, their sizes,
 * SHA-256 and dm-verity hash trees, and what the set expects of the machine.
 *
 * @module
 */
import { canonicalJson, type PlanEncodingError } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import { z } from "zod";
import type { ImageManifestInvalidError } from "./errors.js";
import { MANIFEST_FILE } from "./layout.js";

/** The manifest format this version writes and reads. */
export const MANIFEST_FORMAT_VERSION = 1;
/** File name of the detached signature beside the manifest. */
export const SIGNATURE_FILE = "manifest.json.sig";

const hex = (bytes?: number) =>
  z
    .string()
    .regex(bytes === undefined ? /^([0-9a-f]{2})*$/ : new RegExp(`^[0-9a-f]{${bytes * 2}}$`));

/** A relative path inside the set: no `..`, not absolute, no NUL, not the manifest itself. */
const setPath = z
  .string()
  .min(1)
  .max(4096)
  .refine(
    (p) =>
      !p.startsWith("/") &&
      !p.includes("\0") &&
      !p.includes("\\") &&
      p.split("/").every((s) => s !== "" && s !== "." && s !== "..") &&
      p !== MANIFEST_FILE &&
      p !== SIGNATURE_FILE,
    { message: "must be a plain relative path inside the image set" },
  );

const safeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** dm-verity (format 1) hash tree of one file: `veritysetup verify` checks it. */
export const merkleSchema = z.strictObject({
  algorithm: z.literal("sha256"),
  /** dm-verity hash format; 1 = SHA-256(salt ‖ block). */
  hashType: z.literal(1),
  dataBlockSize: z.literal(4096),
  hashBlockSize: z.literal(4096),
  /** Data blocks covered: ceil(size / dataBlockSize); a short last block is hashed zero-padded. */
  dataBlocks: safeInt,
  salt: hex().refine((s) => s.length <= 512, "salt longer than 256 bytes"),
  rootHash: hex(32),
  /** The file holding the tree, relative to the set. */
  hashTreeFile: setPath,
  /** Byte offset of the tree (or of its superblock) in `hashTreeFile`. */
  hashOffset: safeInt,
  /** Byte size of the tree from `hashOffset`, superblock included. */
  hashTreeSize: safeInt,
  /** True when a 4096-byte dm-verity superblock precedes the tree (`veritysetup` default). */
  superblock: z.boolean(),
  /** The UUID written in the superblock: it ties the tree to this build. */
  uuid: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
});

/** What a file of the set is for. (A multi-value literal, not `z.enum`, so the API reference has no undocumented enum members.) */
export const fileKindSchema = z.literal([
  "squashfs",
  "erofs",
  "btrfs-send",
  "kernel",
  "initramfs",
  "bls-entry",
  "file",
]);

/** One file of the set. */
export const manifestFileSchema = z.strictObject({
  path: setPath,
  kind: fileKindSchema,
  size: safeInt,
  /** SHA-256 of the whole file (for people and `sha256sum`; verification uses `merkle` when present). */
  sha256: hex(32),
  merkle: merkleSchema.optional(),
});

/** The GPT partitions and Btrfs subvolumes the image set expects to restore into. */
export const layoutSchema = z.strictObject({
  gpt: z.strictObject({
    partitions: z.array(
      z.strictObject({
        name: z.string(),
        typeGuid: z
          .string()
          .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        minSizeBytes: safeInt.optional(),
        filesystem: z.string().optional(),
      }),
    ),
  }),
  subvolumes: z.array(
    z.strictObject({ path: z.string().min(1), mountpoint: z.string().optional() }),
  ),
});

/** The whole manifest. */
export const manifestSchema = z
  .strictObject({
    formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
    product: z.string().min(1).max(200),
    version: z.string().min(1).max(200),
    /**
     * Anti-rollback counter, signed with the rest: install and reset refuse a
     * set whose epoch is below the installed one's or the OEM floor. Raise it
     * when a release fixes a security hole. Absent (older manifests) means 0.
     */
    securityEpoch: safeInt.optional(),
    /** ISO 8601 UTC, from SOURCE_DATE_EPOCH for reproducible builds. */
    buildDate: z.iso.datetime(),
    minimumPartitionBytes: safeInt,
    layout: layoutSchema,
    files: z.array(manifestFileSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    const claim = (p: string) => {
      if (seen.has(p)) ctx.addIssue({ code: "custom", message: `path ${p} is used twice` });
      seen.add(p);
    };
    for (const f of m.files) {
      claim(f.path);
      if (f.merkle) {
        // The tree lives in its own file (at hashOffset), never appended to the data it covers.
        claim(f.merkle.hashTreeFile);
        if (f.merkle.dataBlocks !== Math.ceil(f.size / f.merkle.dataBlockSize))
          ctx.addIssue({ code: "custom", message: `${f.path}: dataBlocks does not match size` });
      }
    }
  });

/** A dm-verity hash tree description, see {@link merkleSchema}. */
export type MerkleInfo = z.infer<typeof merkleSchema>;
/** What a file of the set is for. */
export type ImageFileKind = z.infer<typeof fileKindSchema>;
/** One file of an image set. */
export type ManifestFile = z.infer<typeof manifestFileSchema>;
/** Expected partitions and subvolumes. */
export type ImageLayout = z.infer<typeof layoutSchema>;
/** A parsed, schema-checked manifest. */
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * Encode a manifest as its canonical bytes (sorted keys, no spaces, final
 * newline): the same manifest always gives the same bytes.
 *
 * @example
 * ```ts
 * const bytes = encodeManifest(manifest);
 * if (bytes.isOk()) await writeFile("set/manifest.json", bytes.value);
 * ```
 */
export function encodeManifest(manifest: Manifest): Result<Uint8Array, PlanEncodingError> {
  return canonicalJson(manifest).map((text) => new TextEncoder().encode(`${text}\n`));
}

/**
 * Parse manifest bytes (JSON) and check them against {@link manifestSchema}.
 * Call it only on bytes whose signature was checked; {@link verifyImageSet}
 * does both in the right order.
 *
 * @example
 * ```ts
 * const m = parseManifest(bytes, "set/manifest.json");
 * if (m.isOk()) console.log(m.value.product, m.value.version);
 * ```
 */
export function parseManifest(
  bytes: Uint8Array,
  manifestPath = MANIFEST_FILE,
): Result<Manifest, ImageManifestInvalidError> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    return err(invalid(manifestPath, [`not UTF-8 JSON: ${(e as Error).message}`]));
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    return err(
      invalid(
        manifestPath,
        parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
      ),
    );
  }
  return ok(parsed.data);
}

/**
 * The manifest's security epoch: `securityEpoch`, or 0 when absent (manifests
 * written before the field existed).
 *
 * @example
 * ```ts
 * securityEpochOf(verified.manifest); // 3
 * ```
 */
export function securityEpochOf(manifest: Pick<Manifest, "securityEpoch">): number {
  return manifest.securityEpoch ?? 0;
}

function invalid(manifestPath: string, issues: string[]): ImageManifestInvalidError {
  return {
    code: "IMAGE_MANIFEST_INVALID",
    message: `The manifest ${manifestPath} is not valid: ${issues.slice(0, 3).join("; ")}`,
    manifestPath,
    issues,
  };
}
