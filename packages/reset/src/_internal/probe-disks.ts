import { type CommandRunner, listBlockDevices, parseBlkidExport } from "@lifeboat/core";
import { lookupPartitionType } from "@lifeboat/gpt";
import type { DiskState, LuksInfo, PartitionRole, PartitionState } from "../state.js";
import { must } from "./await.js";

/** A disk described by hand: its image file or device, and a device per partition. */
export interface ExplicitDisk {
  /** The whole disk (`/dev/nvme0n1`) or a disk image file: its GPT is read from here. */
  readonly device: string;
  /** A block device for each partition (on this kernel: loop devices at each partition's offset). */
  readonly partitions: readonly { readonly number: number; readonly device: string }[];
}

/** The role of a partition from its type GUID and what is on it. */
export function roleOf(typeGuid: string, fsType: string | undefined): PartitionRole {
  // One table of type GUIDs: @lifeboat/gpt's (which also looks up its keys:
  // only a GUID counts here).
  const type = lookupPartitionType(typeGuid);
  const key = type?.guid === typeGuid.toLowerCase() ? type.key : undefined;
  if (key === "esp") return "esp";
  if (key === "microsoft-reserved") return "windows-msr";
  if (key === "windows-recovery") return "windows-recovery";
  if (key === "lifeboat-recovery") return "recovery";
  if (key === "swap" || fsType === "swap") return "swap";
  if (fsType === "crypto_LUKS") return "luks";
  if (fsType === "btrfs") return "btrfs";
  if (key === "microsoft-basic-data")
    return fsType === "ntfs" || fsType === undefined ? "windows-data" : "linux-data";
  if (key === "xbootldr") return "boot";
  if (fsType === "ext4" || fsType === "xfs" || fsType === "ext3" || fsType === "ext2")
    return "linux-data";
  return "other";
}

async function probe(runner: CommandRunner, device: string): Promise<Record<string, string>> {
  const r = await runner.run("blkid", ["-p", "-o", "export", "--", device], { okExitCodes: [2] });
  return r.isOk() ? parseBlkidExport(r.value.stdout) : {};
}

async function luksOf(runner: CommandRunner, device: string): Promise<LuksInfo | undefined> {
  const is = await runner.run("cryptsetup", ["isLuks", device]);
  if (is.isErr()) return undefined;
  const dump = await runner.run("cryptsetup", ["luksDump", device]);
  const text = dump.isOk() ? dump.value.stdout : "";
  const version = /^Version:\s*(\d)/m.exec(text)?.[1] === "1" ? 1 : 2;
  const uuid = /^UUID:\s*(\S+)/m.exec(text)?.[1] ?? "";
  const holders = await runner.run("lsblk", ["-J", "-o", "PATH,TYPE", device]);
  let openAs: string | undefined;
  if (holders.isOk()) {
    const m = /"path":\s*"([^"]+)",\s*"type":\s*"crypt"/.exec(holders.value.stdout);
    openAs = m?.[1];
  }
  return { version, uuid, openAs };
}

interface SfdiskTable {
  partitiontable: {
    sectorsize?: number;
    partitions?: Array<{ node: string; size: number; type: string; uuid?: string; name?: string }>;
  };
}

/** Disks from an explicit description: GPT from `sfdisk -J` on the disk, contents by probing. */
export async function probeExplicitDisks(
  runner: CommandRunner,
  disks: readonly ExplicitDisk[],
  mounts: ReadonlyMap<string, string[]>,
): Promise<DiskState[]> {
  const out: DiskState[] = [];
  for (const disk of disks) {
    const table = JSON.parse(
      (await must(runner.run("sfdisk", ["-J", disk.device]))).stdout,
    ) as SfdiskTable;
    const sector = table.partitiontable.sectorsize ?? 512;
    const size = Number(
      (
        await must(
          runner
            .run("blockdev", ["--getsize64", disk.device])
            .orElse(() => runner.run("stat", ["-c", "%s", disk.device])),
        )
      ).stdout.trim(),
    );
    const partitions: PartitionState[] = [];
    for (const p of table.partitiontable.partitions ?? []) {
      const number = Number(/(\d+)$/.exec(p.node)?.[1] ?? "0");
      const device = disk.partitions.find((x) => x.number === number)?.device ?? p.node;
      const fs = disk.partitions.some((x) => x.number === number)
        ? await probe(runner, device)
        : {};
      const luks = fs.TYPE === "crypto_LUKS" ? await luksOf(runner, device) : undefined;
      partitions.push({
        device,
        number,
        typeGuid: p.type.toLowerCase(),
        partUuid: p.uuid?.toLowerCase(),
        name: p.name,
        sizeBytes: p.size * sector,
        role: roleOf(p.type, fs.TYPE),
        fsType: fs.TYPE,
        fsUuid: fs.UUID,
        label: fs.LABEL,
        luks,
        mountpoints: mounts.get(device) ?? [],
      });
    }
    out.push({ device: disk.device, sizeBytes: size, partitions });
  }
  return out;
}

/** Disks from lsblk (a real machine whose kernel reads partition tables). */
export async function discoverDisks(
  runner: CommandRunner,
  mounts: ReadonlyMap<string, string[]>,
): Promise<DiskState[]> {
  const devices = await must(listBlockDevices(runner));
  const out: DiskState[] = [];
  for (const d of devices.filter((x) => x.type === "disk" && x.partitionTableType === "gpt")) {
    const partitions: PartitionState[] = [];
    for (const p of d.children.filter((c) => c.type === "part")) {
      const luks = p.fsType === "crypto_LUKS" ? await luksOf(runner, p.path) : undefined;
      partitions.push({
        device: p.path,
        number: p.partNumber ?? 0,
        typeGuid: p.partitionTypeGuid ?? "",
        partUuid: p.partUuid,
        name: p.partLabel,
        sizeBytes: p.size,
        role: roleOf(p.partitionTypeGuid ?? "", p.fsType),
        fsType: p.fsType,
        fsUuid: p.fsUuid,
        label: p.label,
        luks,
        mountpoints: mounts.get(p.path) ?? [],
      });
    }
    out.push({ device: d.path, sizeBytes: d.size, partitions });
  }
  return out;
}
