import { mkdir, readdir, readFile, realpath, rm, rmdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  acquireLock,
  type CommandRunner,
  type HeldFileLock,
  lockFile,
  readMountinfo,
} from "@lifeboat/core";
import { attachPartition, type GptTable, readGpt } from "@lifeboat/gpt";
import type { ResultAsync } from "neverthrow";
import { effect, fail, must } from "../_internal/await.js";
import { type ExplicitDisk, roleOf } from "../_internal/probe-disks.js";
import type { DiskInUseError, NotADiskError, ResetError } from "../errors.js";
import {
  blkidType,
  exists,
  loopBackingFile,
  loopsOf,
  mountsOfDevice,
  partitionNode,
} from "./devices.js";
import { type LuksKeySource, openEncryptedBtrfs } from "./luks.js";

/** Where {@link openMachine} keeps a disk's mounts unless told otherwise. */
export const DEFAULT_RUN_DIRECTORY = "/run/lifeboat";

/** Options of {@link openMachine}. */
export interface OpenMachineOptions {
  /** A disk image file or a whole-disk block device (`/dev/nvme0n1`, `/dev/loop3`). */
  readonly disk?: string;
  /** The Btrfs top level (subvolid=5), mounted already (instead of mounting it from `disk`). */
  readonly top?: string;
  /** /boot, mounted already. */
  readonly boot?: string;
  /** The recovery partition, mounted already. */
  readonly recoveryRoot?: string;
  /** Mount the filesystems (default `true`); `false` only reads the partition table and roles. */
  readonly mount?: boolean;
  /** Mount the recovery partition writable (default read-only). */
  readonly recoveryWritable?: boolean;
  /** The key of an encrypted Btrfs (a key file, or a callback asking a person). */
  readonly luks?: LuksKeySource;
  /**
   * Parent of the per-disk run-time directories (default `/run/lifeboat`): a
   * disk's filesystems are mounted at `<runDirectory>/disks/<disk GUID>/{top,boot,recovery}`.
   */
  readonly runDirectory?: string;
}

/** The roles {@link Machine.devices} names. */
export type MachineDeviceRole =
  | "btrfs"
  | "boot"
  | "esp"
  | "recovery"
  | "windowsRecovery"
  | "luks"
  | "luksLocked";

/** A machine opened by {@link openMachine}: its disk locked, attached and mounted until `close()`. */
export interface Machine {
  /** The disk and a block device per partition (absent when only `top` was given). */
  readonly disk: ExplicitDisk | undefined;
  readonly table: GptTable | undefined;
  /** The disk's GPT GUID (lower case): the key of its run-time directory. */
  readonly diskGuid: string | undefined;
  /** The Btrfs top level, mounted. */
  readonly top: string | undefined;
  /** /boot, mounted. */
  readonly boot: string | undefined;
  /** The recovery partition, mounted (read-only unless `recoveryWritable`). */
  readonly recoveryRoot: string | undefined;
  /**
   * Block devices by role: `btrfs` (the opened mapping when it is in LUKS),
   * `luks` (its container), `luksLocked` (a container left locked), `boot`,
   * `esp`, `recovery`, `windowsRecovery`.
   */
  readonly devices: Readonly<Partial<Record<MachineDeviceRole, string>>>;
  /** The directory the mounts are under, when the machine was opened from a disk. */
  readonly runDirectory: string | undefined;
  /** Unmount, close, detach and unlock, in reverse order. Safe to call twice. */
  close(): Promise<void>;
}

/** What an opener records of what it attached, so that the next opener can clear it after a crash. */
interface Attachments {
  pid: number;
  disk: string;
  loops: string[];
  mappings: string[];
  /** Mount points, recorded before each mount is made. */
  mounts: string[];
  /** The partition loop device being attached, recorded before `losetup` runs (its name is known only after). */
  attaching?: { offsetBytes: number; sizeBytes: number } | undefined;
}

