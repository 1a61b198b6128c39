import path from "node:path";
import { RECOVERY_ENVIRONMENT_BOOT } from "@lifeboat/core";
import {
  installGrubdScript,
  type LifeboatMenuOptions,
  parseKernelArgsOption,
  readNewestBlsEntry,
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
  kernel?: string;
  initrd?: string;
  args?: string;
  recoveryKernel?: string;
  recoveryInitrd?: string;
  recoveryLabel?: string;
  recoveryArgs?: string;
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

/**
 * The script for the system given by options, or on the target (its newest
 * BLS entry; a /boot without one is `GRUB_NO_BLS_ENTRY`).
 */
async function scriptFor(
  ctx: CliContext,
  command: string,
  opts: GrubOpts,
  boot: string | undefined,
) {
  const inputs = inputsOf(opts);
  let system: { kernel: string; initrd: readonly string[]; args: readonly string[] };
  if (opts.kernel) {
    system = {
      kernel: opts.kernel,
      initrd: opts.initrd ? [opts.initrd] : [],
      args: must(parseKernelArgsOption(opts.args ?? "")),
    };
  } else if (boot) {
    system = must(await readNewestBlsEntry(boot));
  } else {
    usage(ctx, command, "give --kernel (and --initrd, --args), or --disk/--boot with BLS entries");
    return undefined;
  }
  return must(renderLifeboatGrubdScript(system, inputs));
}

async function render(ctx: CliContext, opts: GrubOpts): Promise<ExitCodeValue> {
  return guarded(ctx, "grub render", () =>
    withTarget(ctx.runner, targetOf(opts), {}, (t) =>
      withNamedPaths({ disk: t.disk?.device, top: t.top, boot: t.boot }, async () => {
        const script = await scriptFor(ctx, "grub render", opts, t.boot);
        if (!script) return 2;
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
      }),
    ),
  );
}

async function install(ctx: CliContext, opts: GrubOpts): Promise<ExitCodeValue> {
  const target = targetOf(opts);
  return guarded(ctx, "grub install", () =>
    withTarget(ctx.runner, target, {}, (t) =>
      withNamedPaths({ disk: t.disk?.device, top: t.top, boot: t.boot }, async () => {
        const script = await scriptFor(ctx, "grub install", opts, t.boot);
        if (!script) return 2;
        const directory =
          opts.directory ??
          (opts.root
            ? path.join(opts.root, "etc/grub.d")
            : t.top
              ? path.join(t.top, "root/etc/grub.d")
              : "/etc/grub.d");
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
      "--kernel <path>",
      "kernel of the installed system (default: from the newest BLS entry)",
    )
    .option("--initrd <path>", "its initrd")
    .option(
      "--args <args>",
      `its kernel arguments, one quoted string read as the kernel reads it: --args 'root=UUID=… x="a b"'`,
    )
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
      'kernel arguments of the recovery entry, one quoted string: --recovery-args "console=ttyS0,115200"',
    )
    .option("--efi", "use linuxefi/initrdefi");
}

/** `lifeboat grub render|install`. */
export function registerGrub(program: Command, wrap: Wrap): void {
  const grub = program.command("grub").description("GRUB recovery and factory-reset entries");
  grubOptions(grub.command("render"))
    .description("print the /etc/grub.d script with the recovery submenu")
    .action(wrap(render));
  grubOptions(grub.command("install"))
    .description("install the /etc/grub.d script (checked with grub-script-check)")
    .option("--root <dir>", "the system root holding etc/grub.d")
    .option("--directory <dir>", "the grub.d directory itself")
    .action(wrap(install));
}
