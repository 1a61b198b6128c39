import path from "node:path";
import type { CommandRunner, LifeboatError } from "@lifeboat/core";
import {
  installGrubdScript,
  type LifeboatMenuOptions,
  readNewestBlsEntry,
  renderLifeboatGrubdScript,
} from "@lifeboat/grub";
import { RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/recovery-env";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { exists, io } from "./_internal/fs.js";
import { ROOT_SUBVOLUME } from "./layout.js";

/** GRUB integration asked of {@link provision}: the grub.d script's recovery menu. */
export interface ProvisionGrubOptions extends LifeboatMenuOptions {
  /** The script's name in /etc/grub.d (default `41_lifeboat`). */
  readonly name?: string;
}

/** Why a GRUB integration was not written. */
export type GrubSkipReason =
  /** `grub` was not given (or was `false`). */
  | "not-requested"
  /** /boot has no `loader/entries`: there is no system entry to take the kernel from. */
  | "no-bls-directory"
  /** /boot's `loader/entries` holds no `*.conf`. */
  | "no-bls-entries"
  /** The installed system has no /etc/grub.d (no grub-mkconfig to run the script). */
  | "no-grub-d";

/**
 * One GRUB integration {@link provision} wrote, kept, or skipped. Paths are
 * where they stay meaningful: inside the `root` subvolume, and relative to /boot.
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
      /** The BLS entry the factory-reset entry boots like, relative to /boot. */
      readonly systemEntry: string;
    }
  | {
      /** A script in /etc/grub.d, run by grub-mkconfig. */
      readonly kind: "grub.d";
      /** Not written. */
      readonly status: "skipped";
      /** Why. */
      readonly reason: GrubSkipReason;
      /** A sentence saying why, and what to do about it. */
      readonly detail: string;
    };

const skipped = (reason: GrubSkipReason, detail: string): GrubIntegration => ({
  kind: "grub.d",
  status: "skipped",
  reason,
  detail,
});

/**
 * Install the grub.d script with the recovery menu into the `root`
 * subvolume under `top`, taking the installed system from /boot's newest
 * BLS entry. What it cannot do for a reason of the system's layout is a
 * reported skip, never an error.
 */
export function provisionGrub(
  runner: CommandRunner,
  options: {
    readonly top: string;
    readonly boot: string;
    readonly grub: ProvisionGrubOptions | false | undefined;
    readonly signal?: AbortSignal;
  },
): ResultAsync<GrubIntegration[], LifeboatError> {
  const grub = options.grub;
  if (grub === undefined || grub === false)
    return okAsync([skipped("not-requested", "GRUB integration was not asked for.")]);
  const inSystem = "/etc/grub.d";
  const directory = path.join(options.top, ROOT_SUBVOLUME, inSystem);
  return io(exists(directory), directory, "stat").andThen((has) => {
    if (!has)
      return okAsync([
        skipped(
          "no-grub-d",
          `The ${ROOT_SUBVOLUME} subvolume has no ${inSystem}: add the recovery entries to the system's own grub.cfg (see \`lifeboat grub render\`).`,
        ),
      ]);
    return readNewestBlsEntry(options.boot)
      .andThen((system) =>
        renderLifeboatGrubdScript(system, {
          // What `provision` installs on the recovery partition is what the entry boots.
          recoveryKernel: RECOVERY_ENVIRONMENT_BOOT.kernel,
          recoveryInitrd: RECOVERY_ENVIRONMENT_BOOT.initrd,
          ...grub,
        })
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
              path: path.posix.join(inSystem, path.basename(change.path)),
              systemEntry: system.file,
            },
          ]),
      )
      .orElse((e) => {
        if (e.code !== "GRUB_NO_BLS_ENTRY") return errAsync<GrubIntegration[], LifeboatError>(e);
        const how =
          "the factory-reset entry boots the system's kernel as its newest BLS entry does; add the recovery entries with `lifeboat grub render --kernel … --initrd … --args …`.";
        return okAsync(
          e.reason === "missing"
            ? [skipped("no-bls-directory", `/boot has no loader/entries: ${how}`)]
            : [skipped("no-bls-entries", `/boot/loader/entries holds no *.conf entry: ${how}`)],
        );
      });
  });
}
