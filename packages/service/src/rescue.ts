import { mkdir, realpath, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { ioError, type LifeboatError, type Plan } from "@lifeboat/core";
import {
  type BadRequestError,
  describeRescueTarget,
  isValidStamp,
  plan as makePlan,
  type NotADiskError,
  type RescueRequest,
} from "@lifeboat/reset";
import { err, errAsync, ok, okAsync, type Result, ResultAsync } from "neverthrow";
import { z } from "zod";
import type { MachineAccess, OpenedMachine } from "./machine.js";
import { MAX_REQUEST_BYTES } from "./request.js";

/** What `PlanRescue` and `Rescue` take beside the disk and the target device. */
export interface RescueOptions {
  /** Names the copy on the target (`lifeboat-rescue-<stamp>`). */
  readonly stamp: string;
  /** Paths relative to home to copy; all of home when absent. */
  readonly paths?: readonly string[] | undefined;
  /** `"tree"` (plain files, default) or `"send-stream"` (the target must be Btrfs to receive it later). */
  readonly format?: "tree" | "send-stream" | undefined;
}

const optionsSchema = z.strictObject({
  stamp: z.string().refine(isValidStamp, "a UTC time stamp like 20261125T200000Z"),
  paths: z.array(z.string().min(1).max(4096)).max(1000).optional(),
  format: z.enum(["tree", "send-stream"]).optional(),
});

function badRequest(field: string, message: string): BadRequestError {
  return { code: "RESET_BAD_REQUEST", message: `${message} Nothing was changed.`, field };
}

/** Parse `Rescue`'s options JSON, or `RESET_BAD_REQUEST`. */
export function parseRescueOptions(text: string): Result<RescueOptions, BadRequestError> {
  if (text.length > MAX_REQUEST_BYTES)
    return err(badRequest("options", `The options are longer than ${MAX_REQUEST_BYTES} bytes.`));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return err(badRequest("options", `The options are not JSON: ${(e as Error).message}.`));
  }
  const parsed = optionsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "options";
    return err(badRequest(field, `Bad rescue options: ${field}: ${issue?.message ?? "invalid"}.`));
  }
  return ok(parsed.data);
}

/** The whole disk `/sys` says a block device belongs to (itself when it is no partition). */
async function wholeDiskOf(rdev: number): Promise<string> {
  const id = `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;
  const sys = await realpath(`/sys/dev/block/${id}`);
  const isPartition = await stat(path.join(sys, "partition")).then(
    () => true,
    () => false,
  );
  return isPartition ? path.dirname(sys) : sys;
}

/**
 * The target device a caller names: an absolute path to a block device
 * (a USB disk's partition, `/dev/sdb1`), resolved through symlinks, that is
 * neither the disk being rescued nor one of its partitions.
 */
export function resolveTargetDevice(
  device: string,
  disk: string,
): ResultAsync<string, NotADiskError> {
  const refuse = (why: string): NotADiskError => ({
    code: "RESET_NOT_A_DISK",
    message: `The rescue target ${JSON.stringify(device.slice(0, 200))} ${why}. Nothing was changed.`,
    disk: device.slice(0, 4096),
  });
  if (
    device.length === 0 ||
    device.length > 4096 ||
    !device.startsWith("/") ||
    device.includes("\0")
  )
    return errAsync(refuse("is not an absolute path to a block device"));
  return ResultAsync.fromPromise(
    (async () => {
      const real = await realpath(device);
      const [target, source] = await Promise.all([stat(real), stat(disk)]);
      if (!target.isBlockDevice()) return { real, why: "is not a block device" };
      const [a, b] = await Promise.all([wholeDiskOf(target.rdev), wholeDiskOf(source.rdev)]);
      if (a === b) return { real, why: "is on the disk being rescued" };
      return { real, why: "" };
    })(),
    () => refuse("does not exist or cannot be read"),
  ).andThen(({ real, why }) => (why === "" ? okAsync(real) : errAsync(refuse(why))));
}

/** A rescue target mounted by the service; `release()` unmounts it. */
export interface MountedTarget {
  readonly directory: string;
  release(): Promise<void>;
}

/**
 * Mount the target device at a fixed place under the run directory
 * (`<run>/rescue/<device name>`: the same device gives the same plan, so its
 * digest holds from `PlanRescue` to `Rescue`), `nosuid,nodev,noexec`.
 */
export function mountTarget(
  access: MachineAccess,
  device: string,
): ResultAsync<MountedTarget, LifeboatError> {
  const directory = path.join(
    access.runDirectory ?? "/run/lifeboat",
    "rescue",
    path.basename(device),
  );
  const made = ResultAsync.fromPromise(
    mkdir(directory, { recursive: true, mode: 0o700 }),
    (e): LifeboatError => ioError(e, directory, "make the rescue target's mount point"),
  );
  return made
    .andThen(() =>
      access.runner.run("mount", ["-o", "nosuid,nodev,noexec", "--", device, directory]),
    )
    .map(
      (): MountedTarget => ({
        directory,
        release: async () => {
          await access.runner.run("umount", ["--", directory]);
          await rmdir(directory).catch(() => undefined);
        },
      }),
    );
}

/** Plan the rescue of the opened machine's home into the mounted target. */
export function planRescueOn(
  m: OpenedMachine,
  target: MountedTarget,
  options: RescueOptions,
): ResultAsync<Plan, LifeboatError> {
  return describeRescueTarget(target.directory).andThen((t) => {
    const request: RescueRequest = {
      kind: "rescue",
      stamp: options.stamp,
      target: t,
      ...(options.paths ? { paths: options.paths } : {}),
      ...(options.format ? { format: options.format } : {}),
    };
    const p = makePlan(m.state, request);
    return p.isOk() ? okAsync(p.value) : errAsync(p.error);
  });
}
