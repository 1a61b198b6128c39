import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { RECOVERY_ENVIRONMENT_FILES } from "@lifeboat/core/layout";
import { createRecoveryMedia, type MediaExtraFile, planRecoveryMedia } from "@lifeboat/factory";
import { verifyImageSet } from "@lifeboat/image";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, fail, say, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { currentSetDir, withTarget } from "../target.js";
import { confirmByTyping } from "../ui/confirm.js";
import { formatBytes, formatDuration } from "../ui/format.js";
import { renderPlan, shortDigest } from "../ui/plan-render.js";
import { type ByteProgress, startProgress } from "../ui/progress.js";
import {
  collect,
  confirmOptions,
  guarded,
  loadTrustedKeys,
  must,
  targetOf,
  targetOptions,
  usage,
} from "./_shared.js";
import type { Wrap } from "./index.js";

interface MediaOpts {
  target?: string;
  disk?: string;
  recoveryRoot?: string;
  imageSet?: string;
  trustedKey?: string[];
  kernel?: string;
  initrd?: string;
  kernelArg?: string[];
  request?: string;
  requestDefault?: boolean;
  label?: string;
  timeout?: string;
  shim?: string;
  grub?: string;
  yes?: boolean;
  confirm?: string;
  dryRun?: boolean;
}

const COMMAND = "media create";

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function create(ctx: CliContext, opts: MediaOpts): Promise<ExitCodeValue> {
  if (!opts.target) return usage(ctx, COMMAND, "give --target <device|image file>");
  const target = opts.target;
  if (!opts.trustedKey?.length)
    return usage(ctx, COMMAND, "give --trusted-key <public.pem>: the image set is verified first");
  if ((opts.shim === undefined) !== (opts.grub === undefined))
    return usage(ctx, COMMAND, "give --shim and --grub together (the signed pair), or neither");
  if (!opts.imageSet && !opts.disk && !opts.recoveryRoot)
    return usage(
      ctx,
      COMMAND,
      "give --disk <machine disk>, --recovery-root <dir> or --image-set <dir>",
    );
  return guarded(ctx, COMMAND, async () => {
    const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
    const request = opts.request ? await readFile(opts.request, "utf8") : undefined;
    return withTarget(ctx.runner, targetOf(opts), {}, async (t) => {
      const setDir = opts.imageSet ?? (await currentSetDir(t.recoveryRoot));
      if (!setDir)
        return usage(ctx, COMMAND, "no current recovery image set was found on the machine");
      // The installed environment, through the links at the partition's root.
      const installed = (name: string) =>
        t.recoveryRoot ? path.join(t.recoveryRoot, name) : undefined;
      const kernel = opts.kernel ?? installed(RECOVERY_ENVIRONMENT_FILES.kernel);
      const initrd = opts.initrd ?? installed(RECOVERY_ENVIRONMENT_FILES.initrd);
      if (!kernel || !initrd)
        return usage(ctx, COMMAND, "give --kernel and --initrd of the recovery environment");
      const extraFiles: MediaExtraFile[] = [];
      for (const name of [
        RECOVERY_ENVIRONMENT_FILES.exchangeHelper,
        RECOVERY_ENVIRONMENT_FILES.agentHelper,
      ]) {
        const helper = installed(name);
        if (helper && (await exists(helper)))
          extraFiles.push({ source: helper, path: name, mode: 0o755 });
      }
      if (!ctx.json) say(ctx, `Verifying the image set ${setDir} ...`);
      const imageSet = must(await verifyImageSet(setDir, { trustedKeys, signal: ctx.signal }));
      const options = {
        target,
        imageSet,
        environment: { kernel, initrd },
        extraFiles,
        kernelArgs: opts.kernelArg ?? [],
        ...(request === undefined
          ? {}
          : { unattended: { request, default: opts.requestDefault === true } }),
        ...(opts.label ? { label: opts.label } : {}),
        ...(opts.timeout ? { timeoutSeconds: Number(opts.timeout) } : {}),
        ...(opts.shim && opts.grub ? { bootLoader: { shim: opts.shim, grub: opts.grub } } : {}),
        signal: ctx.signal,
      };
      const plan = must(await planRecoveryMedia(ctx.runner, options));
      if (!ctx.json) say(ctx, renderPlan(plan));
      if (opts.dryRun)
        return succeed(ctx, COMMAND, { plan, executed: false }, () =>
          pc.dim(`\nDry run: nothing was changed. Digest ${plan.digest}`),
        );
      let confirm: string;
      if (opts.yes) {
        if (!opts.confirm)
          return usage(ctx, COMMAND, "--yes needs --confirm <digest> of the plan you reviewed");
        confirm = opts.confirm;
      } else {
        const typed = await confirmByTyping(
          ctx,
          "ERASE",
          `write ${target} (plan ${shortDigest(plan.digest)})`,
        );
        if (typed.isErr()) return fail(ctx, COMMAND, typed.error);
        confirm = plan.digest;
      }
      let bar: ByteProgress | undefined;
      const done = await createRecoveryMedia(ctx.runner, {
        plan,
        confirm,
        imageSet,
        signal: ctx.signal,
        onProgress: (e) => {
          if (e.phase === "image-set") {
            bar ??= startProgress(ctx, "  image set", e.bytesTotal);
            bar.update(e.bytesDone, e.bytesTotal);
          } else if (!ctx.json) say(ctx, `  ${e.phase}`);
        },
      });
      bar?.stop();
      if (done.isErr()) return fail(ctx, COMMAND, done.error);
      const { grubConfig: _omitted, ...media } = done.value;
      return succeed(ctx, COMMAND, { plan, executed: true, media }, (d) =>
        pc.green(
          `\nRecovery media written to ${d.media.target} (${formatBytes(d.media.diskBytes)}, recovery partition ${d.media.fsUuid}, set ${d.media.setId}) in ${formatDuration(d.media.durationMs)}.`,
        ),
      );
    });
  });
}

