import path from "node:path";
import { installGrubdScript } from "@lifeboat/grub";
import type { Command } from "commander";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { type GrubEntryInputs, lifeboatGrubdScript, newestBlsEntry } from "../grub-entries.js";
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
  efi?: boolean;
  root?: string;
  directory?: string;
}

function inputsOf(opts: GrubOpts): GrubEntryInputs {
  return {
    ...(opts.recoveryKernel ? { recoveryKernel: opts.recoveryKernel } : {}),
    ...(opts.recoveryInitrd ? { recoveryInitrd: opts.recoveryInitrd } : {}),
    ...(opts.recoveryLabel ? { recoveryLabel: opts.recoveryLabel } : {}),
    ...(opts.efi ? { efi: true } : {}),
  };
}

/** The script for the system on the target (its newest BLS entry) or given by options. */
async function scriptFor(
  ctx: CliContext,
  command: string,
  opts: GrubOpts,
  boot: string | undefined,
) {
  let system: { kernel: string; initrd: string[]; args: string[] } | undefined;
  if (opts.kernel) {
    system = {
      kernel: opts.kernel,
      initrd: opts.initrd ? [opts.initrd] : [],
      args: (opts.args ?? "").split(/\s+/).filter(Boolean),
    };
  } else if (boot) {
    const e = await newestBlsEntry(boot);
    if (e) system = { kernel: e.kernel, initrd: [...e.initrd], args: e.args };
  }
  if (!system) {
    usage(ctx, command, "give --kernel (and --initrd, --args), or --disk/--boot with BLS entries");
    return undefined;
  }
  return must(lifeboatGrubdScript(system, inputsOf(opts)));
}

async function render(ctx: CliContext, opts: GrubOpts): Promise<ExitCodeValue> {
  return guarded(ctx, "grub render", () =>
    withTarget(ctx.runner, targetOf(opts), {}, async (t) => {
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
  );
}

async function install(ctx: CliContext, opts: GrubOpts): Promise<ExitCodeValue> {
  const target = targetOf(opts);
  return guarded(ctx, "grub install", () =>
    withTarget(ctx.runner, target, {}, async (t) => {
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
      return succeed(ctx, "grub install", change, (d) =>
        d.changed
          ? `installed ${d.path} (checked with grub-script-check); run grub2-mkconfig to update grub.cfg`
          : `${d.path} is already up to date`,
      );
    }),
  );
}

function grubOptions(cmd: Command): Command {
  return targetOptions(cmd)
    .option(
      "--kernel <path>",
      "kernel of the installed system (default: from the newest BLS entry)",
    )
    .option("--initrd <path>", "its initrd")
    .option("--args <args>", "its kernel arguments")
    .option(
      "--recovery-kernel <path>",
      "recovery kernel on the recovery partition",
      "/current/vmlinuz",
    )
    .option(
      "--recovery-initrd <path>",
      "recovery initrd on the recovery partition",
      "/current/initrd.img",
    )
    .option(
      "--recovery-label <label>",
      "filesystem label of the recovery partition (fallback search)",
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
