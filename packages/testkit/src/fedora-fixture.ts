/**
 * A real, bootable disk image shaped like Fedora's default install, with a
 * real distribution inside (Debian bookworm from `debootstrap`): GPT with an
 * ESP (FAT via mtools: Debian's signed shim and GRUB, Secure Boot ready), `/boot` (ext4:
 * kernel, initramfs, BLS entries, grub2/grub.cfg), one Btrfs with
 * subvolumes `root` and `home` (fstab `subvol=`, `rootflags=subvol=root`),
 * a serial console, and free space at the end where an OEM puts the
 * recovery partition. A marker unit prints
 * `LIFEBOAT-MARKER root=<sha256> home=<sha256>` on ttyS0 and powers off.
 *
 * The image is built once per recipe and cached under
 * `/var/cache/lifeboat-fixtures/`; each test gets its own sparse copy.
 *
 * Test tooling: functions throw on failure.
 *
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  copyFixture,
  earlyGrubConfig,
  emptyGrubenv,
  espStubConfig,
  type FixtureIds,
  fstab,
  grubConfig,
  INITRAMFS_MODULES,
  kernelOptions,
  MARKER_SCRIPT,
  MARKER_UNIT,
  SERIAL_AUTOLOGIN,
  SYSTEMD_SLOW_MACHINE,
} from "./_internal/fixture-files.js";
import { renderBlsEntry, syncBlsMenu } from "./bls-menu.js";
import { makeFatImage, writeAtOffset } from "./esp.js";
import {
  attachLoop,
  partitionsOf,
  requireRoot,
  requireTools,
  Scratch,
  sh,
  unmount,
} from "./index.js";
import { SIGNED_GRUB, SIGNED_SHIM } from "./secure-boot.js";

/** Where built fixtures (and the .deb cache debootstrap reuses) are kept. */
export const FIXTURE_CACHE_DIR = "/var/cache/lifeboat-fixtures";

const MiB = 1024 * 1024;

/** What the fixture is built from; its hash names the cached image. */
export const FEDORA_FIXTURE_RECIPE = {
  /** Bump when the builder changes in a way the other fields do not show. */
  builder: 4,
  suite: "bookworm",
  mirror: "http://deb.debian.org/debian",
  packages: ["linux-image-amd64", "systemd-sysv", "btrfs-progs", "udev", "kmod", "cryptsetup-bin"],
  layoutMiB: { esp: 100, boot: 512, root: 3072, free: 1536 },
  grubTimeoutSeconds: 3,
  user: "user",
} as const;

/** A partition of the fixture. */
export interface FixturePartition {
  readonly number: number;
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  /** Filesystem UUID (`XXXX-XXXX` for the ESP). */
  readonly uuid: string;
}

/** Facts about a built fixture image (stored beside the cached image). */
export interface FedoraFixtureInfo {
  readonly key: string;
  readonly sizeBytes: number;
  readonly esp: FixturePartition;
  readonly boot: FixturePartition;
  readonly root: FixturePartition;
  /** The unpartitioned space after the Btrfs partition (before the backup GPT). */
  readonly freeSpace: { readonly offsetBytes: number; readonly sizeBytes: number };
  readonly kernelVersion: string;
  /** The kernel command line of the default entry. */
  readonly kernelOptions: string;
  /** The BLS entry id (file name without .conf) of the default entry. */
  readonly blsId: string;
  /** The user whose home is /home/<user>. */
  readonly user: string;
  /** Seconds the uncached build took. */
  readonly buildSeconds: number;
}

/** A fresh copy of the fixture for one test. */
export interface FedoraFixture extends FedoraFixtureInfo {
  /** The test's own copy of the disk image (inside its scratch directory). */
  readonly image: string;
  /** Whether the cached image was reused (false: built by this call). */
  readonly cached: boolean;
}

