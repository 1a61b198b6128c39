import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, writeFileAtomic } from "@lifeboat/core";
import type { VerifiedRecoveryEnvironment } from "@lifeboat/recovery-env";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import {
  createSubvolume,
  deleteSubvolume,
  snapshot,
  subvolumeAt,
  syncFilesystem,
} from "./_internal/btrfs.js";
import { copyFileVerified, exists, io } from "./_internal/fs.js";
import { describeBootPayload, kernelVersionsOf, listBootPayload } from "./boot-payload.js";
import type { NoFactorySnapshotError, ResetError } from "./errors.js";
import {
  FACTORY_BOOT,
  FACTORY_MANIFEST,
  FACTORY_ROOT,
  HOME_SUBVOLUME,
  ROOT_SUBVOLUME,
} from "./layout.js";
import { type FactoryManifest, readFactoryManifest } from "./manifest.js";
import {
  type GrubIntegration,
  type ProvisionGrubOptions,
  provisionCustomCfg,
  provisionGrub,
  recoveryFilesystem,
} from "./provision-grub.js";
import { runTargetGrubMkconfig } from "./provision-mkconfig.js";
import {
  type PreparedEnvironment,
  type ProvisionedRecovery,
  type ProvisionProgress,
  prepareEnvironment,
  provisionRecovery,
  type RecoveryProvisionOptions,
} from "./provision-recovery.js";
import {
  type ProvisionedService,
  type ProvisionServiceOptions,
  provisionService,
} from "./provision-service.js";

/** Options of {@link provision}. */
export interface ProvisionOptions {
  /** The Btrfs top level (subvolid=5), mounted. */
  readonly top: string;
  /** /boot, mounted. */
  readonly boot: string;
  readonly product: string;
  readonly build: string;
  /** Filesystem UUIDs of /boot and the ESP, recorded in the manifest. */
  readonly bootUuid?: string;
  readonly espUuid?: string;
  /** Time recorded in the manifest (default now). */
  readonly now?: Date;
  /**
   * Also write the recovery partition: the signed recovery image set, built
   * from the factory snapshot (or prebuilt), installed idempotently (see
   * {@link provisionRecovery}).
   */
  readonly recovery?: RecoveryProvisionOptions;
  /**
   * The GRUB recovery menu ("Recovery", "Reset to factory settings"; both
   * boot the recovery environment): a grub.d script in the `root` subvolume
   * when it has /etc/grub.d (before the factory snapshot, so the snapshot
   * has it), and a marked block in the custom.cfg beside /boot's grub.cfg
   * when that is hand-written and reads custom.cfg, or when there is no
   * /etc/grub.d (after the recovery partition, whose filesystem UUID it
   * names). When the grub.d script is in place, the system's own
   * `grub2-mkconfig`/`grub-mkconfig` is then run inside it (chroot) to
   * rewrite the grub.cfg it owns; grub.cfg is left unchanged when that fails.
   * Every integration done, failed or skipped, with the reason, is in the
   * result's `grub`.
   */
  readonly grub?: ProvisionGrubOptions | false;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProvisionProgress) => void;
  /** Also install lifeboatd (unit, bus and polkit policies, activation file, daemon) into `root` before the snapshot (see {@link provisionService}). */
  readonly service?: ProvisionServiceOptions | undefined;
}

/** What {@link provision} did: the factory manifest, the GRUB integration, and the recovery partition when asked. */
export type ProvisionResult = FactoryManifest & {
  /** Every GRUB integration written, kept or skipped (with why). */
  readonly grub: readonly GrubIntegration[];
  /** The recovery image set installed, present when `recovery` was given. */
  readonly recoveryImage?: ProvisionedRecovery;
  /** The lifeboatd files installed, present when `service` was given. */
  readonly service?: ProvisionedService;
};

