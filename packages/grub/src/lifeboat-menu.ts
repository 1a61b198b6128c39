/**
 * Lifeboat's own GRUB menu for an installed system: the "Recovery options"
 * submenu (the recovery environment's guided front end, and reset to factory
 * settings in the same environment), as a grub.d script or a block in
 * `custom.cfg`; and the system's newest BLS entry, read from /boot.
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, ioError } from "@lifeboat/core";
import { RECOVERY_ENVIRONMENT_BOOT, RECOVERY_SCHEDULE } from "@lifeboat/core/layout";
import { err, ok, type Result, ResultAsync } from "neverthrow";
import { blsField, blsFields, blsKernelArgs, parseBlsEntry } from "./bls.js";
import { controlCharacterAt, parseKernelCommandLine } from "./cmdline.js";
import { type RecoveryPartitionRef, recoveryMenu, recoveryMenuEntry } from "./entries.js";
import type {
  GrubBadKernelArgsError,
  GrubError,
  GrubNoBlsEntryError,
  GrubScriptInvalidError,
} from "./errors.js";
import { type GrubdScript, renderGrubdScript } from "./grubd.js";
import { type GrubFileChange, type GrubWriteOptions, writeGrubConfig } from "./install.js";
import { type GrubCommand, type GrubWord, renderGrubScript } from "./script.js";

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

/** Lifeboat's recovery menu: where the recovery environment is and how it boots (see {@link lifeboatMenuEntries}). */
export interface LifeboatMenuOptions {
  /** Kernel of the recovery environment on the recovery partition (default `/environment/vmlinuz`, what `lifeboat provision` installs). */
  readonly recoveryKernel?: string;
  /** Its initrd (default `/environment/initrd.img`). */
  readonly recoveryInitrd?: string;
  /**
   * Kernel arguments of both entries, e.g. `["console=ttyS0,115200"]`
   * (see {@link parseKernelArgsOption} to take them from one string).
   */
  readonly recoveryKernelArgs?: readonly string[];
  /** Filesystem label searched when the recovery filesystem's UUID is not found. */
  readonly recoveryLabel?: string;
  /** `linuxefi`/`initrdefi` instead of `linux`/`initrd`. */
  readonly efi?: boolean;
}

/** The kernel argument that makes the recovery environment open on the "reset, keep my files" confirmation. */
export const FACTORY_RESET_MODE_ARG = "lifeboat.mode=factory-reset";

/**
 * The "Recovery options" submenu: "Recovery" boots the recovery
 * environment (its guided front end), and "Reset to factory settings"
 * boots the same environment with {@link FACTORY_RESET_MODE_ARG}, which
 * opens on the confirmation of a reset that keeps /home. Neither needs the
 * installed system's kernel, so both work when the system no longer boots.
 *
 * @example
 * ```ts
 * const menu = lifeboatMenuEntries({ fsUuid: "5b3e…", label: "LIFEBOAT" }, { recoveryKernelArgs: ["console=ttyS0,115200"] });
 * renderGrubScript(menu);
 * ```
 */
export function lifeboatMenuEntries(
  partition: RecoveryPartitionRef,
  options: LifeboatMenuOptions = {},
): GrubCommand[] {
  const where: RecoveryPartitionRef = {
    fsUuid: partition.fsUuid,
    ...(options.recoveryLabel ? { label: options.recoveryLabel } : {}),
    ...(partition.label ? { label: partition.label } : {}),
  };
  const source = {
    kind: "files",
    kernel: options.recoveryKernel ?? RECOVERY_ENVIRONMENT_BOOT.kernel,
    initrd: options.recoveryInitrd ?? RECOVERY_ENVIRONMENT_BOOT.initrd,
  } as const;
  const args = (options.recoveryKernelArgs ?? []).filter((a) => !a.startsWith("lifeboat.mode="));
  const efi = options.efi ? { efi: true } : {};
  return [
    ...recoveryMenu([
      recoveryMenuEntry({ partition: where, source, kernelArgs: args, ...efi }),
      recoveryMenuEntry({
        partition: where,
        source,
        title: "Reset to factory settings",
        id: "lifeboat-factory-reset",
        kernelArgs: [...args, FACTORY_RESET_MODE_ARG],
        ...efi,
      }),
    ]),
    ...scheduledResetEntry(where, source, args, options.efi ?? false),
  ];
}

