/**
 * Reproducible filesystem images from a directory (or a mounted read-only
 * Btrfs snapshot): squashfs (`mksquashfs`) and EROFS (`mkfs.erofs`).
 *
 * Reproducibility choices: the image's creation time is `sourceDateEpoch`
 * (`-mkfs-time` / `-T`; an inherited `SOURCE_DATE_EPOCH` is removed from the
 * tool's environment so it cannot clash or change file times); mksquashfs stores directories sorted
 * by name and runs with `-reproducible`; EROFS gets a fixed UUID derived from
 * the epoch unless one is given. File times are kept by default (identical
 * input gives identical bytes; a restored root keeps its mtimes);
 * `fileTimes: "source-date-epoch"` stamps every file with the epoch
 * (`-all-time` / `mkfs.erofs -T` without `--preserve-mtime`). Extended
 * attributes (SELinux labels on Fedora) are kept by default; `xattrs: false`
 * (`-no-xattrs` / `-x -1`) drops them, which makes a Fedora root need a relabel.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import {
  type AbortedError,
  type CommandError,
  type CommandRunner,
  type InvalidArgumentError,
  type IoFailedError,
  ioError,
} from "@lifeboat/core";
import { errAsync, ResultAsync as RA, type ResultAsync } from "neverthrow";
import { deriveUuid } from "./_internal/verity-layout.js";

/** Options shared by both builders. */
export interface BuildImageOptionsBase {
  /** The directory (or mounted read-only snapshot) to pack. */
  readonly sourceDir: string;
  /** The image file to write (replaced). */
  readonly output: string;
  /** Seconds since the epoch: the image's timestamp. Required for reproducible output. */
  readonly sourceDateEpoch: number;
  /** `preserve` (default) keeps file mtimes; `source-date-epoch` sets all to the epoch. */
  readonly fileTimes?: "preserve" | "source-date-epoch";
  /** Keep extended attributes (default true: SELinux labels). */
  readonly xattrs?: boolean;
  /** Make every file owned by root (default false). */
  readonly allRoot?: boolean;
  readonly signal?: AbortSignal;
}

/** Options for {@link buildSquashfs}. */
export interface BuildSquashfsOptions extends BuildImageOptionsBase {
  /** Compressor (default `zstd`). */
  readonly compression?: "zstd" | "xz" | "gzip" | "lz4" | "lzo";
  /** Compression level for zstd (1-22) or gzip (1-9). */
  readonly compressionLevel?: number;
  /** Block size in bytes (default 131072). */
  readonly blockSize?: number;
  /** Compressor threads (default: all cores; output is identical for any count). */
  readonly processors?: number;
}

/** Options for {@link buildErofs}. */
export interface BuildErofsOptions extends BuildImageOptionsBase {
  /** Compressor (default `lz4hc`; `none` stores uncompressed). */
  readonly compression?: "lz4hc" | "lz4" | "none";
  readonly compressionLevel?: number;
  /** Filesystem UUID (default: derived from the epoch, so builds are reproducible). */
  readonly uuid?: string;
}

/** A built image file. */
export interface BuiltImage {
  readonly path: string;
  readonly format: "squashfs" | "erofs";
  readonly size: number;
  /** The exact command line that built it (for logs and reproduction). */
  readonly args: readonly string[];
}

/** What a build can fail with. */
export type BuildError = CommandError | AbortedError | IoFailedError | InvalidArgumentError;

function finish(
  runner: CommandRunner,
  command: string,
  args: string[],
  options: BuildImageOptionsBase,
  format: BuiltImage["format"],
): ResultAsync<BuiltImage, BuildError> {
  if (!Number.isInteger(options.sourceDateEpoch) || options.sourceDateEpoch < 0)
    return errAsync({
      code: "INVALID_ARGUMENT",
      message: "sourceDateEpoch must be a non-negative integer (seconds since 1970).",
      argument: "sourceDateEpoch",
    } satisfies InvalidArgumentError);
  // The epoch goes in as explicit options; an inherited SOURCE_DATE_EPOCH would clash with
  // them (mksquashfs refuses both) or silently change file times, so it is removed.
  return runner
    .run("env", ["-u", "SOURCE_DATE_EPOCH", command, ...args], {
      ...(options.signal ? { signal: options.signal } : {}),
    })
    .andThen(() =>
      RA.fromPromise(stat(options.output), (e) => ioError(e, options.output, "stat")).map((s) => ({
        path: options.output,
        format,
        size: s.size,
        args: [command, ...args],
      })),
    );
}

/**
 * Pack a directory into a reproducible squashfs image.
 *
 * @example
 * ```ts
 * const img = await buildSquashfs(runner, {
 *   sourceDir: "/mnt/top/factory", output: "set/root.squashfs", sourceDateEpoch: 1767225600,
 * });
 * ```
 */
export function buildSquashfs(
  runner: CommandRunner,
  options: BuildSquashfsOptions,
): ResultAsync<BuiltImage, BuildError> {
  const epoch = String(options.sourceDateEpoch);
  const args = [options.sourceDir, options.output, "-noappend", "-reproducible"];
  args.push("-comp", options.compression ?? "zstd");
  if (options.compressionLevel !== undefined)
    args.push("-Xcompression-level", String(options.compressionLevel));
  args.push("-b", String(options.blockSize ?? 131072));
  args.push("-mkfs-time", epoch);
  if (options.fileTimes === "source-date-epoch") args.push("-all-time", epoch);
  args.push(options.xattrs === false ? "-no-xattrs" : "-xattrs");
  if (options.allRoot) args.push("-all-root");
  if (options.processors !== undefined) args.push("-processors", String(options.processors));
  args.push("-no-progress", "-quiet");
  return finish(runner, "mksquashfs", args, options, "squashfs");
}

/**
 * Pack a directory into a reproducible EROFS image (Fedora 42's live media format).
 *
 * @example
 * ```ts
 * const img = await buildErofs(runner, {
 *   sourceDir: "/mnt/top/factory", output: "set/root.erofs", sourceDateEpoch: 1767225600,
 * });
 * ```
 */
export function buildErofs(
  runner: CommandRunner,
  options: BuildErofsOptions,
): ResultAsync<BuiltImage, BuildError> {
  const epoch = String(options.sourceDateEpoch);
  const uuid = options.uuid ?? deriveUuid(["erofs", epoch]);
  const args = ["-T", epoch, "-U", uuid, "--quiet"];
  if (options.fileTimes !== "source-date-epoch") args.push("--preserve-mtime");
  const comp = options.compression ?? "lz4hc";
  if (comp !== "none")
    args.push(
      `-z${comp}${options.compressionLevel === undefined ? "" : `,${options.compressionLevel}`}`,
    );
  if (options.xattrs === false) args.push("-x", "-1");
  if (options.allRoot) args.push("--all-root");
  args.push(options.output, options.sourceDir);
  return finish(runner, "mkfs.erofs", args, options, "erofs");
}
