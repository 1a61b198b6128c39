import { readFile } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, findMountOf, parseBlkidExport } from "@lifeboat/core";
import { RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/core/layout";
import {
  installGrubdScript,
  installLifeboatCustomCfg,
  type LifeboatMenuOptions,
  renderLifeboatGrubdScript,
} from "@lifeboat/grub";
import { okAsync, type ResultAsync } from "neverthrow";
import { exists, io } from "./_internal/fs.js";
import type { ResetError } from "./errors.js";
import { ROOT_SUBVOLUME } from "./layout.js";

/** GRUB integration asked of {@link provision}: the recovery menu as a grub.d script and/or a custom.cfg block. */
export interface ProvisionGrubOptions extends LifeboatMenuOptions {
  /** The script's name in /etc/grub.d (default `41_lifeboat`). */
  readonly name?: string;
}

/** Why a GRUB integration was not written. */
export type GrubSkipReason =
  /** `grub` was not given (or was `false`). */
  | "not-requested"
  /** grub.d: the installed system has no /etc/grub.d (no grub-mkconfig to run the script). */
  | "no-grub-d"
  /** custom.cfg: the system's grub.cfg is made by grub-mkconfig, which runs the grub.d script instead. */
  | "grub-d"
  /** custom.cfg: /boot has no `grub2/grub.cfg` or `grub/grub.cfg` to put it beside. */
  | "no-grub-cfg"
  /** custom.cfg: no recovery partition was provisioned, so there is no filesystem UUID to boot from. */
  | "no-recovery-partition"
  /** grub-mkconfig: the installed system has no grub2-mkconfig or grub-mkconfig. */
  | "no-grub-mkconfig"
  /** grub-mkconfig: /boot's grub.cfg is not grub-mkconfig's (left as it is; custom.cfg has the entries). */
  | "hand-written";

/**
 * One GRUB integration {@link provision} wrote, kept, or skipped. Paths are
 * where they stay meaningful: in the installed system (the grub.d script,
 * inside the `root` subvolume) or on /boot (`/boot/grub/custom.cfg`).
 */
export type GrubIntegration =
  | {
      /** A script in /etc/grub.d, run by grub-mkconfig. */
      readonly kind: "grub.d";
      /** `installed`: written now; `unchanged`: already this script. */
      readonly status: "installed" | "unchanged";
      /** The subvolume holding the script (`root`). */
      readonly subvolume: string;
      /** The script's path in the installed system, e.g. `/etc/grub.d/41_lifeboat`. */
      readonly path: string;
    }
  | {
      /** Lifeboat's marked block in the custom.cfg beside the system's grub.cfg (hand-written configs). */
      readonly kind: "custom.cfg";
      /** `installed`: written now; `unchanged`: the block was already this one. */
      readonly status: "installed" | "unchanged";
      /** As the installed system sees it, e.g. `/boot/grub/custom.cfg`. */
      readonly path: string;
      /** The grub.cfg beside it, e.g. `/boot/grub/grub.cfg`. */
      readonly grubCfg: string;
      /** Whether that grub.cfg reads custom.cfg; when false, `detail` says what to add. */
      readonly sourced: boolean;
      /** The recovery partition's filesystem UUID the entries search for. */
      readonly recoveryFsUuid: string;
      /** A sentence for the person: what GRUB will show, or what is still to do. */
      readonly detail: string;
    }
  | {
      /** The installed system's grub-mkconfig, run inside it after the grub.d script was installed. */
      readonly kind: "grub-mkconfig";
      /** `ran`: grub.cfg rewritten; `failed`: grub.cfg unchanged, `detail` says why. */
      readonly status: "ran" | "failed";
      /** The command in the installed system, e.g. `/usr/sbin/grub2-mkconfig`. */
      readonly command: string;
      /** The grub.cfg it writes, as the installed system sees it, e.g. `/boot/grub2/grub.cfg`. */
      readonly path: string;
      /** A sentence for the person: what was written, or why not (the command's last error lines). */
      readonly detail: string;
    }
  | {
      readonly kind: "grub.d" | "custom.cfg" | "grub-mkconfig";
      /** Not written. */
      readonly status: "skipped";
      /** Why. */
      readonly reason: GrubSkipReason;
      /** A sentence saying why, and what to do about it. */
      readonly detail: string;
    };

const skipped = (
  kind: "grub.d" | "custom.cfg" | "grub-mkconfig",
  reason: GrubSkipReason,
  detail: string,
): GrubIntegration => ({ kind, status: "skipped", reason, detail });

const GRUB_D = "/etc/grub.d";

/** What provision's recovery entries boot: what it installs on the recovery partition. */
function menuOptions(grub: ProvisionGrubOptions): LifeboatMenuOptions {
  return {
    recoveryKernel: RECOVERY_ENVIRONMENT_BOOT.kernel,
    recoveryInitrd: RECOVERY_ENVIRONMENT_BOOT.initrd,
    ...grub,
  };
}

/**
 * Install the grub.d script with the recovery menu into the `root`
 * subvolume under `top` (before the factory snapshot is taken, so the
 * snapshot has it). It needs nothing from /boot. A system without
 * /etc/grub.d is a reported skip, never an error.
 */
export function provisionGrub(
  runner: CommandRunner,
  options: {
    readonly top: string;
    readonly grub: ProvisionGrubOptions | false | undefined;
    readonly signal?: AbortSignal;
  },
): ResultAsync<GrubIntegration[], ResetError> {
  const grub = options.grub;
  if (grub === undefined || grub === false)
    return okAsync([skipped("grub.d", "not-requested", "GRUB integration was not asked for.")]);
  const directory = path.join(options.top, ROOT_SUBVOLUME, GRUB_D);
  return io(exists(directory), directory, "stat").andThen((has) => {
    if (!has)
      return okAsync([
        skipped(
          "grub.d",
          "no-grub-d",
          `The ${ROOT_SUBVOLUME} subvolume has no ${GRUB_D} (no grub-mkconfig): the entries go into custom.cfg instead.`,
        ),
      ]);
    return renderLifeboatGrubdScript(menuOptions(grub))
      .asyncAndThen((script) =>
        installGrubdScript(runner, script, {
          directory,
          ...(grub.name ? { name: grub.name } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      )
      .map((change): GrubIntegration[] => [
        {
          kind: "grub.d",
          status: change.changed ? "installed" : "unchanged",
          subvolume: ROOT_SUBVOLUME,
          path: path.posix.join(GRUB_D, path.basename(change.path)),
        },
      ]);
  });
}

/** The grub.cfg files GRUB may read, relative to /boot, in the order they are looked at. */
const GRUB_CFGS = ["grub2/grub.cfg", "grub/grub.cfg"] as const;

/** A line (not a comment) that reads custom.cfg: `source $prefix/custom.cfg`, `if [ -f ${config_directory}/custom.cfg ]`, `configfile …/custom.cfg`. */
export function sourcesCustomCfg(grubCfg: string): boolean {
  return grubCfg
    .split("\n")
    .map((l) => l.trim())
    .some((l) => !l.startsWith("#") && /(?:^|[\s/}])custom\.cfg\b/.test(l));
}

/** grub-mkconfig's output: it has a section per grub.d script. */
export function madeByGrubMkconfig(grubCfg: string): boolean {
  return /^### BEGIN \/etc\/grub\.d\//m.test(grubCfg);
}

async function readIfThere(file: string): Promise<string | undefined> {
  return readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT" || e.code === "ENOTDIR") return undefined;
    throw e;
  });
}

/** The recovery partition's filesystem UUID and label (`blkid -p`), from its device or its mount point. */
export function recoveryFilesystem(
  runner: CommandRunner,
  recovery: { readonly device?: string; readonly root?: string },
  signal: AbortSignal | undefined,
): ResultAsync<{ uuid: string; label: string | undefined } | undefined, ResetError> {
  const opts = signal ? { signal } : {};
  const device: ResultAsync<string | undefined, ResetError> = recovery.device
    ? okAsync(recovery.device)
    : recovery.root
      ? findMountOf(runner, recovery.root, opts).map((m) => m.device)
      : okAsync(undefined);
  return device.andThen((dev) =>
    dev === undefined
      ? okAsync(undefined)
      : runner
          .run("blkid", ["-p", "-s", "UUID", "-s", "LABEL", "-o", "export", dev], opts)
          .map((r) => {
            const probe = parseBlkidExport(r.stdout);
            const uuid = probe.UUID;
            return uuid ? { uuid, label: probe.LABEL || undefined } : undefined;
          }),
  );
}

/**
 * Write Lifeboat's block into the custom.cfg beside /boot's grub.cfg when
 * that grub.cfg is hand-written (not grub-mkconfig's) and reads custom.cfg,
 * or when the system has no /etc/grub.d at all. The entries find the
 * recovery partition by the filesystem UUID it has now (label as fallback).
 */
export function provisionCustomCfg(
  runner: CommandRunner,
  options: {
    readonly top: string;
    readonly boot: string;
    readonly grub: ProvisionGrubOptions | false | undefined;
    /** The provisioned recovery partition (undefined: none was). */
    readonly recovery: { readonly device?: string; readonly root?: string } | undefined;
    readonly signal?: AbortSignal;
  },
): ResultAsync<GrubIntegration[], ResetError> {
  const grub = options.grub;
  if (grub === undefined || grub === false)
    return okAsync([skipped("custom.cfg", "not-requested", "GRUB integration was not asked for.")]);
  const grubD = path.join(options.top, ROOT_SUBVOLUME, GRUB_D);
  return io(
    (async () => {
      const hasGrubD = await exists(grubD);
      const found: { rel: string; text: string }[] = [];
      for (const rel of GRUB_CFGS) {
        const text = await readIfThere(path.join(options.boot, rel));
        if (text !== undefined) found.push({ rel, text });
      }
      return { hasGrubD, found };
    })(),
    options.boot,
    "read grub.cfg in",
  ).andThen(({ hasGrubD, found }) => {
    // With grub.d, grub-mkconfig's grub.cfg gets the script's entries: custom.cfg only for a hand-written one.
    const candidates = hasGrubD ? found.filter((f) => !madeByGrubMkconfig(f.text)) : found;
    const chosen =
      candidates.find((f) => sourcesCustomCfg(f.text)) ?? (hasGrubD ? undefined : found[0]);
    if (chosen === undefined)
      return okAsync([
        hasGrubD
          ? skipped(
              "custom.cfg",
              "grub-d",
              found.length > 0
                ? `/boot/${found[0]?.rel} is made by grub-mkconfig (or reads no custom.cfg): the grub.d script adds the entries when grub-mkconfig runs in the system.`
                : "the grub.d script adds the entries when grub-mkconfig runs in the system.",
            )
          : skipped(
              "custom.cfg",
              "no-grub-cfg",
              "/boot has no grub2/grub.cfg or grub/grub.cfg to put custom.cfg beside: add the entries of `lifeboat grub render` to the GRUB config by hand.",
            ),
      ]);
    if (options.recovery === undefined)
      return okAsync([
        skipped(
          "custom.cfg",
          "no-recovery-partition",
          "no recovery partition was provisioned (give --key, on a disk with a formatted recovery partition): the entries need its filesystem UUID.",
        ),
      ]);
    return recoveryFilesystem(runner, options.recovery, options.signal).andThen((fs) => {
      if (fs === undefined)
        return okAsync<GrubIntegration[], ResetError>([
          skipped(
            "custom.cfg",
            "no-recovery-partition",
            "the recovery partition's filesystem has no UUID (blkid): the entries need one.",
          ),
        ]);
      const dir = path.posix.dirname(chosen.rel);
      const file = path.join(options.boot, dir, "custom.cfg");
      const opts = menuOptions(grub);
      return installLifeboatCustomCfg(
        runner,
        file,
        { fsUuid: fs.uuid, ...(fs.label && !opts.recoveryLabel ? { label: fs.label } : {}) },
        { ...opts, ...(options.signal ? { signal: options.signal } : {}) },
      ).map((change): GrubIntegration[] => {
        const sourced = sourcesCustomCfg(chosen.text);
        const grubCfg = `/boot/${chosen.rel}`;
        return [
          {
            kind: "custom.cfg",
            status: change.changed ? "installed" : "unchanged",
            path: `/boot/${dir}/custom.cfg`,
            grubCfg,
            sourced,
            recoveryFsUuid: fs.uuid,
            detail: sourced
              ? `${grubCfg} reads it: GRUB shows "Recovery options" at the next boot.`
              : `${grubCfg} does not read custom.cfg: add \`source \${config_directory}/custom.cfg\` at its end.`,
          },
        ];
      });
    });
  });
}
