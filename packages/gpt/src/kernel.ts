/**
 * Asking the kernel to re-read a disk's partition table.
 *
 * @module
 */
import type { CommandError, CommandRunner } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { GptDeviceBusyError, GptRereadUnsupportedError } from "./errors.js";

/** Options for {@link rereadPartitions}. */
export interface RereadOptions {
  /**
   * `"partx"` (default): `partx -u`, which updates partitions one by one and
   * works while other partitions of the disk are mounted. `"blockdev"`:
   * `blockdev --rereadpt` (the BLKRRPART ioctl), which fails if any
   * partition of the disk is in use.
   */
  readonly method?: "partx" | "blockdev";
  readonly signal?: AbortSignal;
}

/** Errors of {@link rereadPartitions}. */
export type RereadError = GptDeviceBusyError | GptRereadUnsupportedError | CommandError;

/**
 * The command line {@link rereadPartitions} runs.
 *
 * @example
 * ```ts
 * rereadCommand("/dev/sda", "blockdev"); // ["blockdev", ["--rereadpt", "/dev/sda"]]
 * ```
 */
export function rereadCommand(
  device: string,
  method: "partx" | "blockdev" = "partx",
): [string, string[]] {
  return method === "partx" ? ["partx", ["-u", device]] : ["blockdev", ["--rereadpt", device]];
}

/**
 * Ask the kernel to re-read `device`'s partition table after a write. A
 * partition in use is `GPT_DEVICE_BUSY` (the new table is on disk, the
 * kernel keeps the old one until reboot); a device the kernel cannot scan
 * (a loop device without partscan, a kernel without partition support)
 * is `GPT_REREAD_UNSUPPORTED`. Neither is reported as success.
 *
 * @example
 * ```ts
 * const r = await rereadPartitions(runner, "/dev/sda");
 * if (r.isErr() && r.error.code === "GPT_DEVICE_BUSY") console.log("reboot to use the new table");
 * ```
 */
export function rereadPartitions(
  runner: CommandRunner,
  device: string,
  options: RereadOptions = {},
): ResultAsync<void, RereadError> {
  const [command, args] = rereadCommand(device, options.method);
  return runner
    .run(command, args, options.signal ? { signal: options.signal } : {})
    .orElse((e) => errAsync(classify(e, device)))
    .andThen(() => okAsync(undefined));
}

function classify(e: CommandError, device: string): RereadError {
  if (e.code !== "COMMAND_FAILED") return e;
  const stderrTail = e.stderrTail;
  if (/busy|EBUSY/i.test(stderrTail)) {
    return {
      code: "GPT_DEVICE_BUSY",
      message: `The kernel did not re-read ${device}: a partition is in use. The table on disk is new; unmount its partitions or reboot.`,
      device,
      stderrTail,
      cause: e,
    };
  }
  if (
    /invalid argument|not supported|failed to read partition table|does not make sense/i.test(
      stderrTail,
    )
  ) {
    return {
      code: "GPT_REREAD_UNSUPPORTED",
      message: `The kernel cannot re-read partitions of ${device} (no partition scanning for this device).`,
      device,
      stderrTail,
      cause: e,
    };
  }
  return e;
}
