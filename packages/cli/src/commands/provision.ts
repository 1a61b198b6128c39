import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { formatBytes } from "@lifeboat/core";
import { parseKernelArgsOption } from "@lifeboat/grub";
import {
  type GrubIntegration,
  type ProvisionProgress,
  provision,
  type RecoveryEnvironmentSource,
} from "@lifeboat/reset";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, note, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { withNamedPaths } from "../mounted-paths.js";
import { unformattedRecovery } from "../recovery-fs.js";
import { withTarget } from "../target.js";
import { formatDuration } from "../ui/format.js";
import { type ByteProgress, startProgress } from "../ui/progress.js";
import { guarded, must, targetOf, targetOptions, usage } from "./_shared.js";
import { loadKeyFile } from "./image.js";
import type { Wrap } from "./index.js";
import { secureBootPreflight } from "./provision-secure-boot.js";
import { describeService, serviceOptions } from "./provision-service.js";

interface ProvisionOpts {
  disk?: string;
  top?: string;
  boot?: string;
  recoveryRoot?: string;
  product: string;
  build: string;
  key?: string;
  /** The `@lifeboat/service` package directory: install lifeboatd into root. */
  service?: string;
  grub?: boolean;
  recoveryArgs?: string;
  epoch?: string;
  securityEpoch?: string;
  /** A prebuilt environment's folder, or false (`--no-recovery-env`). */
  recoveryEnv?: string | false;
  recoveryKernel?: string;
  recoveryModulesRoot?: string;
  cliBundle?: string;
  zstdAddon?: string;
  secureBootOff?: boolean;
}

/**
 * The CLI's one-file bundle, the program the recovery environment runs:
 * `lifeboat-standalone.js` in the package's dist/, which holds this file (or
 * a chunk of it) directly or one folder up.
 */
function defaultCliBundle(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [here, path.dirname(here)].map((d) => path.join(d, "lifeboat-standalone.js"));
  return candidates.find((c) => existsSync(c)) ?? (candidates[0] as string);
}

