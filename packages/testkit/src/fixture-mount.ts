/**
 * Open a fixture image from the host between boots: its /boot (ext4) and the
 * top level of its Btrfs (subvolumes `root` and `home` inside) mounted on
 * loop devices at the partitions' offsets, released before QEMU runs again.
 *
 * Test tooling: functions throw on failure.
 *
 * @module
 */
import { mkdtemp, rmdir } from "node:fs/promises";
import path from "node:path";
import { MARKER_SCRIPT } from "./_internal/fixture-files.js";
import type { FedoraFixtureInfo } from "./fedora-fixture.js";
import { requireRoot, type Scratch, sh, unmount } from "./index.js";

/** A fixture's filesystems mounted on the host. */
export interface MountedFixture {
  /** The /boot filesystem (BLS entries in `loader/entries`, `grub2/grub.cfg`). */
  readonly boot: string;
  /** The Btrfs top level: `<btrfsTop>/root` is `/`, `<btrfsTop>/home` is `/home`. */
  readonly btrfsTop: string;
  /** Sync, unmount and detach (idempotent; also done at scratch clean-up). */
  release(): Promise<void>;
}

/**
 * Mount a fixture copy's /boot and Btrfs top level. Call `release()` before
 * booting the image.
 *
 * @example
 * ```ts
 * const m = await mountFixture(scratch, fx.image, fx);
 * await writeFile(path.join(m.btrfsTop, "home/user/new.txt"), "hello");
 * await m.release();
 * ```
 */
export async function mountFixture(
  scratch: Scratch,
  image: string,
  info: Pick<FedoraFixtureInfo, "boot" | "root">,
): Promise<MountedFixture> {
  requireRoot();
  const loops: string[] = [];
  const mounts: string[] = [];
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await sh("sync", []);
    while (mounts.length > 0) {
      const m = mounts.pop()!;
      await unmount(m);
      await rmdir(m).catch(() => {});
    }
    while (loops.length > 0) await sh("losetup", ["-d", loops.pop()!]);
  };
  scratch.defer(release);
  const attach = async (p: { offsetBytes: number; sizeBytes: number }) => {
    const dev = (
      await sh("losetup", [
        "--find",
        "--show",
        "--offset",
        String(p.offsetBytes),
        "--sizelimit",
        String(p.sizeBytes),
        image,
      ])
    ).trim();
    loops.push(dev);
    return dev;
  };
  const mountOn = async (dev: string, type: string) => {
    const dir = await mkdtemp(path.join(scratch.dir, `mnt-${type}-`));
    await sh("mount", ["-t", type, dev, dir]);
    mounts.push(dir);
    return dir;
  };
  try {
    const boot = await mountOn(await attach(info.boot), "ext4");
    const btrfsTop = await mountOn(await attach(info.root), "btrfs");
    return { boot, btrfsTop, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/**
 * The marker's fingerprints computed on the host over a mounted fixture,
 * with the very shell function the guest's marker unit runs: compare with
 * `LIFEBOAT-MARKER root=<hex> home=<hex>` from a boot.
 *
 * @example
 * ```ts
 * const { root, home } = await fixtureFingerprints(m);
 * ```
 */
export async function fixtureFingerprints(
  mounted: Pick<MountedFixture, "btrfsTop">,
  subvolumes: { root?: string; home?: string } = {},
): Promise<{ root: string; home: string }> {
  const fn = /\nfingerprint\(\) \{\n[\s\S]*?\n\}\n/.exec(MARKER_SCRIPT)?.[0];
  if (fn === undefined) throw new Error("marker script has no fingerprint function");
  const run = (dir: string, ...paths: string[]) =>
    sh("sh", [
      "-c",
      `export LC_ALL=C\n${fn}\ncd "$1" && shift && fingerprint "$@"`,
      "sh",
      dir,
      ...paths,
    ]);
  const root = await run(path.join(mounted.btrfsTop, subvolumes.root ?? "root"), "etc", "usr/bin");
  const home = await run(path.join(mounted.btrfsTop, subvolumes.home ?? "home"), ".");
  return { root: root.trim(), home: home.trim() };
}
