/**
 * The files the Fedora-shaped fixture puts into its Debian system (pure
 * renderers), and {@link copyFixture}, which gives a test its copy of a
 * cached image.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Identity of the fixture's filesystems. */
export interface FixtureIds {
  readonly espUuid: string;
  readonly bootUuid: string;
  readonly btrfsUuid: string;
}

export function fstab(ids: FixtureIds): string {
  return [
    "# Fedora's default layout (written by @lifeboat/testkit)",
    `UUID=${ids.btrfsUuid} /          btrfs subvol=root,compress=zstd:1 0 0`,
    `UUID=${ids.bootUuid} /boot      ext4  defaults                    1 2`,
    `UUID=${ids.espUuid}  /boot/efi  vfat  umask=0077,shortname=winnt  0 2`,
    `UUID=${ids.btrfsUuid} /home      btrfs subvol=home,compress=zstd:1 0 0`,
    "",
  ].join("\n");
}

export function kernelOptions(ids: FixtureIds): string {
  return `root=UUID=${ids.btrfsUuid} ro rootflags=subvol=root console=ttyS0,115200 systemd.show_status=1`;
}

/** GRUB's early config, built into BOOTX64.EFI: find /boot by UUID and load its grub.cfg. */
export function earlyGrubConfig(ids: FixtureIds, grubDir = "grub2"): string {
  return [
    `search --no-floppy --fs-uuid --set=root ${ids.bootUuid}`,
    `set prefix=($root)/${grubDir}`,
    "configfile $prefix/grub.cfg",
    "",
  ].join("\n");
}

/** The ESP's `EFI/fedora/grub.cfg` stub, as Fedora writes it. */
export function espStubConfig(ids: FixtureIds, grubDir = "grub2"): string {
  return earlyGrubConfig(ids, grubDir);
}

/**
 * `/boot/grub2/grub.cfg`: Fedora's shape (serial console, grubenv with
 * `saved_entry`/`next_entry`, BLS entries, then custom.cfg), with
 * `source bls.cfg` where Fedora's calls `blscfg`.
 */
export function grubConfig(ids: FixtureIds, timeoutSeconds: number): string {
  return `# Fedora-shaped grub.cfg (written by @lifeboat/testkit)
serial --unit=0 --speed=115200
# Output on the serial port only (OVMF mirrors its console there too, so
# "console" would print everything twice). Input through the firmware's
# console: OVMF polls the same UART and would swallow keys GRUB's own
# serial driver waits for.
terminal_input console
terminal_output serial
search --no-floppy --fs-uuid --set=boot ${ids.bootUuid}
set root=$boot
if [ -s $prefix/grubenv ]; then
  load_env -f $prefix/grubenv
fi
if [ "\${next_entry}" ]; then
  set default="\${next_entry}"
  set next_entry=
  save_env -f $prefix/grubenv next_entry
  set boot_once=true
elif [ "\${saved_entry}" ]; then
  set default="\${saved_entry}"
else
  set default=0
fi
set timeout_style=menu
set timeout=${timeoutSeconds}
echo "LIFEBOAT-GRUB default=\${default}"
# Fedora calls blscfg here; Debian's GRUB has no blscfg, so the entries
# from /boot/loader/entries are rendered to bls.cfg (see syncBlsMenu).
if [ -f $prefix/bls.cfg ]; then
  source $prefix/bls.cfg
fi
if [ -f $prefix/custom.cfg ]; then
  source $prefix/custom.cfg
fi
`;
}

/** An empty GRUB environment block (1024 bytes), as grub-editenv creates it. */
export function emptyGrubenv(): string {
  const head = "# GRUB Environment Block\n";
  return head + "#".repeat(1024 - head.length);
}

/** The marker program: fingerprints of root (/etc, /usr/bin) and /home on the serial console. */
export const MARKER_SCRIPT = `#!/bin/sh
# Lifeboat test marker: prints fingerprints of the root (its /etc and
# /usr/bin) and of /home (everything) to the serial console, then runs the
# optional test hook and powers off (unless lifeboat.stay is on the kernel
# command line or /var/lib/lifeboat-test/stay exists).
export LC_ALL=C
# /dev/console, not /dev/ttyS0: agetty hangs up ttyS0 file descriptors when it starts.
exec >/dev/console 2>&1
start=$(date +%s%N)
# Paths, kinds, modes, sizes of files, symlink targets, and every file's SHA-256.
fingerprint() {
  {
    find "$@" -xdev -type f ! -path etc/adjtime ! -path etc/machine-id -printf '%p|f|%m|%s\\n'
    find "$@" -xdev ! -type f -printf '%p|%y|%m|%l\\n'
    find "$@" -xdev -type f ! -path etc/adjtime ! -path etc/machine-id -print0 | sort -z | xargs -0r sha256sum
  } | sort | sha256sum | cut -c1-64
}
root=$(cd / && fingerprint etc usr/bin)
home=$(cd /home && fingerprint .)
end=$(date +%s%N)
subvol=$(findmnt -no FSROOT /)
echo "LIFEBOAT-MARKER root=$root home=$home"
echo "LIFEBOAT-MARKER-INFO subvol=$subvol ms=$(( (end - start) / 1000000 )) kernel=$(uname -r)"
hook=/var/lib/lifeboat-test/hook
if [ -x "$hook" ]; then
  echo "LIFEBOAT-HOOK begin"
  "$hook"
  echo "LIFEBOAT-HOOK end rc=$?"
fi
if grep -qw lifeboat.stay /proc/cmdline || [ -e /var/lib/lifeboat-test/stay ]; then
  echo "LIFEBOAT-MARKER-STAY"
  exit 0
fi
echo "LIFEBOAT-MARKER-POWEROFF"
systemctl --no-block poweroff
`;

