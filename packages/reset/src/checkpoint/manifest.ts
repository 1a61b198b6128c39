import { readFile } from "node:fs/promises";
import { ResultAsync } from "neverthrow";
import { z } from "zod";
import type { ManifestInvalidError } from "../errors.js";

const bootFileSchema = z.object({
  path: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** A checkpoint manifest's schema (`.lifeboat/checkpoints/<id>/manifest.json`). */
export const checkpointManifestSchema = z.object({
  version: z.literal(1),
  kind: z.literal("checkpoint"),
  id: z.string().min(1),
  reason: z.string(),
  createdAt: z.string(),
  /** The checkpoint the system it was taken of descended from (`factory`, another id), or null. */
  parent: z.string().nullable(),
  root: z.object({
    path: z.string(),
    uuid: z.string(),
    /** The subvolume it was taken of (`root`) and that subvolume's UUID then. */
    source: z.string(),
    sourceUuid: z.string(),
  }),
  boot: z.object({
    path: z.string(),
    uuid: z.string(),
    files: z.array(bootFileSchema),
    kernelVersions: z.array(z.string()),
  }),
  btrfsUuid: z.string(),
});

/** What a checkpoint recorded: the root snapshot, the /boot payload, why and when. */
export type CheckpointManifest = z.infer<typeof checkpointManifestSchema>;

/**
 * Read and validate a checkpoint manifest.
 *
 * @example
 * ```ts
 * const m = await readCheckpointManifest("/mnt/top/.lifeboat/checkpoints/before-f41/manifest.json");
 * if (m.isOk()) console.log(m.value.reason);
 * ```
 */
export function readCheckpointManifest(
  file: string,
): ResultAsync<CheckpointManifest, ManifestInvalidError> {
  return ResultAsync.fromPromise(
    (async () => checkpointManifestSchema.parse(JSON.parse(await readFile(file, "utf8"))))(),
    (e) => ({
      code: "RESET_MANIFEST_INVALID" as const,
      message: `The checkpoint manifest ${file} cannot be read or is not valid.`,
      path: file,
      issues:
        e instanceof z.ZodError
          ? e.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
          : [String(e)],
      cause: e,
    }),
  );
}
