import { existsSync } from "node:fs";
import path from "node:path";
import { RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/core/layout";
import {
  installGrubdScript,
  type LifeboatMenuOptions,
  parseKernelArgsOption,
  renderLifeboatCustomCfg,
  renderLifeboatGrubdScript,
} from "@lifeboat/grub";
import type { Command } from "commander";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { withNamedPaths } from "../mounted-paths.js";
import { withTarget } from "../target.js";
import { guarded, must, targetOf, targetOptions, usage } from "./_shared.js";
import type { Wrap } from "./index.js";

interface GrubOpts {
  disk?: string;
  top?: string;
  boot?: string;
  recoveryKernel?: string;
  recoveryInitrd?: string;
  recoveryLabel?: string;
  recoveryArgs?: string;
  recoveryFsUuid?: string;
  efi?: boolean;
  root?: string;
  directory?: string;
}

function inputsOf(opts: GrubOpts): LifeboatMenuOptions {
  return {
    ...(opts.recoveryArgs !== undefined
      ? { recoveryKernelArgs: must(parseKernelArgsOption(opts.recoveryArgs)) }
      : {}),
    ...(opts.recoveryKernel ? { recoveryKernel: opts.recoveryKernel } : {}),
    ...(opts.recoveryInitrd ? { recoveryInitrd: opts.recoveryInitrd } : {}),
    ...(opts.recoveryLabel ? { recoveryLabel: opts.recoveryLabel } : {}),
    ...(opts.efi ? { efi: true } : {}),
  };
}

/** The grub.d script: both entries boot the recovery environment, so nothing is read from /boot. */
function scriptFor(opts: GrubOpts) {
  return must(renderLifeboatGrubdScript(inputsOf(opts)));
}

async function render(ctx: CliContext, opts: GrubOpts): Promise<ExitCodeValue> {
  return guarded(ctx, "grub render", async () => {
    if (opts.recoveryFsUuid !== undefined) {
      // GRUB text for a hand-written config: the block provision writes into custom.cfg.
      const text = must(
        renderLifeboatCustomCfg(undefined, { fsUuid: opts.recoveryFsUuid }, inputsOf(opts)),
      );
      return succeed(
        ctx,
        "grub render",
        { script: text, sampleOutput: text, sampleFsUuid: opts.recoveryFsUuid },
        (d) => d.script,
      );
    }
    const script = scriptFor(opts);
    return succeed(
      ctx,
      "grub render",
      {
        script: script.script,
        sampleOutput: script.sampleOutput,
        sampleFsUuid: script.sampleFsUuid,
      },
      (d) => d.script,
    );
  });
}

async function install(ctx: CliContext, opts: GrubOpts): Promise<ExitCodeValue> {
  const target = targetOf(opts);
  return guarded(ctx, "grub install", () =>
    withTarget(ctx.runner, target, {}, (t) =>
      withNamedPaths({ disk: t.disk?.device, top: t.top, boot: t.boot }, async () => {
        const script = scriptFor(opts);
        const directory =
          opts.directory ??
          (opts.root
            ? path.join(opts.root, "etc/grub.d")
            : t.top
              ? path.join(t.top, "root/etc/grub.d")
              : "/etc/grub.d");
        if (!existsSync(directory))
          return usage(
            ctx,
            "grub install",
            `the system has no ${opts.directory ?? "/etc/grub.d"} (no grub-mkconfig to run the script): for a hand-written grub.cfg, \`lifeboat provision\` writes the entries into custom.cfg, or print them with \`lifeboat grub render --recovery-fs-uuid <uuid>\``,
          );
        const change = must(
          await installGrubdScript(ctx.runner, script, { directory, signal: ctx.signal }),
        );
        // A --disk target is mounted only while the command runs: name the file inside the subvolume.
        const where =
          opts.directory === undefined && opts.root === undefined && t.top
            ? `/etc/grub.d/${path.basename(change.path)} in subvolume root of ${opts.disk ?? t.top}`
            : change.path;
        return succeed(ctx, "grub install", { ...change, where }, (d) =>
          d.changed
            ? `installed ${d.where} (checked with grub-script-check); run grub2-mkconfig in that system to update grub.cfg`
            : `${d.where} is already up to date`,
        );
      }),
    ),
  );
}

function grubOptions(cmd: Command): Command {
  return targetOptions(cmd)
    .option(
      "--recovery-kernel <path>",
      "recovery kernel on the recovery partition (what provision installs)",
      RECOVERY_ENVIRONMENT_BOOT.kernel,
    )
    .option(
      "--recovery-initrd <path>",
      "recovery initrd on the recovery partition",
      RECOVERY_ENVIRONMENT_BOOT.initrd,
    )
    .option(
      "--recovery-label <label>",
      "filesystem label of the recovery partition (fallback search)",
    )
    .option(
      "--recovery-args <args>",
      'kernel arguments of both entries, one quoted string: --recovery-args "console=ttyS0,115200"',
    )
    .option("--efi", "use linuxefi/initrdefi");
}

/** `lifeboat grub render|install`. */
export function registerGrub(program: Command, wrap: Wrap): void {
  const grub = program.command("grub").description("GRUB recovery and factory-reset entries");
  grubOptions(grub.command("render"))
    .description(
      "print the /etc/grub.d script with the Recovery options submenu (Recovery; Reset to factory settings), or with --recovery-fs-uuid the GRUB text for a hand-written grub.cfg/custom.cfg",
    )
    .option(
      "--recovery-fs-uuid <uuid>",
      "print GRUB text (the custom.cfg block) for the recovery filesystem with this UUID instead of the grub.d script",
    )
    .action(wrap(render));
  grubOptions(grub.command("install"))
    .description("install the /etc/grub.d script (checked with grub-script-check)")
    .option("--root <dir>", "the system root holding etc/grub.d")
    .option("--directory <dir>", "the grub.d directory itself")
    .action(wrap(install));
}
