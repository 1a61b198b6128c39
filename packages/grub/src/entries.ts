/**
 * The menu entries a recovery product needs: boot the recovery environment
 * from the recovery partition, reset to factory settings, and keep both off
 * the default path.
 *
 * @module
 */
import { kernelArgToGrubWord } from "./cmdline.js";
import type { GrubCommand, GrubWord } from "./script.js";

/** Where the recovery partition is: its filesystem UUID, with a label to fall back on. */
export interface RecoveryPartitionRef {
  /** Filesystem UUID (`blkid -s UUID`), searched first. */
  readonly fsUuid: string;
  /** Filesystem label, searched when no filesystem has the UUID (e.g. after a reformat). */
  readonly label?: string;
}

/** What the recovery entry boots. */
export type RecoverySource =
  /** A kernel and initrd as files on the recovery partition. */
  | { readonly kind: "files"; readonly kernel: string; readonly initrd: string }
  /**
   * The Fedora live layout: a squashfs image on the partition, opened by
   * GRUB's `loopback` for the kernel and initrd inside it, and by dracut's
   * dmsquash-live (`root=live:UUID=… rd.live.image rd.live.dir rd.live.squashimg`) as the root.
   */
  | {
      readonly kind: "squashfs";
      /** Image path on the partition, e.g. `/LiveOS/squashfs.img`. */
      readonly image: string;
      /** Kernel path inside the image, e.g. `/boot/vmlinuz`. */
      readonly kernel: string;
      /** Initrd path inside the image. */
      readonly initrd: string;
    };

/** Options for {@link recoveryMenuEntry}. */
export interface RecoveryEntryOptions {
  readonly partition: RecoveryPartitionRef;
  readonly source: RecoverySource;
  /** Default `"Recovery"`. */
  readonly title?: string;
  /** Default `"lifeboat-recovery"`. */
  readonly id?: string;
  /**
   * Extra kernel arguments, after the ones the layout needs, in the kernel's
   * syntax (`x="a b"`; see {@link kernelArgToGrubWord} for how they reach GRUB).
   */
  readonly kernelArgs?: readonly string[];
  /** `linuxefi`/`initrdefi` (Fedora's GRUB on UEFI) instead of `linux`/`initrd`. */
  readonly efi?: boolean;
  /** A key that boots the entry from the menu (`--hotkey`). */
  readonly hotkey?: string;
  /** Bootable without a GRUB password (`--unrestricted`). Default false. */
  readonly unrestricted?: boolean;
  /** GRUB modules to load first (default `part_gpt`, and `squash4` for the live layout). */
  readonly modules?: readonly string[];
}

/**
 * The `search` that sets `$root` to the recovery partition: by UUID, else by label.
 *
 * @example
 * ```ts
 * renderGrubScript([recoverySearch({ fsUuid: "1111-2222", label: "LIFEBOAT" })]);
 * // if search --no-floppy --fs-uuid --set=root 1111-2222; then … else search … --label … fi
 * ```
 */
export function recoverySearch(partition: RecoveryPartitionRef): GrubCommand {
  const byUuid: GrubCommand = { kind: "search", by: "fs-uuid", value: partition.fsUuid };
  if (partition.label === undefined) return byUuid;
  return {
    kind: "if",
    condition: byUuid,
    body: [],
    elseBody: [{ kind: "search", by: "label", value: partition.label }],
  };
}

const root = (tail: string): GrubWord => ["(", { variable: "root" }, `)${tail}`];

/**
 * The "Recovery" menu entry: finds the recovery partition by filesystem
 * UUID (label as fallback) and boots its kernel and initrd, directly or
 * from the squashfs image of the Fedora live layout.
 *
 * @example
 * ```ts
 * const entry = recoveryMenuEntry({
 *   partition: { fsUuid: "5b3e…", label: "LIFEBOAT" },
 *   source: { kind: "squashfs", image: "/LiveOS/squashfs.img", kernel: "/boot/vmlinuz", initrd: "/boot/initramfs.img" },
 *   hotkey: "r",
 * });
 * renderGrubScript([entry]);
 * ```
 */
export function recoveryMenuEntry(options: RecoveryEntryOptions): GrubCommand {
  const { partition, source } = options;
  const modules =
    options.modules ?? (source.kind === "squashfs" ? ["part_gpt", "squash4"] : ["part_gpt"]);
  const body: GrubCommand[] = modules.map((module) => ({ kind: "insmod", module }));
  body.push(recoverySearch(partition));
  const extra = (options.kernelArgs ?? []).map(kernelArgToGrubWord);
  const efi = options.efi ?? false;
  if (source.kind === "files") {
    body.push(
      { kind: "linux", path: source.kernel, args: extra, efi },
      { kind: "initrd", paths: [source.initrd], efi },
    );
  } else {
    const slash = source.image.lastIndexOf("/");
    const dir = slash <= 0 ? "/" : source.image.slice(0, slash);
    const file = source.image.slice(slash + 1);
    body.push(
      { kind: "loopback", device: "lifeboat", file: root(source.image) },
      {
        kind: "linux",
        path: `(lifeboat)${source.kernel}`,
        args: [
          `root=live:UUID=${partition.fsUuid}`,
          "rd.live.image",
          `rd.live.dir=${dir}`,
          `rd.live.squashimg=${file}`,
          ...extra,
        ],
        efi,
      },
      { kind: "initrd", paths: [`(lifeboat)${source.initrd}`], efi },
    );
  }
  return {
    kind: "menuentry",
    title: options.title ?? "Recovery",
    id: options.id ?? "lifeboat-recovery",
    classes: ["lifeboat", "recovery"],
    ...(options.hotkey === undefined ? {} : { hotkey: options.hotkey }),
    ...(options.unrestricted ? { unrestricted: true } : {}),
    body,
  };
}

