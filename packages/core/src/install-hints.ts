/** Debian packages that provide the programs Lifeboat runs. */
const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  btrfs: "btrfs-progs",
  "mkfs.btrfs": "btrfs-progs",
  btrfstune: "btrfs-progs",
  sgdisk: "gdisk",
  sfdisk: "fdisk",
  partx: "util-linux",
  lsblk: "util-linux",
  findmnt: "util-linux",
  losetup: "util-linux",
  blockdev: "util-linux",
  mount: "mount",
  umount: "mount",
  mksquashfs: "squashfs-tools",
  unsquashfs: "squashfs-tools",
  "mkfs.erofs": "erofs-utils",
  "mkfs.ext4": "e2fsprogs",
  tune2fs: "e2fsprogs",
  mformat: "mtools",
  mcopy: "mtools",
  mdir: "mtools",
  "mkfs.vfat": "dosfstools",
  "grub-script-check": "grub-common",
  "grub-mkconfig": "grub-common",
  "grub-mkimage": "grub-efi-amd64-bin",
  "grub-mkstandalone": "grub-efi-amd64-bin",
  "grub-emu": "grub-emu",
  "qemu-system-x86_64": "qemu-system-x86",
  cryptsetup: "cryptsetup-bin",
  veritysetup: "cryptsetup-bin",
  casync: "casync",
  zstd: "zstd",
  rsync: "rsync",
  debootstrap: "debootstrap",
  busybox: "busybox-static",
  cpio: "cpio",
  tmux: "tmux",
};

/**
 * The shell command that installs `program` on Debian, or `undefined` when
 * Lifeboat does not know which package provides it.
 *
 * @example
 * ```ts
 * installHint("sgdisk"); // "apt-get install -y gdisk"
 * ```
 */
export function installHint(program: string): string | undefined {
  const base = program.split("/").pop() ?? program;
  const pkg = DEBIAN_PACKAGES[base];
  return pkg === undefined ? undefined : `apt-get install -y ${pkg}`;
}
