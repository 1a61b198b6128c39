import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import {
  blsField,
  blsFields,
  blsKernelArgs,
  factoryResetMenuEntry,
  type GrubdScript,
  parseBlsEntry,
  recoveryMenu,
  recoveryMenuEntry,
  renderGrubdScript,
} from "@lifeboat/grub";

/** What the CLI puts in the GRUB menu, besides what is read from /boot. */
export interface GrubEntryInputs {
  /** Kernel and initrd of the recovery environment, paths on the recovery partition. */
  readonly recoveryKernel?: string;
  readonly recoveryInitrd?: string;
  /** Filesystem label to fall back on when the recovery filesystem's UUID changed. */
  readonly recoveryLabel?: string;
  /** Filesystem UUID of /boot (searched by the factory-reset entry). */
  readonly bootFsUuid?: string;
  readonly efi?: boolean;
}

/** The newest BLS entry of a mounted /boot: kernel, initrd and arguments of the installed system. */
export async function newestBlsEntry(boot: string) {
  const dir = path.join(boot, "loader/entries");
  const names = (await readdir(dir)).filter((n) => n.endsWith(".conf")).sort();
  const last = names.at(-1);
  if (!last) return undefined;
  const parsed = parseBlsEntry(await readFile(path.join(dir, last), "utf8"));
  if (parsed.isErr()) return undefined;
  const e = parsed.value;
  return {
    file: last,
    kernel: blsField(e, "linux") ?? "",
    initrd: blsFields(e, "initrd"),
    args: blsKernelArgs(e),
  };
}

/**
 * The `/etc/grub.d` script with the "Recovery options" submenu: boot the
 * recovery environment from the recovery partition, and reset to factory
 * settings with the installed kernel.
 */
export function lifeboatGrubdScript(
  system: {
    readonly kernel: string;
    readonly initrd: readonly string[];
    readonly args: readonly string[];
  },
  inputs: GrubEntryInputs,
): ReturnType<typeof renderGrubdScript> {
  return renderGrubdScript({
    entries: ({ fsUuid }) =>
      recoveryMenu([
        recoveryMenuEntry({
          partition: { fsUuid, ...(inputs.recoveryLabel ? { label: inputs.recoveryLabel } : {}) },
          source: {
            kind: "files",
            kernel: inputs.recoveryKernel ?? "/current/vmlinuz",
            initrd: inputs.recoveryInitrd ?? "/current/initrd.img",
          },
          ...(inputs.efi ? { efi: true } : {}),
        }),
        factoryResetMenuEntry({
          kernel: system.kernel,
          initrd: system.initrd,
          kernelArgs: system.args,
          ...(inputs.bootFsUuid ? { bootFsUuid: inputs.bootFsUuid } : {}),
          ...(inputs.efi ? { efi: true } : {}),
        }),
      ]),
  });
}

export type { GrubdScript };
