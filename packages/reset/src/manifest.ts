import { readFile } from "node:fs/promises";
import { ResultAsync } from "neverthrow";
import { z } from "zod";
import type { ManifestInvalidError } from "./errors.js";

const bootFileSchema = z.object({
  path: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** The factory manifest's schema (JSON at `.lifeboat/factory/manifest.json`). */
export const factoryManifestSchema = z.object({
  version: z.literal(1),
  product: z.string(),
  build: z.string(),
  createdAt: z.string(),
  snapshot: z.object({
    path: z.string(),
    uuid: z.string(),
    source: z.string(),
    bytes: z.number().int().min(0).optional(),
  }),
  boot: z.object({
    path: z.string(),
    uuid: z.string(),
    files: z.array(bootFileSchema),
    kernelVersions: z.array(z.string()),
  }),
  layout: z.object({
    btrfsUuid: z.string(),
    bootUuid: z.string().optional(),
    espUuid: z.string().optional(),
    rootSubvolume: z.string(),
    homeSubvolume: z.string(),
  }),
  recovery: z
    .object({ partUuid: z.string().optional(), imageDigest: z.string().optional() })
    .optional(),
});

/** What provisioning recorded: the factory snapshot, the /boot payload, the layout. */
export type FactoryManifest = z.infer<typeof factoryManifestSchema>;

/**
 * Parse a factory manifest from JSON text.
 *
 * @example
 * ```ts
 * const m = parseFactoryManifest(text, "manifest.json");
 * if (m.isOk()) m.value.boot.kernelVersions;
 * ```
 */
export function parseFactoryManifest(
  text: string,
  source: string,
): ResultAsync<FactoryManifest, ManifestInvalidError> {
  return ResultAsync.fromPromise(
    (async () => factoryManifestSchema.parse(JSON.parse(text)))(),
    (e) => ({
      code: "RESET_MANIFEST_INVALID" as const,
      message: `The factory manifest ${source} is not valid.`,
      path: source,
      issues:
        e instanceof z.ZodError
          ? e.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
          : [String(e)],
      cause: e,
    }),
  );
}

/**
 * Read a factory manifest file.
 *
 * @example
 * ```ts
 * const m = await readFactoryManifest("/mnt/top/.lifeboat/factory/manifest.json");
 * ```
 */
export function readFactoryManifest(
  file: string,
): ResultAsync<FactoryManifest, ManifestInvalidError> {
  return ResultAsync.fromPromise(readFile(file, "utf8"), (e) => ({
    code: "RESET_MANIFEST_INVALID" as const,
    message: `The factory manifest ${file} cannot be read.`,
    path: file,
    issues: [String(e)],
    cause: e,
  })).andThen((text) => parseFactoryManifest(text, file));
}
