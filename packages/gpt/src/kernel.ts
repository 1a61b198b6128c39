/**
 * Asking the kernel to re-read a disk's partition table.
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { CommandError, CommandRunner } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import type {
  GptDeviceBusyError,
  GptKernelStaleError,
  GptRereadUnsupportedError,
} from "./errors.js";
import type { GptTable } from "./model.js";

/** Options for {@link rereadPartitions}. */
export interface RereadOptions {
  /**
   * `"partx"` (default): `partx -u`, which updates partitions one by one and
   * works while other partitions of the disk are mounted. `"blockdev"`:
   * `blockdev --rereadpt` (the BLKRRPART ioctl), which fails if any
   * partition of the disk is in use.
   */
  readonly method?: "partx" | "blockdev";
  /**
   * The table just written: after the command, the kernel's partitions
   * (from sysfs) are compared with it, so a command that exits 0 without
   * effect is `GPT_KERNEL_STALE`, not a silent success.
   */
  readonly table?: GptTable;
  readonly signal?: AbortSignal;
}

/** Errors of {@link rereadPartitions}. */
export type RereadError =
  | GptDeviceBusyError
  | GptRereadUnsupportedError
  | GptKernelStaleError
  | CommandError;

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
    .andThen(() => (options.table ? verify(device, options.table) : okAsync(undefined)));
}

/** A partition as the kernel sees it, in bytes. */
export interface KernelPartition {
  readonly number: number;
  readonly startBytes: bigint;
  readonly sizeBytes: bigint;
}

/**
 * The partitions the kernel currently has for a disk (from
 * `/sys/class/block/<disk>/<part>/{partition,start,size}`).
 *
 * @example
 * ```ts
 * const parts = await kernelPartitions("/dev/sda");
 * ```
 */
export function kernelPartitions(
  device: string,
): ResultAsync<KernelPartition[], GptKernelStaleError> {
  const name = path.basename(device);
  const dir = `/sys/class/block/${name}`;
  return ResultAsync.fromPromise(
    (async () => {
      const out: KernelPartition[] = [];
      for (const entry of await readdir(dir)) {
        if (!entry.startsWith(name)) continue;
        const read = async (f: string) => (await readFile(`${dir}/${entry}/${f}`, "utf8")).trim();
        out.push({
          number: Number(await read("partition")),
          startBytes: BigInt(await read("start")) * 512n,
          sizeBytes: BigInt(await read("size")) * 512n,
        });
      }
      return out.sort((a, b) => a.number - b.number);
    })(),
    (cause) => stale(device, `could not read ${dir}`, cause),
  );
}

function stale(device: string, why: string, cause?: unknown): GptKernelStaleError {
  return {
    code: "GPT_KERNEL_STALE",
    message: `The kernel's partitions of ${device} do not match the table on disk (${why}); reboot or re-read.`,
    device,
    ...(cause === undefined ? {} : { cause }),
  };
}

function verify(device: string, table: GptTable): ResultAsync<void, RereadError> {
  const ss = BigInt(table.sectorSize);
  return kernelPartitions(device).andThen((kernel) => {
    const want = table.partitions.map((p) => ({
      number: p.slot,
      startBytes: p.firstLba * ss,
      sizeBytes: (p.lastLba - p.firstLba + 1n) * ss,
    }));
    const same =
      kernel.length === want.length &&
      want.every((w, i) => {
        const k = kernel[i];
        return (
          k?.number === w.number && k.startBytes === w.startBytes && k.sizeBytes === w.sizeBytes
        );
      });
    return same
      ? okAsync(undefined)
      : errAsync(stale(device, `kernel has ${kernel.length} partitions, the table ${want.length}`));
  });
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