/**
 * The OEM preload step, run on the finished image just before first-boot
 * setup: take the read-only factory snapshot of `root`
 * (`.lifeboat/factory/root`), archive /boot's payload (kernels, initramfs,
 * BLS entries) into the read-only subvolume `.lifeboat/factory/boot` so the
 * kernel always matches the snapshot's modules, and record the factory
 * manifest. With `recovery`, also write the recovery partition: the signed
 * recovery image set built from that snapshot (or a prebuilt one), installed
 * atomically (see {@link provisionRecovery}); with `recovery.environment`,
 * also the recovery environment (kernel, initramfs, helpers) the recovery
 * entry boots, built before anything else is changed. Re-running is safe: what
 * exists is checked and kept; a run cut short is completed; a recovery set
 * already built from this factory snapshot is verified and left alone.
 *
 * @example
 * ```ts
 * const m = await provision(runner, { top: "/mnt/top", boot: "/mnt/boot", product: "Contoso 14", build: "F40-1" });
 * if (m.isOk()) console.log(m.value.snapshot.uuid);
 * // with the recovery partition (block device, or `root` when mounted):
 * await provision(runner, { top, boot, product, build, recovery: { device: "/dev/nvme0n1p7", key } });
 * // and the recovery environment the GRUB recovery entry boots (the system's own kernel):
 * const cliBundle = "node_modules/lifeboat/dist/lifeboat-standalone.js";
 * await provision(runner, { top, boot, product, build, recovery: { device: "/dev/nvme0n1p7", key, environment: { cliBundle } } });
 * // with the GRUB recovery menu (a serial console on the recovery entry):
 * const r = await provision(runner, { top, boot, product, build, grub: { recoveryKernelArgs: ["console=ttyS0,115200"] } });
 * if (r.isOk()) for (const g of r.value.grub) console.log(g.status, g.status === "skipped" ? g.detail : g.path);
 * ```
 */
export function provision(
  runner: CommandRunner,
  options: ProvisionOptions,
): ResultAsync<ProvisionResult, ResetError> {
  // The recovery environment is built first: a missing input ends the run before anything changed.
  const source = options.recovery?.environment;
  const prepared: ResultAsync<PreparedEnvironment | undefined, ResetError> =
    source === undefined
      ? okAsync(undefined)
      : prepareEnvironment(runner, source, {
          top: options.top,
          boot: options.boot,
          trustedKeys:
            options.recovery?.trustedKeys ??
            (options.recovery?.key ? [options.recovery.key.publicKey] : []),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        });
  return prepared.andThen((env) => {
    const result = provisionPrepared(runner, options, env?.env);
    return env === undefined
      ? result
      : new ResultAsync(
          (async () => {
            const r = await result;
            await env.cleanup();
            return r;
          })(),
        );
  });
}

function provisionPrepared(
  runner: CommandRunner,
  options: ProvisionOptions,
  env: VerifiedRecoveryEnvironment | undefined,
): ResultAsync<ProvisionResult, ResetError> {
  const { service: serviceFiles, ...rest } = options;
  if (serviceFiles !== undefined)
    return provisionService(options.top, serviceFiles).andThen((service) =>
      provisionPrepared(runner, rest, env).map((r): ProvisionResult => ({ ...r, service })),
    );
  if (options.grub) options.onProgress?.({ phase: "grub" });
  const signal = options.signal ? { signal: options.signal } : {};
  // custom.cfg (hand-written GRUB configs) names the recovery filesystem's UUID: written once it is provisioned.
  const customCfg = (provisioned: boolean) => {
    if (options.grub) options.onProgress?.({ phase: "grub-custom-cfg" });
    return provisionCustomCfg(runner, {
      top: options.top,
      boot: options.boot,
      grub: options.grub,
      recovery: provisioned ? options.recovery : undefined,
      ...signal,
    });
  };
  // With the grub.d script in place, the system's own grub-mkconfig puts its entries into grub.cfg.
  const mkconfig = (
    grubD: readonly GrubIntegration[],
    provisioned: boolean,
  ): ResultAsync<GrubIntegration[], ResetError> => {
    if (!grubD.some((g) => g.kind === "grub.d" && g.status !== "skipped")) return okAsync([]);
    options.onProgress?.({ phase: "grub-mkconfig" });
    const recovery = provisioned ? options.recovery : undefined;
    return (
      recovery === undefined
        ? okAsync(undefined)
        : recoveryFilesystem(runner, recovery, options.signal).orElse(() => okAsync(undefined))
    )
      .andThen((fs) =>
        runTargetGrubMkconfig(runner, {
          top: options.top,
          boot: options.boot,
          ...(fs ? { recoveryFsUuid: fs.uuid } : {}),
          ...signal,
        }),
      )
      .map((g) => [g]);
  };
  const grubAfter = (grubD: readonly GrubIntegration[], provisioned: boolean) =>
    customCfg(provisioned).andThen((custom) =>
      mkconfig(grubD, provisioned).map((ran) => [...grubD, ...custom, ...ran]),
    );
  return provisionGrub(runner, { top: options.top, grub: options.grub, ...signal }).andThen(
    (grubD) => {
      options.onProgress?.({ phase: "snapshot" });
      return provisionFactory(runner, options).andThen((manifest) => {
        const recovery = options.recovery;
        if (recovery === undefined)
          return grubAfter(grubD, false).map((grub): ProvisionResult => ({ ...manifest, grub }));
        return provisionRecovery(runner, {
          ...recovery,
          top: options.top,
          boot: options.boot,
          ...(env ? { preparedEnvironment: env } : {}),
          ...signal,
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        }).andThen((r) =>
          grubAfter(grubD, true).map(
            (grub): ProvisionResult => ({ ...manifest, grub, recoveryImage: r }),
          ),
        );
      });
    },
  );
}