/** Options for {@link fedoraFixture}. */
export interface FedoraFixtureOptions {
  readonly cacheDir?: string;
  /** File name of the copy inside the scratch directory (default `fedora.img`). */
  readonly name?: string;
  /** Progress lines (build steps), for test output. */
  readonly onProgress?: (line: string) => void;
}

/** The cache key: a hash of the recipe and of every file the builder writes. */
export function fedoraFixtureKey(): string {
  const ids: FixtureIds = { espUuid: "E", bootUuid: "B", btrfsUuid: "R" };
  const h = createHash("sha256");
  h.update(JSON.stringify(FEDORA_FIXTURE_RECIPE));
  for (const part of [
    fstab(ids),
    kernelOptions(ids),
    earlyGrubConfig(ids),
    grubConfig(ids, FEDORA_FIXTURE_RECIPE.grubTimeoutSeconds),
    MARKER_SCRIPT,
    MARKER_UNIT,
    SERIAL_AUTOLOGIN,
    SYSTEMD_SLOW_MACHINE,
    INITRAMFS_MODULES.join(","),
  ])
    h.update(part);
  return h.digest("hex").slice(0, 16);
}

/**
 * Give the test its own copy of the Fedora-shaped fixture (built and cached
 * first if needed: about two minutes here; a cached copy takes seconds).
 *
 * @example
 * ```ts
 * const scratch = await Scratch.create();
 * const fx = await fedoraFixture(scratch, { onProgress: (l) => console.log(l) });
 * const vm = await boot({ disks: [fx.image], timeoutMs: 300_000, name: "fixture" });
 * const m = await vm.waitFor(/LIFEBOAT-MARKER root=(\w+) home=(\w+)/, 280_000);
 * ```
 */
export async function fedoraFixture(
  scratch: Scratch,
  options: FedoraFixtureOptions = {},
): Promise<FedoraFixture> {
  const { info, cached } = await ensureFedoraFixture(options);
  const image = scratch.path(options.name ?? "fedora.img");
  await copyFixture(fixtureImagePath("fedora", info.key, options.cacheDir), image);
  return { ...info, image, cached };
}

/** Build the cached fixture image unless it exists; returns its facts. */
export async function ensureFedoraFixture(
  options: Omit<FedoraFixtureOptions, "name"> = {},
): Promise<{ info: FedoraFixtureInfo; cached: boolean }> {
  const r = await ensureFixture(FEDORA_FLAVOUR, fedoraFixtureKey(), options);
  return { info: r.info as FedoraFixtureInfo, cached: r.cached };
}

/**
 * What differs between the fixture flavours (Fedora's BLS + `grub2/`, Debian's
 * hand-written `grub/grub.cfg`); the rest of the build is shared.
 * @internal
 */
export interface FixtureFlavour {
  /** Cached image names start with `<name>-`. */
  readonly name: string;
  /** The Btrfs label and GPT name of the root partition. */
  readonly rootLabel: string;
  /** GRUB's directory on /boot (`grub2` or `grub`). */
  readonly grubDir: string;
  /** The ESP's `EFI/<vendor>/grub.cfg` stub folder. */
  readonly espVendor: string;
  /** Packages installed besides the recipe's (a debootstrap base of their own, cached apart). */
  readonly extraPackages?: readonly string[];
  /** Write /boot's GRUB configuration (and BLS entries) into the mounted target. */
  writeBootConfig(
    target: string,
    ids: FixtureIds,
    kernelVersion: string,
    machineId: string,
  ): Promise<{ blsId?: string }>;
}