async function run(ctx: CliContext, opts: ProvisionOpts): Promise<ExitCodeValue> {
  const target = targetOf(opts);
  if (!target.disk && !(target.top && target.boot))
    return usage(ctx, "provision", "give --disk <image|device>, or --top and --boot");
  if (opts.securityEpoch !== undefined && !/^\d{1,15}$/.test(opts.securityEpoch))
    return usage(ctx, "provision", "--security-epoch must be an integer ≥ 0");
  if (opts.recoveryEnv === false && (opts.recoveryKernel || opts.recoveryModulesRoot))
    return usage(
      ctx,
      "provision",
      "--no-recovery-env installs no recovery environment: drop --recovery-kernel and --recovery-modules-root",
    );
  if (
    typeof opts.recoveryEnv === "string" &&
    (opts.recoveryKernel || opts.recoveryModulesRoot || opts.cliBundle || opts.zstdAddon)
  )
    return usage(
      ctx,
      "provision",
      "--recovery-env <dir> installs a prebuilt environment: drop --recovery-kernel, --recovery-modules-root, --cli-bundle and --zstd-addon",
    );
  return guarded(ctx, "provision", async () => {
    const recoveryKernelArgs =
      opts.recoveryArgs === undefined ? undefined : must(parseKernelArgsOption(opts.recoveryArgs));
    const key = opts.key ? await loadKeyFile(opts.key) : undefined;
    return withTarget(ctx.runner, target, { recoveryWritable: true }, async (t) => {
      const mounts = {
        disk: t.disk?.device,
        top: t.top,
        boot: t.boot,
        recoveryRoot: t.recoveryRoot,
      };
      return withNamedPaths(mounts, async () => {
        if (!t.top || !t.boot) return usage(ctx, "provision", "no Btrfs filesystem or /boot found");
        if (key && !t.recoveryRoot && t.devices.recovery)
          throw await unformattedRecovery(t.disk?.device, t.table, t.devices.recovery);
        await secureBootPreflight(ctx, t, {
          secureBootOff: opts.secureBootOff === true,
          recoveryKernel: opts.recoveryKernel,
        });
        const step = (text: string) => note(ctx, `${pc.cyan("▶")} ${text}`);
        const timings: Record<string, number> = {};
        // The SDK does the factory snapshot and, with a key and a recovery
        // partition, builds and installs the signed image set; its phases drive
        // the step lines, timings and the copy bar here.
        let phase: string | undefined;
        let phaseStart = 0;
        const finish = () => {
          if (phase === undefined) return;
          const ms = Date.now() - phaseStart;
          timings[phase] = ms;
          if (!ctx.json) note(ctx, `  ${pc.green("✓")} ${pc.dim(formatDuration(ms))}`);
          phase = undefined;
        };
        const enter = (name: string, text: string) => {
          finish();
          step(text);
          phase = name;
          phaseStart = Date.now();
        };
        let bar: ByteProgress | undefined;
        const onProgress = (e: ProvisionProgress) => {
          if (e.phase === "grub")
            enter(
              "grub",
              "GRUB: the Recovery options submenu (Recovery; Reset to factory settings), as a grub.d script",
            );
          else if (e.phase === "grub-custom-cfg")
            enter(
              "grub-custom-cfg",
              "GRUB: the same submenu in custom.cfg, for a hand-written grub.cfg",
            );
          else if (e.phase === "grub-mkconfig")
            enter(
              "grub-mkconfig",
              "GRUB: run the system's own grub-mkconfig in it, so grub.cfg gets the submenu (grub.cfg unchanged if it fails)",
            );
          else if (e.phase === "snapshot")
            enter("snapshot", "Factory snapshot of root (read-only) and of the /boot payload");
          else if (e.phase === "recovery-check") finish();
          else if (e.phase === "environment-build") {
            if (e.build === undefined)
              enter(
                "environment",
                "Recovery environment: kernel from the system, initramfs with Lifeboat, the static helpers",
              );
            else if (e.build.step === "inputs" && !ctx.json)
              note(ctx, `  kernel ${e.build.kernelVersion}`);
            else if (e.build.step === "compress" && !ctx.json)
              note(ctx, `  initramfs ${formatBytes(e.build.initrdBytes)}`);
          } else if (e.phase === "environment-install") {
            if (e.install === undefined)
              enter(
                "environment-install",
                "Install the recovery environment on the recovery partition (switched atomically)",
              );
          } else if (e.phase === "recovery-build")
            enter(
              "build",
              "Recovery image: squashfs of the factory snapshot, hash trees, Ed25519 signature",
            );
          else if (e.install === undefined)
            enter(
              "install",
              "Install the signed image on the recovery partition (verified after copying)",
            );
          else if (e.install.phase === "copy") {
            bar ??= startProgress(ctx, "  copying", e.install.bytesTotal);
            bar.update(e.install.bytesDone, e.install.bytesTotal);
          }
        };
        const recoveryRoot = key ? t.recoveryRoot : undefined;
        const environment: RecoveryEnvironmentSource | undefined =
          opts.recoveryEnv === false
            ? undefined
            : typeof opts.recoveryEnv === "string"
              ? { prebuilt: opts.recoveryEnv }
              : {
                  cliBundle: opts.cliBundle ?? defaultCliBundle(),
                  ...(opts.recoveryKernel ? { kernel: opts.recoveryKernel } : {}),
                  ...(opts.recoveryModulesRoot ? { modulesRoot: opts.recoveryModulesRoot } : {}),
                  ...(opts.zstdAddon ? { zstdAddon: opts.zstdAddon } : {}),
                };
        const manifest = await (async () => {
          try {
            return must(
              await provision(ctx.runner, {
                top: t.top as string,
                boot: t.boot as string,
                product: opts.product,
                build: opts.build,
                signal: ctx.signal,
                onProgress,
                ...(opts.service ? { service: serviceOptions(opts.service, key) } : {}),
                grub:
                  opts.grub === false
                    ? false
                    : recoveryKernelArgs === undefined
                      ? {}
                      : { recoveryKernelArgs },
                ...(key && recoveryRoot
                  ? {
                      recovery: {
                        root: recoveryRoot,
                        key,
                        ...(environment ? { environment } : {}),
                        sourceDateEpoch: Number(opts.epoch ?? 1767225600),
                        ...(opts.securityEpoch === undefined
                          ? {}
                          : { securityEpoch: Number(opts.securityEpoch) }),
                      },
                    }
                  : {}),
              }),
            );
          } finally {
            bar?.stop();
            finish();
          }
        })();
        const installed = manifest.recoveryImage;
        const recovery = installed
          ? { setId: installed.setId, device: t.devices.recovery ?? null }
          : null;
        if (installed && !installed.changed)
          note(
            ctx,
            `  recovery image ${installed.setId} already installed from this factory snapshot and verified: kept`,
          );
        const env = installed?.environment;
        if (env && !env.changed)
          note(ctx, `  recovery environment ${env.id} already installed and verified: kept`);
        const recoveryEnvironment = env
          ? {
              id: env.id,
              digest: env.digest,
              changed: env.changed,
              previousId: env.previousId ?? null,
              kernelVersion: env.kernelVersion,
              kernel: env.paths.kernel,
              initrd: env.paths.initrd,
              record: env.paths.record,
              files: env.files,
            }
          : null;
        const recoverySkipped = installed
          ? null
          : key
            ? {
                reason: "no-recovery-partition" as const,
                detail:
                  "the disk has no recovery partition (add one with `lifeboat gpt add-recovery`, which also makes its filesystem: see docs/oem-guide.md)",
              }
            : { reason: "no-key" as const, detail: "no signing key given (--key)" };
        return succeed(
          ctx,
          "provision",
          {
            product: manifest.product,
            build: manifest.build,
            snapshotUuid: manifest.snapshot.uuid,
            kernelVersions: manifest.boot.kernelVersions,
            grub: manifest.grub,
            recovery,
            recoverySkipped,
            recoveryEnvironment,
            service: manifest.service ?? null,
            timingsMs: timings,
          },
          (d) =>
            [
              pc.green(`\nProvisioned ${d.product} ${d.build}.`),
              `  factory snapshot ${d.snapshotUuid}, kernels ${d.kernelVersions.join(", ")}`,
              d.recovery
                ? `  recovery image ${d.recovery.setId}`
                : pc.yellow(`  no recovery image: ${d.recoverySkipped?.detail}`),
              ...(d.recoveryEnvironment
                ? [
                    `  recovery environment ${d.recoveryEnvironment.id} (kernel ${d.recoveryEnvironment.kernelVersion}, ${d.recoveryEnvironment.changed ? "installed" : "unchanged"}): /${d.recoveryEnvironment.kernel}, /${d.recoveryEnvironment.initrd}, digests in /${d.recoveryEnvironment.record}`,
                  ]
                : d.recovery
                  ? [pc.yellow("  no recovery environment (--no-recovery-env)")]
                  : []),
              ...d.grub.map(describeGrubIntegration),
              ...describeService(d.service),
            ].join("\n"),
        );
      });
    });
  });
}