const RECORD = "attached.json";

function inUse(disk: string, users: string[]): DiskInUseError {
  return {
    code: "RESET_DISK_IN_USE",
    message: `${disk} is in use outside Lifeboat (${users.join("; ")}); unmount or detach it first. Nothing was changed.`,
    disk,
    users,
  };
}

function notADisk(disk: string): NotADiskError {
  return {
    code: "RESET_NOT_A_DISK",
    message: `${disk} is neither a disk image file nor a whole-disk block device.`,
    disk,
  };
}

/**
 * Open a disk image or a block device as a machine a plan can run on.
 *
 * Before anything is attached it takes an exclusive lock on the disk itself
 * (`flock(2)` on the image file or the device node, and on the file behind a
 * loop device), so a second process handed the same disk, by whatever path,
 * gets `LOCK_HELD` and never mounts the disk a second time. A disk attached
 * or mounted by anything else gives `RESET_DISK_IN_USE`; what an earlier
 * Lifeboat process left behind when it was killed (its mounts under the
 * run-time directory and its loop devices) is cleared first.
 *
 * Each partition gets a block device (on a kernel that does not scan the
 * table, a loop device at the partition's offset); roles come from the GPT
 * type and `blkid`; an encrypted Btrfs is unlocked with `luks`; the Btrfs top
 * level, /boot and the recovery partition are mounted at fixed paths under
 * `<runDirectory>/disks/<disk GUID>/`. Plans name things by identity, never by
 * these paths, so any process that opens the machine can apply and resume them.
 *
 * Clean-up: an error while opening releases what was attached already; `close()`
 * releases everything. On SIGINT/SIGTERM, abort the work you run on the machine
 * (its `signal`) and call `close()` when it stopped, as the CLI does: a library
 * does not take over a process's signals. A process that dies without closing
 * (SIGKILL, power loss) loses the disk lock with its life, and the next
 * `openMachine` of the disk clears the mounts, mappings and loop devices it had
 * recorded.
 *
 * @example
 * ```ts
 * const m = await openMachine(runner, { disk: "/dev/nvme0n1" });
 * if (m.isErr()) return console.error(formatError(m.error));
 * try {
 *   const state = await inspect(runner, { top: m.value.top, boot: m.value.boot, disks: [m.value.disk] });
 * } finally {
 *   await m.value.close();
 * }
 * ```
 */
export function openMachine(
  runner: CommandRunner,
  options: OpenMachineOptions,
): ResultAsync<Machine, ResetError> {
  const undo: (() => unknown)[] = [];
  const close = async () => {
    for (const fn of undo.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // best effort: keep releasing the rest
      }
    }
  };
  return effect(async () => {
    try {
      return await open(runner, options, undo, close);
    } catch (e) {
      await close();
      throw e;
    }
  }, "open the machine");
}

