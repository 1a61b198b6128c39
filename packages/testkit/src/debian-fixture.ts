/**
 * The second fixture flavour: the same real system and disk layout as the
 * Fedora-shaped fixture (ESP, ext4 `/boot`, Btrfs with `root` and `home`,
 * free space at the end), but booted the way a hand-assembled Debian or
 * Ubuntu machine is: Debian's kernel naming (`vmlinuz-<ver>`,
 * `initrd.img-<ver>`), a hand-written `/boot/grub/grub.cfg` with one entry
 * that only sources `custom.cfg` besides, and no `/etc/grub.d`, no
 * `/boot/loader/entries`, no grubenv. What Lifeboat adds to such a system
 * can reach its menu only through `custom.cfg`.
 *
 * Built once and cached beside the Fedora-shaped image
 * (`/var/cache/lifeboat-fixtures/debian-<key>.img`, sharing its debootstrap
 * base); each test gets its own sparse copy.
 *
 * Test tooling: functions throw on failure.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  copyFixture,
  earlyGrubConfig,
  type FixtureIds,
  fstab,
  handWrittenGrubConfig,
  INITRAMFS_MODULES,
  kernelOptions,
  MARKER_SCRIPT,
  MARKER_UNIT,
  SERIAL_AUTOLOGIN,
  SYSTEMD_SLOW_MACHINE,
} from "./_internal/fixture-files.js";
import {
  ensureFixture,
  FEDORA_FIXTURE_RECIPE,
  type FedoraFixtureInfo,
  type FedoraFixtureOptions,
  type FixtureFlavour,
  fixtureImagePath,
} from "./fedora-fixture.js";
import type { Scratch } from "./index.js";

/** What the Debian-flavoured fixture is built from (its hash names the cached image). */
export const DEBIAN_FIXTURE_RECIPE = {
  ...FEDORA_FIXTURE_RECIPE,
  flavour: "debian-hand-written-grub",
  /** Bump when this flavour's builder changes in a way the other fields do not show. */
  flavourBuilder: 1,
} as const;

/** Facts about the built Debian-flavoured image. */
export interface DebianFixtureInfo extends Omit<FedoraFixtureInfo, "blsId"> {
  /** GRUB's directory on /boot: `grub` (its `grub.cfg` and, once written, `custom.cfg`). */
  readonly grubDir: "grub";
}

/** A fresh copy of the Debian-flavoured fixture for one test. */
export interface DebianFixture extends DebianFixtureInfo {
  /** The test's own copy of the disk image (inside its scratch directory). */
  readonly image: string;
  /** Whether the cached image was reused (false: built by this call). */
  readonly cached: boolean;
}

const DEBIAN_FLAVOUR: FixtureFlavour = {
  name: "debian",
  rootLabel: "debian",
  grubDir: "grub",
  espVendor: "debian",
  async writeBootConfig(target, ids, kernelVersion) {
    await mkdir(path.join(target, "boot/grub"), { recursive: true });
    await writeFile(
      path.join(target, "boot/grub/grub.cfg"),
      handWrittenGrubConfig(ids, kernelVersion, DEBIAN_FIXTURE_RECIPE.grubTimeoutSeconds),
    );
    // Nothing of Fedora's: no BLS entries, no grub.d scripts.
    await rm(path.join(target, "boot/loader"), { recursive: true, force: true });
    await rm(path.join(target, "etc/grub.d"), { recursive: true, force: true });
    return {};
  },
};

/** The cache key: a hash of the recipe and of every file the builder writes. */
export function debianFixtureKey(): string {
  const ids: FixtureIds = { espUuid: "E", bootUuid: "B", btrfsUuid: "R" };
  const h = createHash("sha256");
  h.update(JSON.stringify(DEBIAN_FIXTURE_RECIPE));
  for (const part of [
    fstab(ids),
    kernelOptions(ids),
    earlyGrubConfig(ids, DEBIAN_FLAVOUR.grubDir),
    handWrittenGrubConfig(ids, "V", DEBIAN_FIXTURE_RECIPE.grubTimeoutSeconds),
    MARKER_SCRIPT,
    MARKER_UNIT,
    SERIAL_AUTOLOGIN,
    SYSTEMD_SLOW_MACHINE,
    INITRAMFS_MODULES.join(","),
  ])
    h.update(part);
  return h.digest("hex").slice(0, 16);
}

/** Build the cached Debian-flavoured image unless it exists; returns its facts. */
export async function ensureDebianFixture(
  options: Omit<FedoraFixtureOptions, "name"> = {},
): Promise<{ info: DebianFixtureInfo; cached: boolean }> {
  const r = await ensureFixture(DEBIAN_FLAVOUR, debianFixtureKey(), options);
  const { blsId: _none, ...info } = r.info;
  return { info: { ...info, grubDir: "grub" }, cached: r.cached };
}

/**
 * Give the test its own copy of the Debian-flavoured fixture (built and
 * cached first if needed: about two minutes with the debootstrap base
 * already cached).
 *
 * @example
 * ```ts
 * const scratch = await Scratch.create();
 * const fx = await debianFixture(scratch, { onProgress: (l) => console.log(l) });
 * const vm = await boot({ disks: [fx.image], timeoutMs: 300_000, name: "debian" });
 * await vm.waitFor(/LIFEBOAT-MARKER root=(\w+) home=(\w+)/, 280_000);
 * ```
 */
export async function debianFixture(
  scratch: Scratch,
  options: FedoraFixtureOptions = {},
): Promise<DebianFixture> {
  const { info, cached } = await ensureDebianFixture(options);
  const image = scratch.path(options.name ?? "debian.img");
  await copyFixture(fixtureImagePath("debian", info.key, options.cacheDir), image);
  return { ...info, image, cached };
}