/** Options for {@link factoryResetMenuEntry}. */
export interface FactoryResetEntryOptions {
  /** The normal system's kernel, as GRUB sees it (e.g. `/vmlinuz-6.8.5-301.fc40.x86_64` on /boot). */
  readonly kernel: GrubWord;
  readonly initrd: readonly GrubWord[];
  /**
   * The normal kernel command line (`root=UUID=… rootflags=subvol=root ro …`),
   * in the kernel's syntax, as in a BLS `options` line.
   */
  readonly kernelArgs: readonly string[];
  /** Filesystem UUID of the partition holding `kernel` (/boot), searched to set `$root`. */
  readonly bootFsUuid?: string;
  /** Also boot straight into `factory-reset.target` from the initrd (`rd.systemd.unit=factory-reset.target`). */
  readonly resetTarget?: boolean;
  /** Default `"Reset to factory settings"`. */
  readonly title?: string;
  /** Default `"lifeboat-factory-reset"`. */
  readonly id?: string;
  readonly hotkey?: string;
  readonly efi?: boolean;
}

/**
 * Kernel arguments that ask systemd for a factory reset on this boot.
 *
 * @example
 * ```ts
 * factoryResetArgs({ resetTarget: true }); // ["systemd.factory_reset=1", "rd.systemd.unit=factory-reset.target"]
 * ```
 */
export function factoryResetArgs(options: { readonly resetTarget?: boolean } = {}): string[] {
  return options.resetTarget
    ? ["systemd.factory_reset=1", "rd.systemd.unit=factory-reset.target"]
    : ["systemd.factory_reset=1"];
}

/**
 * "Reset to factory settings": the normal kernel with
 * `systemd.factory_reset=1` (and, when asked, `rd.systemd.unit=factory-reset.target`).
 *
 * @example
 * ```ts
 * factoryResetMenuEntry({
 *   kernel: "/vmlinuz-6.8.5", initrd: ["/initramfs-6.8.5.img"],
 *   kernelArgs: ["root=UUID=…", "rootflags=subvol=root", "ro"], bootFsUuid: "…",
 * });
 * ```
 */
export function factoryResetMenuEntry(options: FactoryResetEntryOptions): GrubCommand {
  const efi = options.efi ?? false;
  const args = options.kernelArgs.filter(
    (a) => a !== "systemd.factory_reset=1" && !a.startsWith("rd.systemd.unit="),
  );
  const body: GrubCommand[] = [];
  if (options.bootFsUuid !== undefined)
    body.push({ kind: "search", by: "fs-uuid", value: options.bootFsUuid });
  body.push(
    {
      kind: "linux",
      path: options.kernel,
      args: [...args, ...factoryResetArgs(options)].map(kernelArgToGrubWord),
      efi,
    },
    { kind: "initrd", paths: options.initrd, efi },
  );
  return {
    kind: "menuentry",
    title: options.title ?? "Reset to factory settings",
    id: options.id ?? "lifeboat-factory-reset",
    classes: ["lifeboat", "factory-reset"],
    ...(options.hotkey === undefined ? {} : { hotkey: options.hotkey }),
    body,
  };
}

/** Options for {@link recoveryMenu}. */
export interface RecoveryMenuOptions {
  /**
   * `submenu` (default): the entries sit in one submenu, so neither can be
   * the first entry and both need a deliberate choice. `top`: as plain entries.
   */
  readonly placement?: "submenu" | "top";
  /** Default `"Recovery options"`. */
  readonly submenuTitle?: string;
  /** Hotkey that opens the submenu. */
  readonly hotkey?: string;
}

/**
 * Wrap recovery entries so they stay off the default path: they are placed
 * after the system's own entries (the grub.d script runs late), never call
 * `savedefault`, and by default sit inside a submenu.
 *
 * GRUB 2.06 (Debian) has no hidden entries (`hiddenentry` is not in it), so
 * "hotkey only" means a hotkey on a submenu or entry that is still listed.
 *
 * @example
 * ```ts
 * renderGrubScript(recoveryMenu([recoveryMenuEntry(r), factoryResetMenuEntry(f)], { hotkey: "r" }));
 * ```
 */
export function recoveryMenu(
  entries: readonly GrubCommand[],
  options: RecoveryMenuOptions = {},
): GrubCommand[] {
  if ((options.placement ?? "submenu") === "top") return [...entries];
  return [
    {
      kind: "submenu",
      title: options.submenuTitle ?? "Recovery options",
      id: "lifeboat-recovery-menu",
      classes: ["lifeboat"],
      ...(options.hotkey === undefined ? {} : { hotkey: options.hotkey }),
      body: entries,
    },
  ];
}