/** `lifeboat media create`: a bootable recovery USB stick (or image file) from the machine's verified recovery set. */
export function registerMedia(program: Command, wrap: Wrap): void {
  const media = program.command("media").description("recovery media (USB sticks)");
  confirmOptions(
    targetOptions(
      media
        .command("create")
        .description(
          "write a bootable recovery USB stick (or an image file for one) from the machine's verified recovery image set",
        ),
    )
      .option("--target <path>", "the USB stick (whole-disk device) or an image file: it is erased")
      .option("--image-set <dir>", "the image set directory (default: the machine's current set)")
      .option(
        "--trusted-key <pem>",
        "public key the image set must be signed with (repeatable)",
        collect,
      )
      .option(
        "--kernel <file>",
        "recovery environment kernel (default: vmlinuz on the recovery partition)",
      )
      .option(
        "--initrd <file>",
        "recovery environment initramfs (default: initrd.img on the recovery partition)",
      )
      .option("--kernel-arg <arg>", "kernel argument of every stick entry (repeatable)", collect)
      .option(
        "--request <file>",
        "a reset request to put on the stick, with an unattended entry for it",
      )
      .option(
        "--request-default",
        "make the unattended entry the default (factory automation only)",
      )
      .option(
        "--label <label>",
        "label of the stick's recovery filesystem (default LIFEBOAT-MEDIA)",
      )
      .option("--timeout <seconds>", "GRUB menu timeout (default 5)")
      .option(
        "--shim <file>",
        "the Microsoft-signed shim for the stick's EFI/BOOT/BOOTX64.EFI (default: this system's, e.g. /usr/lib/shim/shimx64.efi.signed)",
      )
      .option(
        "--grub <file>",
        "the distribution-signed GRUB shim starts (default: this system's, e.g. /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed)",
      ),
  ).action(wrap(create));
}
