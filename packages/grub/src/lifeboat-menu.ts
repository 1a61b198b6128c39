/**
 * Lifeboat's own GRUB menu for an installed system: read the system's
 * newest BLS entry from /boot, and render the grub.d script with the
 * "Recovery options" submenu (the recovery environment, and reset to
 * factory settings with the system's kernel).
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ioError, RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/core";
import { err, ok, type Result, ResultAsync } from "neverthrow";
import { blsField, blsFields, blsKernelArgs, parseBlsEntry } from "./bls.js";
import { controlCharacterAt, parseKernelCommandLine } from "./cmdline.js";
import { factoryResetMenuEntry, recoveryMenu, recoveryMenuEntry } from "./entries.js";
import type { GrubBadKernelArgsError, GrubError, GrubNoBlsEntryError } from "./errors.js";
import { type GrubdScript, renderGrubdScript } from "./grubd.js";

/** Where BLS entries live, relative to /boot. */
const ENTRIES = "loader/entries";

/** The installed system as its newest BLS entry boots it. */
export interface InstalledBootEntry {
  /** The entry's path relative to /boot, e.g. `loader/entries/abc-6.8.5.conf`. */
  readonly file: string;
  /** Kernel as GRUB sees it on /boot, e.g. `/vmlinuz-6.8.5-301.fc40.x86_64`. */
  readonly kernel: string;
  /** Its initrd lines, as GRUB sees them on /boot. */
  readonly initrd: readonly string[];
  /** Its kernel arguments (`options`), split. */
  readonly args: readonly string[];
}

function noEntry(reason: GrubNoBlsEntryError["reason"]): GrubNoBlsEntryError {
  return {
    code: "GRUB_NO_BLS_ENTRY",
    message:
      reason === "missing"
        ? `/boot has no ${ENTRIES} directory (no Boot Loader Specification entries).`
        : `/boot/${ENTRIES} holds no *.conf entry.`,
    directory: ENTRIES,
    reason,
  };
}

/**
 * The newest BLS entry (`loader/entries/*.conf`, last by name) of a mounted
 * /boot: the installed system's kernel, initrd and arguments. A /boot
 * without the directory, or with no entry in it, is `GRUB_NO_BLS_ENTRY`
 * (with `reason` `missing` or `empty`), never a raw file system error.
 *
 * @example
 * ```ts
 * const e = await readNewestBlsEntry("/boot");
 * if (e.isOk()) console.log(e.value.kernel, e.value.args.join(" "));
 * else if (e.error.code === "GRUB_NO_BLS_ENTRY") console.log(e.error.reason);
 * ```
 */
export function readNewestBlsEntry(boot: string): ResultAsync<InstalledBootEntry, GrubError> {
  const dir = path.join(boot, ENTRIES);
  return ResultAsync.fromPromise(
    readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT" || e.code === "ENOTDIR") return undefined;
      throw e;
    }),
    (e): GrubError => ioError(e, dir, "list"),
  ).andThen((names) => {
    if (names === undefined) return err(noEntry("missing"));
    const last = names
      .filter((n) => n.endsWith(".conf"))
      .sort()
      .at(-1);
    if (last === undefined) return err(noEntry("empty"));
    const file = path.join(dir, last);
    return ResultAsync.fromPromise(
      readFile(file, "utf8"),
      (e): GrubError => ioError(e, file, "read"),
    ).andThen((text) =>
      parseBlsEntry(text).map(
        (e): InstalledBootEntry => ({
          file: `${ENTRIES}/${last}`,
          kernel: blsField(e, "linux") ?? "",
          initrd: blsFields(e, "initrd"),
          args: blsKernelArgs(e),
        }),
      ),
    );
  });
}

