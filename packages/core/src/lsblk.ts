import { err, ok, type Result, ResultAsync } from "neverthrow";
import { z } from "zod";
import {
  looseBoolean,
  looseNumber,
  looseString,
  parseFailed,
  parseJsonInput,
  zodIssues,
} from "./_internal/zod-fields.js";
import { parseBlkidExport, withProbe } from "./blkid.js";
import type { CommandError, ParseFailedError } from "./errors.js";
import type { CommandRunner } from "./runner.js";

/**
 * A block device as `lsblk -J -b -O` reports it: a disk, a partition, a loop
 * device, a LUKS mapping (`crypt`), ... with its filesystem and its children.
 * Every field is present; the ones the device (or this util-linux) does not
 * have are `undefined`.
 */
export interface BlockDevice {
  /** Device node, e.g. `/dev/nvme0n1p3`. */
  readonly path: string;
  /** Name as lsblk shows it (`nvme0n1p3`, `luks-1b2c…`). */
  readonly name: string;
  /** Kernel name (`nvme0n1p3`, `dm-0`). */
  readonly kname: string;
  /** `disk`, `part`, `loop`, `crypt`, `lvm`, `rom`, ... */
  readonly type: string;
  /** Size in bytes. */
  readonly size: number;
  /** `major:minor`. */
  readonly majMin: string | undefined;
  /** Read-only device. */
  readonly readOnly: boolean;
  /** Removable device. */
  readonly removable: boolean;
  /** Logical sector size in bytes (512 or 4096). */
  readonly logicalSectorSize: number | undefined;
  /** Physical sector size in bytes. */
  readonly physicalSectorSize: number | undefined;
  /** Kernel name of the parent device (`nvme0n1` for `nvme0n1p3`). */
  readonly parentKname: string | undefined;
  /** Partition table type on this device (`gpt`, `dos`). */
  readonly partitionTableType: string | undefined;
  /** Partition table UUID (the GPT disk GUID), lower case. */
  readonly partitionTableUuid: string | undefined;
  /** Partition type GUID (or MBR type like `0x83`), lower case. */
  readonly partitionTypeGuid: string | undefined;
  /** Human name of the partition type (`EFI System`), when lsblk knows it. */
  readonly partitionTypeName: string | undefined;
  /** PARTUUID, lower case. */
  readonly partUuid: string | undefined;
  /** GPT partition name (PARTLABEL). */
  readonly partLabel: string | undefined;
  /**
   * Partition number. util-linux 2.39+ reports it (`partn`); for older ones it
   * is taken from the trailing digits of the kernel name of a `part`.
   */
  readonly partNumber: number | undefined;
  /** First sector of the partition, in 512-byte units. */
  readonly startSector: number | undefined;
  /** Filesystem (or container) type: `btrfs`, `vfat`, `crypto_LUKS`, `swap`, ... */
  readonly fsType: string | undefined;
  /** Filesystem version (`1`, `2` for LUKS2, `FAT32`). */
  readonly fsVersion: string | undefined;
  /** Filesystem UUID (case kept as reported: FAT serials are upper case). */
  readonly fsUuid: string | undefined;
  /** Filesystem label. */
  readonly label: string | undefined;
  /** Filesystem size in bytes, only when mounted. */
  readonly fsSize: number | undefined;
  /** Free bytes, only when mounted. */
  readonly fsAvailable: number | undefined;
  /** Used bytes, only when mounted. */
  readonly fsUsed: number | undefined;
  /** Every place the filesystem is mounted (btrfs subvolumes give several). */
  readonly mountpoints: readonly string[];
  readonly model: string | undefined;
  readonly serial: string | undefined;
  /** Devices stacked on this one: partitions, and holders such as a LUKS mapping. */
  readonly children: readonly BlockDevice[];
  /**
   * Paths of the children that are not partitions: the device-mapper devices
   * (LUKS `crypt`, `lvm`, `raid`) that hold this device open.
   */
  readonly holders: readonly string[];
}

const rawDeviceSchema = z.object({
  name: z.string(),
  kname: looseString,
  path: looseString,
  type: looseString,
  size: looseNumber,
  "maj:min": looseString,
  ro: looseBoolean,
  rm: looseBoolean,
  "log-sec": looseNumber,
  "phy-sec": looseNumber,
  pkname: looseString,
  pttype: looseString,
  ptuuid: looseString,
  parttype: looseString,
  parttypename: looseString,
  partuuid: looseString,
  partlabel: looseString,
  partn: looseNumber,
  start: looseNumber,
  fstype: looseString,
  fsver: looseString,
  uuid: looseString,
  label: looseString,
  fssize: looseNumber,
  fsavail: looseNumber,
  fsused: looseNumber,
  mountpoint: looseString,
  mountpoints: z.array(z.string().nullable()).nullish(),
  model: looseString,
  serial: looseString,
  children: z.array(z.unknown()).nullish(),
});

const topSchema = z.object({ blockdevices: z.array(z.unknown()) });

const lower = (s: string | undefined): string | undefined => s?.toLowerCase();