/** One line per GRUB integration: where it is (subvolume + path in it, or on /boot), or why it was skipped. */
export function describeGrubIntegration(g: GrubIntegration): string {
  if (g.status === "skipped") return pc.yellow(`  GRUB ${g.kind} skipped: ${g.detail}`);
  if (g.kind === "grub-mkconfig")
    return g.status === "ran"
      ? `  GRUB grub-mkconfig ran: ${g.detail}`
      : pc.red(`  GRUB grub-mkconfig failed: ${g.detail}`);
  if (g.kind === "grub.d")
    return `  GRUB grub.d script ${g.path} in subvolume ${g.subvolume} (${g.status}); grub-mkconfig in the system adds it to grub.cfg`;
  const line = `  GRUB custom.cfg ${g.path} (${g.status}; recovery filesystem UUID ${g.recoveryFsUuid}): ${g.detail}`;
  return g.sourced ? line : pc.yellow(line);
}

/** `lifeboat provision`: the OEM preload step. */
export function registerProvision(program: Command, wrap: Wrap): void {
  targetOptions(program.command("provision"))
    .description(
      "OEM preload: GRUB recovery entries, the read-only factory snapshot, the signed recovery image and the recovery environment",
    )
    .requiredOption("--product <name>", 'product name, e.g. "Contoso Laptop 14"')
    .requiredOption("--build <id>", "factory build id, e.g. F40-2026.11")
    .option("--key <private.pem>", "sign the recovery image with this key (no image without it)")
    .option(
      "--service <dir>",
      "install lifeboatd (unit, D-Bus and polkit policies, activation file, daemon) into root before the factory snapshot, from this @lifeboat/service package directory; with --key, lifeboatd trusts its public key",
    )
    .option(
      "--no-grub",
      "do not install the GRUB entries (neither the /etc/grub.d script nor the custom.cfg block)",
    )
    .option(
      "--recovery-args <args>",
      'kernel arguments of both GRUB entries (Recovery; Reset to factory settings), one quoted string: --recovery-args "console=ttyS0,115200 lifeboat.lang=de_DE"',
    )
    .option(
      "--recovery-env <dir>",
      "install this prebuilt recovery environment (verified against its environment.json) instead of building one",
    )
    .option("--no-recovery-env", "install no recovery environment (kernel, initramfs, helpers)")
    .option(
      "--recovery-kernel <vmlinuz-version>",
      "kernel of the recovery environment (default: the system's newest /boot/vmlinuz-* whose modules are in its root)",
    )
    .option(
      "--recovery-modules-root <dir>",
      "the root whose lib/modules/<version> holds that kernel's modules (default: the system's root subvolume)",
    )
    .option(
      "--cli-bundle <file>",
      "the Lifeboat CLI bundle the recovery environment runs (default: lifeboat-standalone.js beside this CLI)",
    )
    .option(
      "--zstd-addon <dir>",
      "the @mongodb-js/zstd folder `lifeboat update` loads beside the bundle there (default: the one in a node_modules above the bundle)",
    )
    .option(
      "--secure-boot-off",
      "go on when the Secure Boot pre-flight says a boot path cannot boot with Secure Boot on (the machine ships with it off)",
    )
    .option("--epoch <seconds>", "SOURCE_DATE_EPOCH of the image build")
    .option(
      "--security-epoch <n>",
      "anti-rollback counter signed into the recovery image's manifest (integer ≥ 0, default 0)",
    )
    .action(wrap(run));
}
