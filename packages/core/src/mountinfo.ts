import { readFile } from "node:fs/promises";
import { ResultAsync } from "neverthrow";
import { type IoFailedError, ioError } from "./errors.js";

/** One line of /proc/self/mountinfo (proc(5)), with its escapes (`\040`) undone. */
export interface MountinfoEntry {
  /** The directory of the filesystem mounted here (`/root` for a Btrfs `subvol=root`). */
  readonly root: string;
  /** Where it is mounted. */
  readonly mountPoint: string;
  readonly fstype: string;
  /** The mount source as the kernel keeps it (`/dev/vda3`, `/dev/mapper/luks-…`, `tmpfs`). */
  readonly source: string;
  /** The filesystem's own options (`rw,relatime,subvolid=256,subvol=/root` on Btrfs). */
  readonly superOptions: string;
}

function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) =>
    String.fromCharCode(Number.parseInt(oct, 8)),
  );
}

/**
 * Parse the text of /proc/self/mountinfo. Lines that do not have its shape
 * are skipped.
 *
 * @example
 * ```ts
 * const [e] = parseMountinfo("36 35 0:32 /root / rw,relatime shared:1 - btrfs /dev/vda3 rw,subvolid=256,subvol=/root");
 * e?.root; // "/root"
 * ```
 */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    if (left.length < 6 || right.length < 3) continue;
    out.push({
      root: unescapeOctal(left[3]!),
      mountPoint: unescapeOctal(left[4]!),
      fstype: right[0]!,
      source: unescapeOctal(right[1]!),
      superOptions: right[2]!,
    });
  }
  return out;
}

/**
 * The mount table of this process's mount namespace, read from
 * /proc/self/mountinfo without starting a program (where `listMounts` runs
 * findmnt for the columns only it knows: filesystem UUID, label, sizes).
 *
 * @example
 * ```ts
 * const mounts = await readMountinfo();
 * if (mounts.isOk()) console.log(mounts.value.filter((m) => m.source === "/dev/vda3").map((m) => m.mountPoint));
 * ```
 */
export function readMountinfo(): ResultAsync<MountinfoEntry[], IoFailedError> {
  return ResultAsync.fromPromise(readFile("/proc/self/mountinfo", "utf8"), (e) =>
    ioError(e, "/proc/self/mountinfo", "read"),
  ).map(parseMountinfo);
}
