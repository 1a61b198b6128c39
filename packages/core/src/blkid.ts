import type { BlockDevice } from "./lsblk.js";

/**
 * Parse `blkid -p -o export` output (`KEY=value` lines) into a map. Pure.
 *
 * @example
 * ```ts
 * parseBlkidExport('TYPE="btrfs"\nUUID=1b2c\n').TYPE; // "btrfs"
 * ```
 */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    // blkid escapes with a backslash (`\ ` for a space in a label).
    out[line.slice(0, eq).trim()] = value.replace(/\\(.)/g, "$1");
  }
  return out;
}

/**
 * Fill the fields lsblk left empty (it reads them from the udev database,
 * which recovery environments and containers often lack) from a blkid probe.
 * Fields lsblk did report win.
 */
export function withProbe(device: BlockDevice, probe: Record<string, string>): BlockDevice {
  const lower = (s: string | undefined) => s?.toLowerCase();
  const number = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  return {
    ...device,
    fsType: device.fsType ?? probe.TYPE,
    fsVersion: device.fsVersion ?? probe.VERSION,
    fsUuid: device.fsUuid ?? probe.UUID,
    label: device.label ?? probe.LABEL,
    partitionTypeGuid: device.partitionTypeGuid ?? lower(probe.PART_ENTRY_TYPE),
    partUuid: device.partUuid ?? lower(probe.PART_ENTRY_UUID),
    partLabel: device.partLabel ?? probe.PART_ENTRY_NAME,
    partNumber: device.partNumber ?? number(probe.PART_ENTRY_NUMBER),
  };
}
