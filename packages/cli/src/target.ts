import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { mountTopLevel } from "@lifeboat/btrfs";
import { type CommandRunner, type LifeboatError, lifeboatError } from "@lifeboat/core";
import {
  attachPartition,
  type GptTable,
  isRecoveryType,
  LIFEBOAT_RECOVERY_TYPE,
  readGpt,
} from "@lifeboat/gpt";
import { readCurrentImageSet } from "@lifeboat/image";
import type { ExplicitDisk } from "@lifeboat/reset";
import { type LuksKeySource, openEncryptedBtrfs } from "./luks-target.js";

/** Options every command that works on a machine accepts. */
export interface TargetOptions {
  /** A disk image file or a whole-disk block device. */
  readonly disk?: string;
  /** The Btrfs top level, already mounted (instead of `--disk`). */
  readonly top?: string;
  /** /boot, already mounted. */
  readonly boot?: string;
  /** The recovery partition, already mounted. */
  readonly recoveryRoot?: string;
  /** Key file of the LUKS container the Btrfs is in (read only when it must be opened). */
  readonly luksKeyFile?: string;
}

/** A machine opened for a command: mounts and loop devices, released by `close()`. */
export interface OpenedTarget {
  readonly disk: ExplicitDisk | undefined;
  readonly table: GptTable | undefined;
  readonly top: string | undefined;
  readonly boot: string | undefined;
  readonly recoveryRoot: string | undefined;
  /**
   * Partition devices by role: `btrfs` (the opened mapping when it is in
   * LUKS), `luks` (its container), `luksLocked` (a container left locked).
   */
  readonly devices: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

async function blkidType(runner: CommandRunner, device: string): Promise<string | undefined> {
  const r = await runner.run("blkid", ["-p", "-o", "value", "-s", "TYPE", device], {
    okExitCodes: [0, 2],
  });
  return r.isOk() ? r.value.stdout.trim() || undefined : undefined;
}

function partitionDevice(disk: string, n: number): string {
  return `${disk}${/\d$/.test(disk) ? "p" : ""}${n}`;
}

/**
 * Open what a command works on. With `--disk` on an image file each partition
 * is attached as its own loop device at its offset (the kernel need not scan
 * the table); on a block device its partition nodes are used. The Btrfs top
 * level, /boot and the recovery partition are mounted on temporary directories.
 */
export async function openTarget(
  runner: CommandRunner,
  options: TargetOptions,
  needs: {
    readonly mount?: boolean;
    readonly recoveryWritable?: boolean;
    /** How to ask a person for a LUKS key (default: the terminal, if any). */
    readonly askLuksKey?: LuksKeySource["ask"];
  } = {},
): Promise<OpenedTarget> {
  const undo: (() => unknown)[] = [];
  const close = async () => {
    for (const fn of undo.reverse()) {
      try {
        await fn();
      } catch {
        // best effort: keep releasing the rest
      }
    }
    undo.length = 0;
  };
  try {
    let disk: ExplicitDisk | undefined;
    let table: GptTable | undefined;
    const devices: Record<string, string> = {};
    const luks: string[] = [];
    if (options.disk) {
      const read = await readGpt(runner, options.disk);
      if (read.isErr()) throw read.error;
      table = read.value;
      const isImage = (await stat(options.disk)).isFile();
      const parts: { number: number; device: string }[] = [];
      for (const p of table.partitions) {
        let device: string;
        if (isImage) {
          const att = await attachPartition(runner, options.disk, p, {
            sectorSize: table.sectorSize,
          });
          if (att.isErr()) throw att.error;
          device = att.value.device;
          const detach = att.value.detach;
          undo.push(async () => await detach());
        } else device = partitionDevice(options.disk, p.slot);
        parts.push({ number: p.slot, device });
        const fs = await blkidType(runner, device);
        const type = p.typeGuid.toLowerCase();
        if (type === LIFEBOAT_RECOVERY_TYPE) devices.recovery = device;
        else if (isRecoveryType(type)) devices.windowsRecovery = device;
        else if (fs === "btrfs" && !devices.btrfs) devices.btrfs = device;
        else if (fs === "crypto_LUKS") luks.push(device);
        else if (fs === "vfat") devices.esp = device;
        else if ((fs === "ext4" || fs === "xfs") && !devices.boot) devices.boot = device;
      }
      disk = { device: options.disk, partitions: parts };
    }
    let top = options.top;
    let boot = options.boot;
    let recoveryRoot = options.recoveryRoot;
    if (needs.mount !== false && options.disk && !devices.btrfs && !top && luks.length > 0) {
      const found = await openEncryptedBtrfs(
        runner,
        luks,
        {
          ...(options.luksKeyFile ? { keyFile: options.luksKeyFile } : {}),
          ...(needs.askLuksKey ? { ask: needs.askLuksKey } : {}),
        },
        undo,
      );
      if (found?.btrfs) {
        devices.btrfs = found.btrfs;
        devices.luks = found.container;
      } else if (found) devices.luksLocked = found.container;
    }
    if (needs.mount !== false && options.disk) {
      const mountAt = async (device: string, type: string, readOnly: boolean) => {
        const dir = await mkdtemp(path.join(os.tmpdir(), "lifeboat-cli-"));
        undo.push(() => rm(dir, { recursive: true, force: true }));
        const args = ["-t", type, ...(readOnly ? ["-o", "ro"] : []), device, dir];
        const m = await runner.run("mount", args);
        if (m.isErr()) throw m.error;
        undo.push(async () => await runner.run("umount", [dir]));
        return dir;
      };
      if (!top && devices.btrfs) {
        const m = await mountTopLevel(runner, devices.btrfs);
        if (m.isErr()) throw m.error;
        const unmount = m.value.unmount;
        undo.push(async () => await unmount());
        top = m.value.path;
      }
      if (!boot && devices.boot) boot = await mountAt(devices.boot, "auto", false);
      if (!recoveryRoot && devices.recovery) {
        const fs = await blkidType(runner, devices.recovery);
        if (fs) recoveryRoot = await mountAt(devices.recovery, fs, !needs.recoveryWritable);
      }
    }
    return { disk, table, top, boot, recoveryRoot, devices, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The directory of the current recovery image set on a mounted recovery partition, if any. */
export async function currentSetDir(recoveryRoot: string | undefined): Promise<string | undefined> {
  if (!recoveryRoot) return undefined;
  const r = await readCurrentImageSet(recoveryRoot);
  return r.isOk() ? r.value.dir : undefined;
}

/** Turn anything thrown while opening a target into a Lifeboat error. */
export function asLifeboatError(e: unknown): LifeboatError {
  if (e && typeof e === "object" && "code" in e && "message" in e) return e as LifeboatError;
  return lifeboatError("CLI_FAILED", e instanceof Error ? e.message : String(e), {});
}

/** Run `body` with an opened target, always closing it. Errors become Lifeboat errors. */
export async function withTarget<T>(
  runner: CommandRunner,
  options: TargetOptions,
  needs: Parameters<typeof openTarget>[2],
  body: (t: OpenedTarget) => Promise<T>,
): Promise<T> {
  const t = await openTarget(runner, options, needs);
  try {
    return await body(t);
  } finally {
    await t.close();
  }
}