async function open(
  runner: CommandRunner,
  options: OpenMachineOptions,
  undo: (() => unknown)[],
  close: () => Promise<void>,
): Promise<Machine> {
  const devices: Partial<Record<MachineDeviceRole, string>> = {};
  const mount = options.mount !== false;
  if (options.disk === undefined) {
    return {
      disk: undefined,
      table: undefined,
      diskGuid: undefined,
      top: options.top,
      boot: options.boot,
      recoveryRoot: options.recoveryRoot,
      devices,
      runDirectory: undefined,
      close,
    };
  }
  const disk = options.disk;
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(disk);
  } catch {
    fail(notADisk(disk));
  }
  if (!st.isFile() && !st.isBlockDevice()) fail(notADisk(disk));
  const isImage = st.isFile();

  // 1. The locks, before anything is attached: the disk itself, the file behind a loop device.
  const locks: HeldFileLock[] = [];
  undo.push(async () => {
    for (const l of locks.reverse()) await l.release();
  });
  locks.push(await must(lockFile(runner, disk)));
  const backing = isImage ? undefined : await loopBackingFile(disk);
  if (backing !== undefined) locks.push(await must(lockFile(runner, backing)));

  const table = await must(readGpt(runner, disk));
  const diskGuid = table.diskGuid.toLowerCase();
  // The record of what is attached, and the lock that lets one opener at a time use it,
  // live in one place per disk GUID whatever `runDirectory` is: two disks with one GUID
  // (copies of one image) are opened one at a time, and any opener finds what a killed
  // one left, wherever that one mounted.
  const stateDirectory = path.join(DEFAULT_RUN_DIRECTORY, "disks", diskGuid);
  const runDirectory = path.join(options.runDirectory ?? DEFAULT_RUN_DIRECTORY, "disks", diskGuid);
  await mkdir(stateDirectory, { recursive: true, mode: 0o700 });
  await mkdir(runDirectory, { recursive: true, mode: 0o700 });
  // Last of all (after the owner lock is released): the directories, when nothing else is in them.
  undo.push(async () => {
    for (const dir of new Set([runDirectory, stateDirectory])) await rmdir(dir).catch(() => {});
  });
  const owner = await must(acquireLock(path.join(stateDirectory, "owner.lock")));
  undo.push(async () => await owner.release());

  const recordFile = path.join(stateDirectory, RECORD);
  await clearLeftovers(runner, disk, isImage, table, [stateDirectory, runDirectory], recordFile);

  const record: Attachments = { pid: process.pid, disk, loops: [], mappings: [], mounts: [] };
  const save = () => writeFile(recordFile, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await save();
  undo.push(() => rm(recordFile, { force: true }));

  // 2. A block device per partition, and its role.
  const parts: { number: number; device: string }[] = [];
  const luks: string[] = [];
  for (const p of table.partitions) {
    let device = partitionNode(disk, p.slot);
    if (isImage || !(await exists(device))) {
      const sector = BigInt(table.sectorSize);
      record.attaching = {
        offsetBytes: Number(p.firstLba * sector),
        sizeBytes: Number((p.lastLba - p.firstLba + 1n) * sector),
      };
      await save();
      const att = await must(attachPartition(runner, disk, p, { sectorSize: table.sectorSize }));
      device = att.device;
      record.loops.push(device);
      record.attaching = undefined;
      await save();
      const detach = att.detach;
      undo.push(async () => await detach());
    }
    parts.push({ number: p.slot, device });
    const fs = await blkidType(runner, device);
    const role = roleOf(p.typeGuid, fs);
    if (role === "recovery") devices.recovery = device;
    else if (role === "windows-recovery") devices.windowsRecovery = device;
    else if (role === "btrfs" && !devices.btrfs) devices.btrfs = device;
    else if (role === "luks") luks.push(device);
    else if (role === "esp" || fs === "vfat") devices.esp ??= device;
    else if ((fs === "ext4" || fs === "xfs") && !devices.boot) devices.boot = device;
  }

  // 3. An encrypted Btrfs, unlocked only when there is no plain one and something will be mounted.
  if (mount && !devices.btrfs && !options.top && luks.length > 0) {
    const found = await openEncryptedBtrfs(runner, luks, options.luks ?? {}, undo);
    if (found?.btrfs) {
      devices.btrfs = found.btrfs;
      devices.luks = found.container;
      record.mappings.push(found.btrfs);
      await save();
    } else if (found) devices.luksLocked = found.container;
  }

  // 4. The mounts, at fixed paths keyed by the disk's GUID.
  let { top, boot, recoveryRoot } = options;
  if (mount) {
    const mountAt = async (name: string, device: string, args: string[]) => {
      const dir = path.join(runDirectory, name);
      await mkdir(dir, { recursive: true });
      record.mounts.push(dir);
      await save();
      undo.push(() => rmdir(dir).catch(() => {}));
      await must(runner.run("mount", [...args, device, dir]));
      undo.push(async () => await runner.run("umount", [dir]));
      return dir;
    };
    if (!top && devices.btrfs)
      top = await mountAt("top", devices.btrfs, ["-t", "btrfs", "-o", "subvolid=5"]);
    if (!boot && devices.boot) boot = await mountAt("boot", devices.boot, ["-t", "auto"]);
    if (!recoveryRoot && devices.recovery) {
      const fs = await blkidType(runner, devices.recovery);
      if (fs)
        recoveryRoot = await mountAt("recovery", devices.recovery, [
          "-t",
          fs,
          ...(options.recoveryWritable ? [] : ["-o", "ro"]),
        ]);
    }
  }
  return {
    disk: { device: disk, partitions: parts },
    table,
    diskGuid,
    top,
    boot,
    recoveryRoot,
    devices,
    runDirectory,
    close,
  };
}