/** What Lifeboat's menu needs besides the installed system (see {@link renderLifeboatGrubdScript}). */
export interface LifeboatMenuOptions {
  /** Kernel of the recovery environment on the recovery partition (default `/environment/vmlinuz`, what `lifeboat provision` installs). */
  readonly recoveryKernel?: string;
  /** Its initrd (default `/environment/initrd.img`). */
  readonly recoveryInitrd?: string;
  /**
   * Kernel arguments of the recovery entry, e.g. `["console=ttyS0,115200"]`
   * (see {@link parseKernelArgsOption} to take them from one string).
   */
  readonly recoveryKernelArgs?: readonly string[];
  /** Filesystem label searched when the recovery filesystem's UUID is not found. */
  readonly recoveryLabel?: string;
  /** Filesystem UUID of /boot (searched by the factory-reset entry). */
  readonly bootFsUuid?: string;
  /** `linuxefi`/`initrdefi` instead of `linux`/`initrd`. */
  readonly efi?: boolean;
}

/**
 * The `/etc/grub.d` script with the "Recovery options" submenu: boot the
 * recovery environment from the recovery partition (found by its GPT type
 * when `grub-mkconfig` runs), and reset to factory settings with the
 * installed system's kernel and arguments.
 *
 * @example
 * ```ts
 * const system = (await readNewestBlsEntry("/boot"))._unsafeUnwrap();
 * const script = renderLifeboatGrubdScript(system, { recoveryKernelArgs: ["console=ttyS0,115200"] });
 * ```
 */
export function renderLifeboatGrubdScript(
  system: Pick<InstalledBootEntry, "kernel" | "initrd" | "args">,
  options: LifeboatMenuOptions = {},
): Result<GrubdScript, GrubError> {
  return renderGrubdScript({
    entries: ({ fsUuid }) =>
      recoveryMenu([
        recoveryMenuEntry({
          partition: {
            fsUuid,
            ...(options.recoveryLabel ? { label: options.recoveryLabel } : {}),
          },
          source: {
            kind: "files",
            kernel: options.recoveryKernel ?? RECOVERY_ENVIRONMENT_BOOT.kernel,
            initrd: options.recoveryInitrd ?? RECOVERY_ENVIRONMENT_BOOT.initrd,
          },
          ...(options.recoveryKernelArgs ? { kernelArgs: options.recoveryKernelArgs } : {}),
          ...(options.efi ? { efi: true } : {}),
        }),
        factoryResetMenuEntry({
          kernel: system.kernel,
          initrd: system.initrd,
          kernelArgs: system.args,
          ...(options.bootFsUuid ? { bootFsUuid: options.bootFsUuid } : {}),
          ...(options.efi ? { efi: true } : {}),
        }),
      ]),
  });
}

/**
 * Split kernel arguments given as one string (a command-line option such as
 * `--recovery-args "console=ttyS0,115200 lifeboat.lang=de_DE"`): on spaces,
 * a double-quoted part kept whole (`a="b c"`), as the kernel reads its
 * command line. A tab, line break or other control character, or an
 * unbalanced double quote, is `GRUB_BAD_KERNEL_ARGS` with its index.
 *
 * @example
 * ```ts
 * parseKernelArgsOption("console=ttyS0,115200 quiet"); // ok(["console=ttyS0,115200", "quiet"])
 * parseKernelArgsOption("quiet\nsingle").isErr(); // true
 * ```
 */
export function parseKernelArgsOption(text: string): Result<string[], GrubBadKernelArgsError> {
  const index = controlCharacterAt(text);
  if (index >= 0)
    return err({
      code: "GRUB_BAD_KERNEL_ARGS",
      message: `Kernel arguments cannot hold the control character ${JSON.stringify(text[index])} (at index ${index}); separate arguments with spaces.`,
      value: text,
      index,
      reason: "control-character",
    });
  const quotes = [...text].filter((c) => c === '"').length;
  if (quotes % 2 === 1)
    return err({
      code: "GRUB_BAD_KERNEL_ARGS",
      message: "Kernel arguments have an unbalanced double quote.",
      value: text,
      index: text.lastIndexOf('"'),
      reason: "unbalanced-quote",
    });
  return ok(parseKernelCommandLine(text));
}
