import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { checkEspSecureBoot, type SecureBootKernel, secureBootRefusal } from "@lifeboat/factory";
import pc from "picocolors";
import { type CliContext, note } from "../context.js";
import type { OpenedTarget } from "../target.js";
import { must } from "./_shared.js";

/**
 * `provision`'s Secure Boot pre-flight (issue #21), before anything is written: the ESP's
 * `EFI/BOOT/BOOTX64.EFI` must be a Microsoft-signed shim with a signed `grubx64.efi` beside
 * it, and every kernel in /boot (the recovery environment boots one of them, or
 * `--recovery-kernel`) must be signed, and every `insmod` in /boot's grub.cfg and custom.cfg
 * must name a module built into the signed GRUB. A path that cannot boot is `SECURE_BOOT_UNBOOTABLE`,
 * unless `secureBootOff` (the machine ships with Secure Boot off): then it is a warning.
 * An ESP without `EFI/BOOT/BOOTX64.EFI` (or no ESP) is not checked, and says so.
 */
export async function secureBootPreflight(
  ctx: CliContext,
  t: OpenedTarget,
  options: { readonly secureBootOff: boolean; readonly recoveryKernel: string | undefined },
): Promise<void> {
  const esp = t.devices.esp;
  if (esp === undefined || t.boot === undefined) {
    if (!ctx.json) note(ctx, pc.yellow("Secure Boot: not checked (no ESP found on this disk)"));
    return;
  }
  const kernels: SecureBootKernel[] = (await readdir(t.boot))
    .filter((n) => n.startsWith("vmlinuz-"))
    .sort()
    .map((n) => ({ role: `system ${n}`, path: path.join(t.boot as string, n) }));
  if (options.recoveryKernel !== undefined)
    kernels.push({
      role: "recovery",
      path: path.join(t.boot, path.basename(options.recoveryKernel)),
    });
  // GRUB's configurations on /boot: an insmod of a module the signed GRUB lacks is a warning.
  const grubConfigs: { name: string; text: string }[] = [];
  for (const rel of ["grub2/grub.cfg", "grub2/custom.cfg", "grub/grub.cfg", "grub/custom.cfg"]) {
    const text = await readFile(path.join(t.boot, rel), "utf8").catch(() => undefined);
    if (text !== undefined) grubConfigs.push({ name: `/boot/${rel}`, text });
  }
  const checked = await checkEspSecureBoot({
    runner: ctx.runner,
    device: esp,
    kernels,
    grubConfigs,
    signal: ctx.signal,
  });
  if (checked.isErr() && options.secureBootOff) {
    note(ctx, pc.yellow(`Secure Boot: not checked (${checked.error.message})`));
    return;
  }
  const report = must(checked);
  if (report === null) {
    if (!ctx.json)
      note(
        ctx,
        pc.yellow(
          "Secure Boot: not checked (the ESP has no EFI/BOOT/BOOTX64.EFI, the removable-media loader)",
        ),
      );
    return;
  }
  if (!ctx.json) for (const w of report.warnings) note(ctx, pc.yellow(`Secure Boot: ${w.message}`));
  const refused = secureBootRefusal(report);
  if (refused === undefined) {
    if (!ctx.json)
      note(
        ctx,
        `${pc.green("✓")} Secure Boot: signed shim, signed GRUB, ${kernels.length} signed kernel(s)`,
      );
    return;
  }
  if (!options.secureBootOff) throw refused;
  note(
    ctx,
    pc.yellow(
      `Secure Boot: this machine could not boot with Secure Boot on (--secure-boot-off given, going on): ${refused.problems.map((p) => p.code).join(", ")}`,
    ),
  );
}