/**
 * Clear what a killed Lifeboat process left of this disk (its mounts under
 * the run-time directory, its LUKS mappings and loop devices), then refuse
 * when anything else still uses the disk. Only called with the disk's lock
 * held, so no live Lifeboat process owns any of it.
 */
async function clearLeftovers(
  runner: CommandRunner,
  disk: string,
  isImage: boolean,
  table: GptTable,
  directories: readonly string[],
  recordFile: string,
): Promise<void> {
  let record: Partial<Attachments> = {};
  try {
    record = JSON.parse(await readFile(recordFile, "utf8")) as Attachments;
  } catch {
    record = {};
  }
  const mounts = await must(readMountinfo());
  const recordedMounts = new Set(record.mounts ?? []);
  const ours = mounts
    .filter(
      (m) =>
        recordedMounts.has(m.mountPoint) ||
        directories.some((d) => m.mountPoint.startsWith(`${d}/`)),
    )
    .map((m) => m.mountPoint)
    .reverse();
  for (const dir of ours) {
    const r = await runner.run("umount", [dir]);
    if (r.isErr()) fail(inUse(disk, [`${dir} (left mounted by an earlier run) is busy`]));
  }
  for (const mapping of record.mappings ?? [])
    await runner.run("cryptsetup", ["close", mapping], { okExitCodes: [0, 4] });
  const after = await must(readMountinfo());
  const users: string[] = [];
  for (const loop of await loopsOf(runner, disk)) {
    const mountedAt = await mountsOfDevice(loop.device, after);
    const attaching = record.attaching;
    const killedRunAttached =
      (record.loops ?? []).includes(loop.device) ||
      (attaching !== undefined &&
        attaching.offsetBytes === loop.offsetBytes &&
        attaching.sizeBytes === loop.sizeLimitBytes);
    if (mountedAt.length === 0 && killedRunAttached) {
      // A killed run's (recorded, or the one it was attaching when it died): detach it.
      await runner.run("losetup", ["--detach", loop.device]);
      continue;
    }
    // Anyone else's loop device over these bytes, mounted or not, can write them through a
    // cache of its own: a second one would corrupt the disk.
    users.push(
      `${loop.device} attached${mountedAt.length ? `, mounted at ${mountedAt.join(", ")}` : " (not by Lifeboat)"}`,
    );
  }
  if (!isImage) {
    // The kernel's own partition nodes: a second mount of one of them shares the
    // filesystem's superblock (unlike a second loop device over the same bytes), so a
    // read-only mount elsewhere (the recovery environment's of the recovery partition)
    // is harmless; a writable one means someone else is using the disk.
    const nodes = [disk, ...table.partitions.map((p) => partitionNode(disk, p.slot))];
    for (const node of nodes) {
      const at = await mountsOfDevice(node, after, { writableOnly: true });
      if (at.length) users.push(`${node} mounted writable at ${at.join(", ")}`);
    }
    const real = path.basename(await realpath(disk));
    const holders = await listDir(`/sys/class/block/${real}/holders`);
    for (const h of holders) users.push(`held by ${h}`);
  }
  if (users.length) fail(inUse(disk, users));
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