function provisionFactory(
  runner: CommandRunner,
  options: ProvisionOptions,
): ResultAsync<FactoryManifest, ResetError> {
  const { top } = options;
  const manifestPath = path.join(top, FACTORY_MANIFEST);
  return io(exists(manifestPath), manifestPath, "stat").andThen((has) =>
    has
      ? readFactoryManifest(manifestPath).andThen((m) =>
          subvolumeAt(runner, top, FACTORY_ROOT).andThen((snap) =>
            snap?.uuid === m.snapshot.uuid
              ? okAsync(m)
              : errAsync<FactoryManifest, ResetError>(manifestWithoutSnapshot(snap !== undefined)),
          ),
        )
      : fresh(runner, options),
  );
}

function fresh(
  runner: CommandRunner,
  options: ProvisionOptions,
): ResultAsync<FactoryManifest, ResetError> {
  const { top, boot } = options;
  const partial = `${FACTORY_BOOT}.partial`;
  return io(mkdir(path.join(top, path.dirname(FACTORY_ROOT)), { recursive: true }), top, "mkdir")
    .andThen(() => subvolumeAt(runner, top, FACTORY_ROOT))
    .andThen((snap) =>
      snap
        ? okAsync(undefined)
        : snapshot(runner, top, ROOT_SUBVOLUME, FACTORY_ROOT, { readOnly: true }),
    )
    .andThen(() => subvolumeAt(runner, top, FACTORY_BOOT))
    .andThen((bootSnap) => {
      if (bootSnap) return okAsync(undefined);
      return deleteSubvolume(runner, top, partial)
        .andThen(() => createSubvolume(runner, top, partial))
        .andThen(() =>
          io(
            (async () => {
              for (const f of await listBootPayload(boot))
                await copyFileVerified(path.join(boot, f), path.join(top, partial, f), undefined);
            })(),
            boot,
            "archive the /boot payload",
          ),
        )
        .andThen(() => snapshot(runner, top, partial, FACTORY_BOOT, { readOnly: true }))
        .andThen(() => deleteSubvolume(runner, top, partial));
    })
    .andThen(() => describeBootPayload(path.join(top, FACTORY_BOOT)))
    .andThen((files) =>
      subvolumeAt(runner, top, FACTORY_ROOT).andThen((snap) =>
        subvolumeAt(runner, top, FACTORY_BOOT).andThen((bootSnap) =>
          runner.run("btrfs", ["filesystem", "show", top]).andThen((show) => {
            const btrfsUuid = /uuid:\s*([0-9a-f-]{36})/.exec(show.stdout)?.[1] ?? "";
            const manifest: FactoryManifest = {
              version: 1,
              product: options.product,
              build: options.build,
              createdAt: (options.now ?? new Date()).toISOString(),
              snapshot: { path: FACTORY_ROOT, uuid: snap?.uuid ?? "", source: ROOT_SUBVOLUME },
              boot: {
                path: FACTORY_BOOT,
                uuid: bootSnap?.uuid ?? "",
                files,
                kernelVersions: kernelVersionsOf(files),
              },
              layout: {
                btrfsUuid,
                ...(options.bootUuid ? { bootUuid: options.bootUuid } : {}),
                ...(options.espUuid ? { espUuid: options.espUuid } : {}),
                rootSubvolume: ROOT_SUBVOLUME,
                homeSubvolume: HOME_SUBVOLUME,
              },
            };
            return writeFileAtomic(
              path.join(top, FACTORY_MANIFEST),
              `${JSON.stringify(manifest, null, 2)}\n`,
            )
              .andThen(() => syncFilesystem(runner, top))
              .map(() => manifest);
          }),
        ),
      ),
    );
}

function manifestWithoutSnapshot(present: boolean): NoFactorySnapshotError {
  return {
    code: "RESET_NO_FACTORY_SNAPSHOT",
    message:
      "A factory manifest exists but its snapshot is missing or different; refusing to re-provision over it.",
    expectedPath: FACTORY_ROOT,
    reason: present ? "damaged" : "missing",
  };
}