/** The kernel arguments of the scheduled, unattended reset (the digest is GRUB's variable, set by the fragment). */
export const SCHEDULED_RESET_MODE_ARGS = [
  "lifeboat.mode=unattended",
  `lifeboat.request=/${RECOVERY_SCHEDULE.request}`,
] as const;

/**
 * A reset scheduled in the recovery environment (`lifeboat reset schedule
 * --in-recovery`): when the recovery partition has
 * {@link RECOVERY_SCHEDULE}`.grubFragment`, it is sourced (it sets the
 * request's digest) and the entry "Scheduled reset (Lifeboat)"
 * is added and made the default, booting the recovery environment with
 * {@link SCHEDULED_RESET_MODE_ARGS} and `lifeboat.digest=`. Only stock
 * commands (`search`, `[`, `source`, `set`), no `insmod`: Secure
 * Boot's signed GRUB has them built in. The recovery environment removes the
 * fragment before it acts, so only the next boot takes it.
 */
function scheduledResetEntry(
  where: RecoveryPartitionRef,
  source: { readonly kind: "files"; readonly kernel: string; readonly initrd: string },
  args: readonly string[],
  efi: boolean,
): GrubCommand[] {
  const variable = "lifeboat_recovery";
  const fragment: GrubWord = ["(", { variable }, `)/${RECOVERY_SCHEDULE.grubFragment}`];
  const entry = recoveryMenuEntry({
    partition: where,
    source,
    title: "Scheduled reset (Lifeboat)",
    id: RECOVERY_SCHEDULE.entryId,
    kernelArgs: [...args, ...SCHEDULED_RESET_MODE_ARGS],
    efi,
  });
  const withDigest: GrubCommand =
    entry.kind === "menuentry"
      ? {
          ...entry,
          body: entry.body.map((c) =>
            c.kind === "linux"
              ? {
                  ...c,
                  args: [
                    ...c.args,
                    ["lifeboat.digest=", { variable: RECOVERY_SCHEDULE.digestVariable }],
                  ],
                }
              : c,
          ),
        }
      : entry;
  const search: GrubCommand = {
    kind: "search",
    by: "fs-uuid",
    value: where.fsUuid,
    set: variable,
  };
  return [
    {
      kind: "comment",
      text: "A reset scheduled to run unattended in the recovery environment (once).",
    },
    where.label === undefined
      ? search
      : {
          kind: "if",
          condition: search,
          body: [],
          elseBody: [{ kind: "search", by: "label", value: where.label, set: variable }],
        },
    {
      kind: "if",
      condition: { kind: "command", name: "[", args: ["-f", fragment, "]"] },
      body: [
        { kind: "command", name: "source", args: [fragment] },
        withDigest,
        { kind: "set", name: "default", value: RECOVERY_SCHEDULE.entryId },
      ],
    },
  ];
}

/**
 * The `/etc/grub.d` script with the "Recovery options" submenu of
 * {@link lifeboatMenuEntries}, the recovery partition found by its GPT
 * type each time `grub-mkconfig` runs. It needs nothing from /boot (no BLS
 * entry): both entries boot the recovery environment.
 *
 * @example
 * ```ts
 * const script = renderLifeboatGrubdScript({ recoveryKernelArgs: ["console=ttyS0,115200"] });
 * if (script.isOk()) await installGrubdScript(runner, script.value);
 * ```
 */
export function renderLifeboatGrubdScript(
  options: LifeboatMenuOptions = {},
): Result<GrubdScript, GrubError> {
  return renderGrubdScript({ entries: ({ fsUuid }) => lifeboatMenuEntries({ fsUuid }, options) });
}

