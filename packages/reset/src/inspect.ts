import { open, readdir, readFile, realpath, statfs } from "node:fs/promises";
import path from "node:path";
import * as btrfs from "@lifeboat/btrfs";
import {
  type CommandRunner,
  findMountOf,
  type MountinfoEntry,
  readMountinfo,
} from "@lifeboat/core";
import { ResultAsync } from "neverthrow";
import { effect, must } from "./_internal/await.js";
import { kernelDeviceName } from "./_internal/block-device.js";
import { holdingBtrfs, useBtrfs } from "./_internal/btrfs.js";
import { exists } from "./_internal/fs.js";
import { discoverDisks, type ExplicitDisk, probeExplicitDisks } from "./_internal/probe-disks.js";
import { checkpointFields } from "./checkpoint/list.js";
import type { ResetError } from "./errors.js";
import { keptRootsOf } from "./kept-roots.js";
import { FACTORY_BOOT, FACTORY_MANIFEST, FACTORY_ROOT } from "./layout.js";
import { readFactoryManifest } from "./manifest.js";
import type {
  BtrfsState,
  DiskState,
  FactoryState,
  OtherOs,
  PartitionState,
  RecoveryState,
  RootMount,
  SubvolumeState,
  SystemState,
} from "./state.js";

export type { ExplicitDisk } from "./_internal/probe-disks.js";

/** Options of {@link inspect}. */
export interface InspectOptions {
  /** The Btrfs top level (subvolid=5), mounted (open the LUKS mapping first when encrypted). */
  readonly top?: string;
  /** /boot, mounted. */
  readonly boot?: string;
  /**
   * The disks, described by hand: needed where the kernel does not scan
   * partition tables (loop-backed images in tests). Without it, disks come
   * from `lsblk`.
   */
  readonly disks?: readonly ExplicitDisk[];
  /** The recovery image set, as checked by the caller (`@lifeboat/image`). */
  readonly recovery?: RecoveryState;
  /** True when inspecting the running system (its root is in use). */
  readonly live?: boolean;
  /** Measure subvolume sizes (`btrfs filesystem du`, walks every file). Default true. */
  readonly measureSizes?: boolean;
}

/** Device -> where it is mounted, from the mount table (what findmnt reads too; no program). */
function mountMap(table: readonly MountinfoEntry[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const m of table) map.set(m.source, [...(map.get(m.source) ?? []), m.mountPoint]);
  return map;
}

/**
 * The UUID of an ext2/3/4 filesystem from its superblock (1024 bytes in:
 * magic 0xEF53 at 0x38, UUID at 0x68), as blkid reads it; undefined when the
 * device does not hold one.
 */
async function extUuid(device: string): Promise<string | undefined> {
  const file = await open(device, "r");
  try {
    const sb = Buffer.alloc(0x78);
    const { bytesRead } = await file.read(sb, 0, sb.length, 1024);
    if (bytesRead < sb.length || sb.readUInt16LE(0x38) !== 0xef53) return undefined;
    const hex = sb.subarray(0x68, 0x78).toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  } finally {
    await file.close();
  }
}

/**
 * /boot's device and filesystem UUID: the device from the mount table, the
 * UUID read from an ext2/3/4 superblock (Fedora's /boot), else findmnt.
 */
async function bootMountOf(
  runner: CommandRunner,
  boot: string,
  table: readonly MountinfoEntry[],
): Promise<SystemState["boot"]> {
  const real = await realpath(boot);
  const entry = table.filter((m) => m.mountPoint === real).at(-1);
  if (entry && /^ext[234]$/.test(entry.fstype) && entry.source.startsWith("/dev/")) {
    const fsUuid = await extUuid(entry.source).catch(() => undefined);
    if (fsUuid !== undefined) return { device: entry.source, fsUuid };
  }
  const m = await must(findMountOf(runner, boot));
  return { device: m.device, fsUuid: m.fsUuid };
}

/** The filesystem UUID, devices, subvolumes and default subvolume id: three questions asked together. */
async function btrfsFacts(runner: CommandRunner, top: string) {
  return must(
    useBtrfs(runner, top, (fs) =>
      ResultAsync.combine([fs.filesystem(), fs.listSubvolumes(), fs.defaultSubvolumeId()]),
    ).map(([info, subs, defaultId]) => ({
      uuid: info.uuid,
      devices: info.devices,
      subs,
      defaultId,
    })),
  );
}

async function btrfsState(
  runner: CommandRunner,
  top: string,
  disks: readonly DiskState[],
  measure: boolean,
): Promise<BtrfsState> {
  const [info, space] = await Promise.all([btrfsFacts(runner, top), statfs(top)]);
  const subs = info.subs;
  const subvolumes: SubvolumeState[] = [];
  for (const s of subs) {
    let bytes: number | undefined;
    if (measure) {
      const est = await btrfs.estimateSize(runner, top, s.path);
      bytes = est.isOk() ? est.value.total : undefined;
    }
    subvolumes.push({
      id: s.id,
      path: s.path,
      uuid: s.uuid,
      parentUuid: s.parentUuid,
      readOnly: s.readOnly,
      bytes,
    });
  }
  const device = info.devices[0]?.path ?? "";
  // btrfs may name the mapping /dev/dm-0 where lsblk says /dev/mapper/luks-…: compare kernel names.
  const deviceName = await kernelDeviceName(device);
  let container: PartitionState | undefined;
  for (const p of disks.flatMap((d) => d.partitions))
    if (p.luks?.openAs !== undefined && (await kernelDeviceName(p.luks.openAs)) === deviceName)
      container = p;
  return {
    device,
    fsUuid: info.uuid,
    sizeBytes: info.devices.reduce((sum, d) => sum + d.size, 0),
    // What df shows: Btrfs's own estimate for new data (profiles and reserves counted).
    freeBytes: space.bavail * space.bsize,
    subvolumes,
    defaultSubvolumeId: info.defaultId,
    encryptedOn: container?.device,
  };
}

