import { realpath, stat } from "node:fs/promises";
import {
  type BadRequestError,
  isValidStamp,
  type NotADiskError,
  type ResetRequest,
} from "@lifeboat/reset";
import { err, errAsync, ok, okAsync, type Result, ResultAsync } from "neverthrow";
import { z } from "zod";

/** The longest request JSON a method accepts (a request is a few hundred bytes). */
export const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_PATH = 4096;

const stamp = z.string().refine(isValidStamp, "a UTC time stamp like 20261125T200000Z");

/**
 * The requests the service plans and applies. Rescue targets and rollback
 * overrides need the caller's mounts and a reason written to the recovery
 * partition: not offered over the bus in this version.
 */
const requestSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("reset-keep-home"), stamp }),
  z.strictObject({ kind: z.literal("reset-from-recovery"), stamp }),
  z.strictObject({ kind: z.literal("full-restore"), stamp }),
  z.strictObject({ kind: z.literal("cleanup") }),
  z.strictObject({
    kind: z.literal("rollback"),
    stamp,
    checkpoint: z.string().min(1).max(255),
  }),
  z.strictObject({ kind: z.literal("undo-reset"), stamp, reset: stamp.optional() }),
  z.strictObject({
    kind: z.literal("checkpoint-prune"),
    keepLast: z.number().int().min(0).max(10_000).optional(),
    ids: z.array(z.string().min(1).max(255)).max(1000).optional(),
  }),
]);

/** Delete checkpoints (planned by `planPrune`): keep the newest `keepLast`, or delete `ids`. */
export interface CheckpointPruneRequest {
  readonly kind: "checkpoint-prune";
  readonly keepLast?: number | undefined;
  readonly ids?: readonly string[] | undefined;
}

/** What `Plan` and `Apply` take: a reset request, or a checkpoint prune. */
export type ServiceRequest = ResetRequest | CheckpointPruneRequest;

function badRequest(field: string, message: string): BadRequestError {
  return { code: "RESET_BAD_REQUEST", message: `${message} Nothing was changed.`, field };
}

/** Parse a request's JSON text into a {@link ResetRequest}, or `RESET_BAD_REQUEST`. */
export function parseRequest(text: string): Result<ServiceRequest, BadRequestError> {
  if (text.length > MAX_REQUEST_BYTES)
    return err(badRequest("request", `The request is longer than ${MAX_REQUEST_BYTES} bytes.`));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return err(badRequest("request", `The request is not JSON: ${(e as Error).message}.`));
  }
  const parsed = requestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "request";
    return err(badRequest(field, `Bad request: ${field}: ${issue?.message ?? "invalid"}.`));
  }
  return ok(parsed.data as ServiceRequest);
}

/**
 * The disk a caller names: an absolute path to a whole-disk block device
 * (`/dev/nvme0n1`, `/dev/loop3`), resolved through symlinks. Image files are
 * refused: root mounting a file an unprivileged caller made is an attack on
 * the kernel's filesystem code.
 */
export function resolveDisk(disk: string): ResultAsync<string, NotADiskError> {
  const notADisk = (why: string): NotADiskError => ({
    code: "RESET_NOT_A_DISK",
    message: `${JSON.stringify(disk.slice(0, 200))} ${why}. Nothing was changed.`,
    disk: disk.slice(0, MAX_PATH),
  });
  if (disk.length === 0 || disk.length > MAX_PATH || !disk.startsWith("/") || disk.includes("\0"))
    return errAsync(notADisk("is not an absolute path to a block device"));
  return ResultAsync.fromPromise(realpath(disk), () => notADisk("does not exist")).andThen((real) =>
    ResultAsync.fromPromise(stat(real), () => notADisk("cannot be read")).andThen((st) =>
      st.isBlockDevice()
        ? okAsync(real)
        : errAsync(notADisk("is not a block device (the service opens whole disks only)")),
    ),
  );
}