/** First line of Lifeboat's block in a `custom.cfg` (see {@link renderLifeboatCustomCfg}). */
export const CUSTOM_CFG_BEGIN =
  "### BEGIN lifeboat (written by lifeboat provision; replaced when it runs again) ###";
/** Last line of Lifeboat's block in a `custom.cfg`. */
export const CUSTOM_CFG_END = "### END lifeboat ###";

/**
 * A `custom.cfg` (read by hand-written GRUB configs and by grub-mkconfig's
 * `41_custom`) with Lifeboat's block: the submenu of
 * {@link lifeboatMenuEntries} for the recovery partition whose filesystem
 * UUID is given, between {@link CUSTOM_CFG_BEGIN} and {@link CUSTOM_CFG_END}.
 * Everything else in `existing` is kept as it is; a block already there is
 * replaced in place, so running it again gives the same text. A begin line
 * without its end line is `GRUB_SCRIPT_INVALID` (nothing guessed).
 *
 * @example
 * ```ts
 * const text = renderLifeboatCustomCfg(await readFile(cfg, "utf8").catch(() => undefined), { fsUuid: "5b3e…" });
 * if (text.isOk()) await writeGrubConfig(runner, cfg, text.value); // checked by grub-script-check
 * ```
 */
export function renderLifeboatCustomCfg(
  existing: string | undefined,
  partition: RecoveryPartitionRef,
  options: LifeboatMenuOptions = {},
): Result<string, GrubError> {
  return renderGrubScript(lifeboatMenuEntries(partition, options)).andThen((menu) => {
    const block = `${CUSTOM_CFG_BEGIN}\n${menu}${CUSTOM_CFG_END}\n`;
    const old = existing ?? "";
    const lines = old.split("\n");
    const begin = lines.findIndex((l) => l.trim() === CUSTOM_CFG_BEGIN);
    if (begin < 0) {
      if (old === "") return ok(block);
      return ok(`${old}${old.endsWith("\n") ? "" : "\n"}${block}`);
    }
    const end = lines.findIndex((l, i) => i > begin && l.trim() === CUSTOM_CFG_END);
    if (end < 0)
      return err({
        code: "GRUB_SCRIPT_INVALID",
        message: `custom.cfg has Lifeboat's begin line (line ${begin + 1}) without its end line "${CUSTOM_CFG_END}": remove the unfinished block by hand, then run again.`,
        path: "custom.cfg",
        line: begin + 1,
        stderrTail: "",
      } satisfies GrubScriptInvalidError);
    const before = lines.slice(0, begin).join("\n");
    const after = lines.slice(end + 1).join("\n");
    return ok(`${before}${before === "" ? "" : "\n"}${block}${after}`);
  });
}

/**
 * Write Lifeboat's block into a `custom.cfg` (see
 * {@link renderLifeboatCustomCfg}), keeping the rest of the file: the whole
 * new text is checked with `grub-script-check`, then replaces the old file
 * atomically; the same text again changes nothing (`changed: false`).
 *
 * @example
 * ```ts
 * const r = await installLifeboatCustomCfg(runner, "/boot/grub/custom.cfg", { fsUuid: "5b3e…" });
 * if (r.isOk()) console.log(r.value.changed ? "written" : "unchanged");
 * ```
 */
export function installLifeboatCustomCfg(
  runner: CommandRunner,
  file: string,
  partition: RecoveryPartitionRef,
  options: LifeboatMenuOptions & GrubWriteOptions = {},
): ResultAsync<GrubFileChange, GrubError> {
  return ResultAsync.fromPromise(
    readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw e;
    }),
    (e): GrubError => ioError(e, file, "read"),
  ).andThen((old) =>
    renderLifeboatCustomCfg(old, partition, options).asyncAndThen((text) =>
      writeGrubConfig(runner, file, text, options.signal ? { signal: options.signal } : {}),
    ),
  );
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