const FEDORA_FLAVOUR: FixtureFlavour = {
  name: "fedora",
  rootLabel: "fedora",
  grubDir: "grub2",
  espVendor: "fedora",
  async writeBootConfig(target, ids, kernelVersion, machineId) {
    const blsId = `${machineId}-${kernelVersion}`;
    await mkdir(path.join(target, "boot/loader/entries"), { recursive: true });
    await writeFile(
      path.join(target, "boot/loader/entries", `${blsId}.conf`),
      renderBlsEntry({
        id: blsId,
        title: `Debian GNU/Linux 12 (${kernelVersion}) [Fedora-shaped fixture]`,
        version: kernelVersion,
        linux: `/vmlinuz-${kernelVersion}`,
        initrd: [`/initrd.img-${kernelVersion}`],
        options: kernelOptions(ids),
      }),
    );
    await mkdir(path.join(target, "boot/grub2"), { recursive: true });
    await writeFile(
      path.join(target, "boot/grub2/grub.cfg"),
      grubConfig(ids, FEDORA_FIXTURE_RECIPE.grubTimeoutSeconds),
    );
    await writeFile(path.join(target, "boot/grub2/grubenv"), emptyGrubenv());
    await syncBlsMenu(path.join(target, "boot"), ids.bootUuid);
    return { blsId };
  },
};

/** Facts every flavour's build records (Fedora's add `blsId`). @internal */
export type BuiltFixtureInfo = Omit<FedoraFixtureInfo, "blsId"> & { readonly blsId?: string };

/** Build a flavour's cached image unless it exists. @internal */
export async function ensureFixture(
  flavour: FixtureFlavour,
  key: string,
  options: Omit<FedoraFixtureOptions, "name">,
): Promise<{ info: BuiltFixtureInfo; cached: boolean }> {
  const cacheDir = options.cacheDir ?? FIXTURE_CACHE_DIR;
  const image = fixtureImagePath(flavour.name, key, cacheDir);
  const infoFile = `${image}.json`;
  if (existsSync(image) && existsSync(infoFile)) {
    return {
      info: JSON.parse(await readFile(infoFile, "utf8")) as BuiltFixtureInfo,
      cached: true,
    };
  }
  const info = await buildFixture(flavour, cacheDir, key, image, options.onProgress ?? (() => {}));
  return { info, cached: false };
}

/** Where a flavour's cached image of `key` lives. @internal */
export function fixtureImagePath(
  flavour: string,
  key: string,
  cacheDir = FIXTURE_CACHE_DIR,
): string {
  return path.join(cacheDir, `${flavour}-${key}.img`);
}