async function factoryState(top: string, fs: BtrfsState): Promise<FactoryState | undefined> {
  const file = path.join(top, FACTORY_MANIFEST);
  if (!(await exists(file))) return undefined;
  const m = await readFactoryManifest(file);
  if (m.isErr()) return undefined;
  const manifest = m.value;
  const snap = fs.subvolumes.find((s) => s.path === FACTORY_ROOT);
  const boot = fs.subvolumes.find((s) => s.path === FACTORY_BOOT);
  return {
    snapshotPath: FACTORY_ROOT,
    snapshotUuid: manifest.snapshot.uuid,
    bytes: snap?.bytes,
    intact:
      snap?.uuid === manifest.snapshot.uuid &&
      snap.readOnly &&
      boot?.uuid === manifest.boot.uuid &&
      boot.readOnly,
    product: manifest.product,
    build: manifest.build,
    kernelVersions: manifest.boot.kernelVersions,
    bootFiles: manifest.boot.files,
  };
}

/** How the system mounts its root: by name when the BLS entries say `rootflags=subvol=`. */
async function rootMountOf(boot: string | undefined): Promise<RootMount | undefined> {
  if (boot === undefined) return undefined;
  const dir = path.join(boot, "loader/entries");
  if (!(await exists(dir))) return undefined;
  for (const name of await readdir(dir)) {
    const text = await readFile(path.join(dir, name), "utf8");
    const m = /rootflags=(?:\S*,)?subvol=\/?([^\s,]+)/.exec(text);
    if (m?.[1]) return { by: "name", subvolume: m[1] };
  }
  return { by: "default", subvolume: "" };
}

function otherOsesOf(disks: readonly DiskState[]): OtherOs[] {
  const out: OtherOs[] = [];
  for (const d of disks) {
    const win = d.partitions.filter((p) =>
      ["windows-data", "windows-msr", "windows-recovery"].includes(p.role),
    );
    if (win.some((p) => p.role === "windows-data")) {
      const ordered = [...win].sort((a, b) =>
        a.role === "windows-data" ? -1 : b.role === "windows-data" ? 1 : a.number - b.number,
      );
      out.push({
        kind: "windows",
        name: "Windows",
        devices: ordered.map((p) => p.device),
        bytes: ordered.reduce((s, p) => s + p.sizeBytes, 0),
      });
    }
  }
  return out;
}

/**
 * Read a {@link SystemState} from the machine: disks and partitions (GPT),
 * filesystems, LUKS containers, Btrfs subvolumes with sizes, how the root is
 * mounted, the factory snapshot and its manifest, the recovery image set,
 * other operating systems, and what is busy.
 *
 * @example
 * ```ts
 * const state = await inspect(runner, { top: "/mnt/top", boot: "/mnt/boot" });
 * // tests, where the kernel does not scan partition tables:
 * await inspect(runner, { top, boot, disks: [{ device: "disk.img", partitions: [{ number: 3, device: "/dev/loop5" }] }] });
 * ```
 */
export function inspect(
  runner: CommandRunner,
  options: InspectOptions = {},
): ResultAsync<SystemState, ResetError> {
  return holdingBtrfs(runner, options.top, () =>
    effect(async () => {
      const table = await must(readMountinfo());
      // /boot's mount is independent of the rest: started first.
      const bootMount = options.boot ? bootMountOf(runner, options.boot, table) : undefined;
      bootMount?.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
      const mounts = mountMap(table);
      const disks = options.disks
        ? await probeExplicitDisks(runner, options.disks, mounts)
        : await discoverDisks(runner, mounts);
      const fs = options.top
        ? await btrfsState(runner, options.top, disks, options.measureSizes ?? true)
        : undefined;
      const boot = await bootMount;
      const busy =
        fs && options.top
          ? [...(mounts.get(fs.device) ?? [])].filter(
              (t) => t !== options.top && !(options.live && t === "/"),
            )
          : [];
      return {
        disks,
        btrfs: fs,
        boot,
        rootMount: await rootMountOf(options.boot),
        factory: fs && options.top ? await factoryState(options.top, fs) : undefined,
        recovery: options.recovery,
        otherOses: otherOsesOf(disks),
        busy,
        live: options.live ?? false,
        ...(fs && options.top ? await checkpointFields(options.top, fs.subvolumes) : {}),
        ...(fs && options.top ? { keptRoots: await keptRootsOf(options.top, fs.subvolumes) } : {}),
      };
    }, "inspect"),
  );
}