function toDevice(raw: unknown, where: string): Result<BlockDevice, string[]> {
  const parsed = rawDeviceSchema.safeParse(raw);
  if (!parsed.success) return err(zodIssues(parsed.error).map((i) => `${where}.${i}`));
  const d = parsed.data;
  const children: BlockDevice[] = [];
  for (const [i, c] of (d.children ?? []).entries()) {
    const child = toDevice(c, `${where}.children.${i}`);
    if (child.isErr()) return err(child.error);
    children.push(child.value);
  }
  const kname = d.kname ?? d.name;
  const type = d.type ?? "unknown";
  const fromName = type === "part" ? /(\d+)$/.exec(kname)?.[1] : undefined;
  const mountpoints = (d.mountpoints ?? [d.mountpoint ?? null]).filter(
    (m): m is string => typeof m === "string" && m.length > 0,
  );
  return ok({
    path: d.path ?? `/dev/${d.name}`,
    name: d.name,
    kname,
    type,
    size: d.size ?? 0,
    majMin: d["maj:min"],
    readOnly: d.ro ?? false,
    removable: d.rm ?? false,
    logicalSectorSize: d["log-sec"],
    physicalSectorSize: d["phy-sec"],
    parentKname: d.pkname,
    partitionTableType: d.pttype,
    partitionTableUuid: lower(d.ptuuid),
    partitionTypeGuid: lower(d.parttype),
    partitionTypeName: d.parttypename,
    partUuid: lower(d.partuuid),
    partLabel: d.partlabel,
    partNumber: d.partn ?? (fromName === undefined ? undefined : Number(fromName)),
    startSector: d.start,
    fsType: d.fstype,
    fsVersion: d.fsver,
    fsUuid: d.uuid,
    label: d.label,
    fsSize: d.fssize,
    fsAvailable: d.fsavail,
    fsUsed: d.fsused,
    mountpoints,
    model: d.model,
    serial: d.serial,
    children,
    holders: children.filter((c) => c.type !== "part").map((c) => c.path),
  });
}

/**
 * Parse the JSON of `lsblk -J -b -O` (text or already parsed) into a tree of
 * {@link BlockDevice}s. Pure. Tolerates fields that older (2.38) or newer
 * util-linux versions lack or add, and numbers printed as strings.
 *
 * @example
 * ```ts
 * const devices = parseLsblk(stdout);
 * if (devices.isOk()) for (const d of devices.value) console.log(d.path, d.size);
 * ```
 */
export function parseLsblk(json: string | unknown): Result<BlockDevice[], ParseFailedError> {
  const source = "lsblk -J";
  const input = parseJsonInput(json, source);
  if (!input.ok) return err(input.error);
  const top = topSchema.safeParse(input.value);
  if (!top.success) return err(parseFailed(source, zodIssues(top.error)));
  const devices: BlockDevice[] = [];
  for (const [i, raw] of top.data.blockdevices.entries()) {
    const device = toDevice(raw, `blockdevices.${i}`);
    if (device.isErr()) return err(parseFailed(source, device.error));
    devices.push(device.value);
  }
  return ok(devices);
}

/** Options for {@link listBlockDevices}. */
export interface ListBlockDevicesOptions {
  /** Only this device (and its children), e.g. `/dev/loop3`. */
  readonly device?: string | undefined;
  /**
   * Probe with `blkid -p` the devices whose filesystem lsblk could not name
   * (default true). lsblk takes filesystem type, UUID and label from the udev
   * database; where there is none (a recovery initramfs, a container) they
   * would be missing. Devices that cannot be read are left as lsblk gave them.
   */
  readonly probeMissing?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * List block devices (disks with their partitions, filesystems, mount points
 * and holders) by running `lsblk -J -b -O`.
 *
 * @example
 * ```ts
 * const r = await listBlockDevices(createExecaRunner(), { device: "/dev/nvme0n1" });
 * if (r.isOk()) console.log(r.value[0]?.children.map((p) => p.partitionTypeGuid));
 * ```
 */
export function listBlockDevices(
  runner: CommandRunner,
  options: ListBlockDevicesOptions = {},
): ResultAsync<BlockDevice[], CommandError | ParseFailedError> {
  const args = ["-J", "-b", "-O", ...(options.device === undefined ? [] : [options.device])];
  const runOptions = options.signal === undefined ? {} : { signal: options.signal };
  const listed = runner.run("lsblk", args, runOptions).andThen((r) => parseLsblk(r.stdout));
  if (options.probeMissing === false) return listed;
  const probe = (device: BlockDevice): Promise<BlockDevice> =>
    (async () => {
      const children = await Promise.all(device.children.map(probe));
      const base = { ...device, children };
      if (base.fsType !== undefined || children.length > 0 || base.size === 0) return base;
      // Exit code 2: nothing found. Any other failure (EPERM): keep what lsblk said.
      const r = await runner.run("blkid", ["-p", "-o", "export", "--", base.path], {
        ...runOptions,
        okExitCodes: [2],
      });
      return r.isOk() ? withProbe(base, parseBlkidExport(r.value.stdout)) : base;
    })();
  return listed.andThen((devices) => ResultAsync.fromSafePromise(Promise.all(devices.map(probe))));
}

/**
 * Every device of a tree, parents before children (depth first).
 *
 * @example
 * ```ts
 * const parts = flattenBlockDevices(devices).filter((d) => d.type === "part");
 * ```
 */
export function flattenBlockDevices(devices: readonly BlockDevice[]): BlockDevice[] {
  return devices.flatMap((d) => [d, ...flattenBlockDevices(d.children)]);
}