export const MARKER_UNIT = `[Unit]
Description=Lifeboat test marker (fingerprint of root and /home on ttyS0)
After=local-fs.target
Requires=local-fs.target
Before=getty.target serial-getty@ttyS0.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lifeboat-marker
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;

/** Root auto-login on the serial console, for tests that type commands. */
export const SERIAL_AUTOLOGIN = `[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM
`;

/** Modules the fixture's initramfs loads (initramfs-tools MODULES=list keeps it small). */
export const INITRAMFS_MODULES = [
  "virtio_pci",
  "virtio_blk",
  "virtio_scsi",
  "nvme",
  "ahci",
  "sd_mod",
  "crc32c_generic",
  "btrfs",
  "ext4",
];

/**
 * systemd defaults for a guest under software emulation on a busy host:
 * udev can take minutes to announce the disks, and the stock 90 s device
 * timeout would drop the boot into emergency mode.
 */
export const SYSTEMD_SLOW_MACHINE = `[Manager]
DefaultDeviceTimeoutSec=600s
DefaultTimeoutStartSec=600s
`;

/**
 * `/boot/grub/grub.cfg` of the Debian-flavoured fixture, as a person writes it
 * by hand: the serial console, one entry for the installed kernel
 * (`vmlinuz-<ver>`, `initrd.img-<ver>`), then custom.cfg sourced exactly as
 * Debian's `41_custom` does. No grubenv, no BLS, nothing else.
 */
export function handWrittenGrubConfig(
  ids: FixtureIds,
  kernelVersion: string,
  timeoutSeconds: number,
): string {
  return `# Hand-written grub.cfg (written by @lifeboat/testkit's Debian-flavoured fixture)
serial --unit=0 --speed=115200
terminal_input console
terminal_output serial
search --no-floppy --fs-uuid --set=root ${ids.bootUuid}
set default=0
set timeout_style=menu
set timeout=${timeoutSeconds}
echo "LIFEBOAT-GRUB default=\${default}"
menuentry 'Debian GNU/Linux 12 (${kernelVersion}) [hand-written grub.cfg]' --id debian-hand-written {
  search --no-floppy --fs-uuid --set=root ${ids.bootUuid}
  linux /vmlinuz-${kernelVersion} ${kernelOptions(ids)}
  initrd /initrd.img-${kernelVersion}
}
if [ -f \${config_directory}/custom.cfg ]; then
  source \${config_directory}/custom.cfg
elif [ -z "\${config_directory}" -a -f $prefix/custom.cfg ]; then
  source $prefix/custom.cfg
fi
`;
}

/**
 * Copy a cached fixture image to `image` (sparse, reflinked where the
 * filesystem can) and give the copy a disk GUID of its own: Lifeboat opens
 * two disks with one GUID (copies of one image) one at a time (LOCK_HELD),
 * and tests run side by side each with a copy.
 */
export async function copyFixture(cachedImage: string, image: string): Promise<void> {
  // Not testkit's sh: this module is imported by index.ts's own imports.
  await run("cp", ["--reflink=auto", "--sparse=always", cachedImage, image]);
  await run("sgdisk", ["--disk-guid=R", image]);
}

/** Packages the grub-mkconfig flavour adds to the debootstrap base: Debian's GRUB tools (grub-mkconfig, /etc/grub.d, grub-probe). */
export const GRUB_MKCONFIG_PACKAGES = ["grub2-common", "grub-efi-amd64-bin"] as const;

/**
 * `/etc/default/grub` of the grub-mkconfig flavour, as Fedora ships it
 * (`GRUB_ENABLE_BLSCFG=true`, no submenu), with the serial console the
 * other flavours have. `GRUB_DEFAULT=0`, not Fedora's `saved`: Debian's
 * grub-editenv looks for `/boot/grub/grubenv`, which a `grub2/` system lacks.
 */
export function mkconfigDefaultGrub(timeoutSeconds: number): string {
  return `# Fedora-shaped /etc/default/grub (written by @lifeboat/testkit)
GRUB_TIMEOUT=${timeoutSeconds}
GRUB_TIMEOUT_STYLE=menu
GRUB_DISTRIBUTOR="Debian GNU/Linux 12 [Fedora-shaped fixture, grub2-mkconfig]"
GRUB_DEFAULT=0
GRUB_DISABLE_SUBMENU=true
GRUB_TERMINAL_INPUT="console"
GRUB_TERMINAL_OUTPUT="serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_CMDLINE_LINUX="console=ttyS0,115200 systemd.show_status=1"
GRUB_DISABLE_RECOVERY="true"
GRUB_DISABLE_OS_PROBER="true"
GRUB_ENABLE_BLSCFG=true
`;
}

/**
 * The flavour's `/etc/grub.d/10_linux`: Fedora's, with `GRUB_ENABLE_BLSCFG=true`,
 * prints `blscfg` (GRUB reads /boot/loader/entries itself). Debian's GRUB has
 * no blscfg, so the entries are rendered to `$prefix/bls.cfg` (see
 * syncBlsMenu) and this script sources that file in the same place.
 */
export const BLS_GRUBD_SCRIPT = `#!/bin/sh
# Fedora's 10_linux with GRUB_ENABLE_BLSCFG=true prints "blscfg"; this stand-in
# (written by @lifeboat/testkit) sources the entries rendered from
# /boot/loader/entries instead, as Debian's GRUB has no blscfg module.
set -e
cat <<'EOF'
echo "LIFEBOAT-GRUB default=\${default}"
if [ -f $prefix/bls.cfg ]; then
  source $prefix/bls.cfg
fi
EOF
`;