async function buildFixture(
  flavour: FixtureFlavour,
  cacheDir: string,
  key: string,
  finalImage: string,
  progress: (line: string) => void,
): Promise<BuiltFixtureInfo> {
  requireRoot();
  requireTools("debootstrap", "sgdisk", "sfdisk", "mkfs.ext4", "mkfs.btrfs", "btrfs", "chroot");
  requireTools("mformat", "mcopy", "losetup", "mount");
  const started = Date.now();
  const step = (line: string) =>
    progress(`[fixture ${key}] ${((Date.now() - started) / 1000).toFixed(0)}s ${line}`);
  const r = FEDORA_FIXTURE_RECIPE;
  await mkdir(path.join(cacheDir, "debs"), { recursive: true });
  const partial = `${finalImage}.partial-${process.pid}`;
  const ids: FixtureIds = {
    espUuid: "",
    bootUuid: randomUUID(),
    btrfsUuid: randomUUID(),
  };
  const espSerial = createHash("sha256").update(ids.bootUuid).digest("hex").slice(0, 8);
  const fullIds: FixtureIds = {
    ...ids,
    espUuid: `${espSerial.slice(0, 4)}-${espSerial.slice(4)}`.toUpperCase(),
  };

  const totalBytes =
    (1 + r.layoutMiB.esp + r.layoutMiB.boot + r.layoutMiB.root + r.layoutMiB.free + 1) * MiB;
  const scratch = await Scratch.create("lifeboat-fixture-");
  try {
    await sh("truncate", ["-s", String(totalBytes), partial]);
    scratch.defer(() => rm(partial, { force: true }));
    await sh("sgdisk", [
      "-n",
      `1:2048:+${r.layoutMiB.esp}M`,
      "-t",
      "1:ef00",
      "-c",
      "1:EFI System Partition",
      "-n",
      `2:0:+${r.layoutMiB.boot}M`,
      "-t",
      "2:8300",
      "-c",
      "2:boot",
      "-n",
      `3:0:+${r.layoutMiB.root}M`,
      "-t",
      "3:8300",
      "-c",
      `3:${flavour.rootLabel}`,
      partial,
    ]);
    const parts = await partitionsOf(partial);
    const [p1, p2, p3] = [1, 2, 3].map((n) => {
      const p = parts.find((x) => x.number === n);
      if (p === undefined) throw new Error(`fixture: partition ${n} missing`);
      return p;
    }) as [(typeof parts)[0], (typeof parts)[0], (typeof parts)[0]];

    step("filesystems");
    const bootDev = await attachLoop(scratch, partial, {
      offset: p2.offsetBytes,
      sizeLimit: p2.sizeBytes,
    });
    const rootDev = await attachLoop(scratch, partial, {
      offset: p3.offsetBytes,
      sizeLimit: p3.sizeBytes,
    });
    await sh("mkfs.ext4", ["-q", "-F", "-U", ids.bootUuid, "-L", "boot", bootDev]);
    await sh("mkfs.btrfs", ["-q", "-f", "-U", ids.btrfsUuid, "-L", flavour.rootLabel, rootDev]);
    const top = scratch.path("top");
    await mountAt(scratch, rootDev, top, "compress=zstd:1");
    await sh("btrfs", ["subvolume", "create", path.join(top, "root")]);
    await sh("btrfs", ["subvolume", "create", path.join(top, "home")]);
    const target = scratch.path("target");
    await mountAt(scratch, rootDev, target, "subvol=root,compress=zstd:1");
    await mountAt(scratch, bootDev, path.join(target, "boot"));
    await mountAt(scratch, rootDev, path.join(target, "home"), "subvol=home,compress=zstd:1");

    const base = await ensureBaseSystem(cacheDir, step, flavour.extraPackages ?? []);
    step("copy the base system in");
    await sh("cp", ["-a", `${base}/.`, target]);
    step("configure");
    await configureSystem(scratch, target, fullIds);
    const kernelVersion = await onlyKernel(target);
    step(`initramfs for ${kernelVersion}`);
    await chroot(target, ["update-initramfs", "-c", "-k", kernelVersion]).catch(async () =>
      chroot(target, ["update-initramfs", "-u", "-k", kernelVersion]),
    );
    const machineId = (await readFile(path.join(target, "etc/machine-id"), "utf8")).trim();
    const { blsId } = await flavour.writeBootConfig(target, fullIds, kernelVersion, machineId);
    await rm(path.join(target, "var/cache/apt/archives"), { recursive: true, force: true });
    await mkdir(path.join(target, "var/cache/apt/archives/partial"), { recursive: true });
    await rm(path.join(target, "var/lib/apt/lists"), { recursive: true, force: true });
    await mkdir(path.join(target, "var/lib/apt/lists/partial"), { recursive: true });
    step("unmount");
    await sh("sync", []);
    await unmountAll(scratch);

    step("ESP with the signed chain (shim, Debian-signed GRUB)");
    // As a Debian system with Secure Boot has it (issue #21): firmware runs the Microsoft-signed
    // shim as the removable-media path, shim runs the Debian-signed GRUB beside it, which reads
    // its prefix EFI/debian/grub.cfg (else grub.cfg beside itself): both find /boot by UUID.
    for (const file of [SIGNED_SHIM, SIGNED_GRUB])
      if (!existsSync(file))
        throw new Error(
          `fixture: ${file} missing (apt-get install shim-signed grub-efi-amd64-signed)`,
        );
    const stub = espStubConfig(fullIds, flavour.grubDir);
    const stubs = [...new Set(["BOOT", "debian", flavour.espVendor])].map((dir) => ({
      target: `EFI/${dir}/grub.cfg`,
      source: { bytes: stub },
    }));
    const esp = await makeFatImage({
      output: scratch.path("esp.img"),
      sizeBytes: Number(p1.sizeBytes),
      label: "ESP",
      serial: espSerial,
      files: [
        { target: "EFI/BOOT/BOOTX64.EFI", source: { file: SIGNED_SHIM } },
        { target: "EFI/BOOT/grubx64.efi", source: { file: SIGNED_GRUB } },
        { target: "EFI/debian/grubx64.efi", source: { file: SIGNED_GRUB } },
        ...stubs,
      ],
    });
    await writeAtOffset(partial, esp.path, p1.offsetBytes);
    const endOfRoot = Number(p3.offsetBytes + p3.sizeBytes);
    const info: BuiltFixtureInfo = {
      key,
      sizeBytes: totalBytes,
      esp: {
        number: 1,
        offsetBytes: Number(p1.offsetBytes),
        sizeBytes: Number(p1.sizeBytes),
        uuid: esp.uuid,
      },
      boot: {
        number: 2,
        offsetBytes: Number(p2.offsetBytes),
        sizeBytes: Number(p2.sizeBytes),
        uuid: ids.bootUuid,
      },
      root: {
        number: 3,
        offsetBytes: endOfRoot - Number(p3.sizeBytes),
        sizeBytes: Number(p3.sizeBytes),
        uuid: ids.btrfsUuid,
      },
      // The backup GPT takes the last 33 sectors.
      freeSpace: { offsetBytes: endOfRoot, sizeBytes: totalBytes - 33 * 512 - endOfRoot },
      kernelVersion,
      kernelOptions: kernelOptions(fullIds),
      ...(blsId === undefined ? {} : { blsId }),
      user: r.user,
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    await writeFile(`${finalImage}.json`, `${JSON.stringify(info, null, 2)}\n`);
    await rename(partial, finalImage);
    await pruneOtherFixtures(cacheDir, flavour.name, finalImage);
    step(`done: ${finalImage}`);
    return info;
  } finally {
    await scratch.cleanup();
  }
}

/** Delete fixture images of other recipes (about 1 GB each) once a new one is built. */
async function pruneOtherFixtures(cacheDir: string, flavour: string, keep: string): Promise<void> {
  const own = new RegExp(`^${flavour}-[0-9a-f]{16}\\.img(\\.json)?$`);
  for (const name of await readdir(cacheDir)) {
    if (!own.test(name)) continue;
    const file = path.join(cacheDir, name);
    if (file !== keep && file !== `${keep}.json`) await rm(file, { force: true });
  }
}

/** The debootstrap result, cached as a directory keyed by suite, mirror and packages. */
async function ensureBaseSystem(
  cacheDir: string,
  step: (line: string) => void,
  extraPackages: readonly string[],
): Promise<string> {
  const r = FEDORA_FIXTURE_RECIPE;
  // The recipe's list alone keeps the key (and the cached base) of the flavours without extras.
  const packages = extraPackages.length === 0 ? r.packages : [...r.packages, ...extraPackages];
  const key = createHash("sha256")
    .update(JSON.stringify([r.suite, r.mirror, packages]))
    .digest("hex")
    .slice(0, 16);
  const dir = path.join(cacheDir, `base-${key}`);
  if (existsSync(path.join(dir, "etc/os-release"))) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  step(`debootstrap ${r.suite} (${packages.join(",")}) into ${dir}`);
  try {
    await sh("debootstrap", [
      "--variant=minbase",
      `--include=${packages.join(",")}`,
      `--cache-dir=${path.join(cacheDir, "debs")}`,
      r.suite,
      partial,
      r.mirror,
    ]);
    await rename(partial, dir);
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

async function mountAt(
  scratch: Scratch,
  device: string,
  target: string,
  options?: string,
  type?: string,
): Promise<void> {
  await mkdir(target, { recursive: true });
  const args = [
    ...(type === undefined ? [] : ["-t", type]),
    ...(options === undefined ? [] : ["-o", options]),
  ];
  await sh("mount", [...args, device, target]);
  mounted.set(scratch, [...(mounted.get(scratch) ?? []), target]);
  scratch.defer(() => unmountIfMounted(target));
}

/** Mounts made by mountAt, innermost last, so they can be undone before the loops are detached. */
const mounted = new WeakMap<Scratch, string[]>();

async function unmountIfMounted(target: string): Promise<void> {
  const mounts = await readFile("/proc/self/mounts", "utf8");
  if (mounts.split("\n").some((l) => l.split(" ")[1] === target)) await unmount(target);
}

async function unmountAll(scratch: Scratch): Promise<void> {
  const list = mounted.get(scratch) ?? [];
  while (list.length > 0) await unmount(list.pop()!);
}

async function chroot(target: string, args: readonly string[]): Promise<string> {
  return sh("chroot", [target, ...args]);
}

async function onlyKernel(target: string): Promise<string> {
  const kernels = (await readdir(path.join(target, "boot"))).filter((n) =>
    n.startsWith("vmlinuz-"),
  );
  if (kernels.length !== 1)
    throw new Error(`fixture: expected one kernel in /boot, found ${kernels.join(", ")}`);
  return kernels[0]!.slice("vmlinuz-".length);
}

async function configureSystem(scratch: Scratch, target: string, ids: FixtureIds): Promise<void> {
  const put = async (rel: string, text: string, mode?: number) => {
    const file = path.join(target, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    if (mode !== undefined) await chmod(file, mode);
  };
  await mkdir(path.join(target, "boot/efi"), { recursive: true });
  await put("etc/fstab", fstab(ids));
  await put("etc/hostname", "lifeboat-fixture\n");
  await put("etc/hosts", "127.0.0.1 localhost\n127.0.1.1 lifeboat-fixture\n");
  await put("usr/local/sbin/lifeboat-marker", MARKER_SCRIPT, 0o755);
  await put("etc/systemd/system/lifeboat-marker.service", MARKER_UNIT);
  await put("etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf", SERIAL_AUTOLOGIN);
  await put("etc/systemd/system.conf.d/lifeboat-slow-machine.conf", SYSTEMD_SLOW_MACHINE);
  await put("etc/initramfs-tools/modules", `${INITRAMFS_MODULES.join("\n")}\n`);
  const conf = path.join(target, "etc/initramfs-tools/initramfs.conf");
  await put(
    "etc/initramfs-tools/initramfs.conf",
    (await readFile(conf, "utf8")).replace(/^MODULES=.*$/m, "MODULES=list"),
  );
  // Chroot needs /proc, /sys and /dev for update-initramfs and useradd.
  await mountAt(scratch, "proc", path.join(target, "proc"), undefined, "proc");
  for (const dir of ["sys", "dev"]) await mountAtBind(scratch, `/${dir}`, path.join(target, dir));
  await chroot(target, ["systemctl", "enable", "lifeboat-marker.service"]);
  await chroot(target, ["passwd", "-d", "root"]);
  const user = FEDORA_FIXTURE_RECIPE.user;
  await chroot(target, ["useradd", "-m", "-u", "1000", "-s", "/bin/sh", user]);
  await put(`home/${user}/Documents/notes.txt`, "factory notes\n");
  await put(`home/${user}/.profile-lifeboat`, "# user settings\n");
  await chroot(target, ["chown", "-R", `${user}:${user}`, `/home/${user}`]);
}

async function mountAtBind(scratch: Scratch, source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await sh("mount", ["--bind", source, target]);
  mounted.set(scratch, [...(mounted.get(scratch) ?? []), target]);
  scratch.defer(() => unmountIfMounted(target));
}
