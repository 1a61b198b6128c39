/**
 * Block-level write logs in the dm-log-writes format, as QEMU's
 * `blklogwrites` block driver records them: every guest write, flush, FUA
 * write and discard, in the order the guest issued them. {@link readWriteLog}
 * indexes a log without loading its data; {@link writeLogBlockdevArgs} is
 * the QEMU disk that records one.
 *
 * Layout: sector 0 is the superblock (magic, version, entry count, sector
 * size, little-endian); each entry is a 32-byte header
 * `{sector, nr_sectors, flags, data_len}` padded to the sector size, then
 * its data (`nr_sectors` sectors for a write, `data_len` bytes padded for a
 * mark, nothing for a flush or discard).
 *
 * Test tooling: functions throw on failure.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { type FileHandle, open, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Scratch, sh, unmount } from "./index.js";

/** The superblock's magic number (`"rhswfsj\0"` read little-endian). */
export const WRITE_LOG_MAGIC = 0x6a736677736872n;

/** Entry flags (dm-log-writes). */
export const WriteLogFlag = {
  FLUSH: 1,
  FUA: 2,
  DISCARD: 4,
  MARK: 8,
  METADATA: 16,
} as const;

/** One logged request. Offsets are bytes; the data is read on demand from `dataOffset` of the log. */
export interface WriteLogEntry {
  /** Position in the log (0 = the first entry after the superblock). */
  readonly index: number;
  /** Byte offset on the disk (`sector * sectorSize`). */
  readonly diskOffset: number;
  /** Bytes on the disk the request covers (0 for a flush). */
  readonly bytes: number;
  /** A bit set of {@link WriteLogFlag}. */
  readonly flags: number;
  /** Where this entry's data starts in the log file (writes only). */
  readonly dataOffset: number;
  /** A mark's text (MARK entries only). */
  readonly mark?: string;
}

/** A parsed log: the superblock's fields and the index of its entries. */
export interface WriteLog {
  readonly path: string;
  readonly version: number;
  readonly sectorSize: number;
  /** The superblock's entry count, as of the last flush the guest issued (may lag {@link WriteLog.entries}). */
  readonly superblockEntries: number;
  readonly entries: readonly WriteLogEntry[];
}

/** True when the entry puts data on the disk (a write, with or without FUA). */
export function isDataWrite(e: WriteLogEntry): boolean {
  return e.bytes > 0 && (e.flags & (WriteLogFlag.DISCARD | WriteLogFlag.MARK)) === 0;
}

/** True when the entry is a flush (an explicit cache flush, or the flush part of a flush+write). */
export function isFlush(e: WriteLogEntry): boolean {
  return (e.flags & WriteLogFlag.FLUSH) !== 0;
}

async function readExactly(fh: FileHandle, bytes: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(bytes);
  let done = 0;
  while (done < bytes) {
    const { bytesRead } = await fh.read(buf, done, bytes - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === bytes ? buf : buf.subarray(0, done);
}

/**
 * Index a dm-log-writes log: read the superblock, then every entry header up
 * to the first all-zero one or the end of the file (the superblock's count
 * is only rewritten at flushes, so a log cut short by a power-off holds more
 * entries than it says). Data is not read. Throws on a bad magic, an
 * unsupported sector size or an entry whose data runs past the file.
 *
 * @example
 * ```ts
 * const log = await readWriteLog("/tmp/run/log.bin");
 * console.log(log.entries.filter(isFlush).length, "flushes");
 * // While QEMU runs: where the guest's next operation starts in the log.
 * const start = (await readWriteLog(logFile, { live: {} })).entries.length;
 * ```
 */
export async function readWriteLog(
  logPath: string,
  options: {
    /**
     * The log is still being written (QEMU is running): a superblock not
     * written yet (QEMU writes it at the guest's first flush) is taken as an
     * empty log of this sector size (default 512), and an entry whose data
     * has not arrived ends the index instead of being an error.
     */
    readonly live?: { readonly sectorSize?: 512 | 4096 };
  } = {},
): Promise<WriteLog> {
  const fh = await open(logPath, "r");
  try {
    const size = (await fh.stat()).size;
    const sb = await readExactly(fh, 32, 0);
    const unwritten = options.live !== undefined && (sb.length < 32 || sb.every((b) => b === 0));
    if (!unwritten && (sb.length < 32 || sb.readBigUInt64LE(0) !== WRITE_LOG_MAGIC))
      throw new Error(`${logPath}: not a dm-log-writes log (bad magic)`);
    const version = unwritten ? 1 : Number(sb.readBigUInt64LE(8));
    const superblockEntries = unwritten ? 0 : Number(sb.readBigUInt64LE(16));
    const sectorSize = unwritten ? (options.live?.sectorSize ?? 512) : sb.readUInt32LE(24);
    if (sectorSize < 512 || (sectorSize & (sectorSize - 1)) !== 0)
      throw new Error(`${logPath}: unsupported log sector size ${sectorSize}`);
    const entries: WriteLogEntry[] = [];
    let at = sectorSize;
    while (at + 32 <= size) {
      const h = await readExactly(fh, 32, at);
      const sector = h.readBigUInt64LE(0);
      const nrSectors = h.readBigUInt64LE(8);
      const flags = Number(h.readBigUInt64LE(16));
      const dataLen = Number(h.readBigUInt64LE(24));
      if (sector === 0n && nrSectors === 0n && flags === 0 && dataLen === 0) break;
      const bytes = Number(nrSectors) * sectorSize;
      const dataOffset = at + sectorSize;
      let dataBytes = 0;
      let mark: string | undefined;
      if (flags & WriteLogFlag.MARK) {
        dataBytes = Math.ceil(dataLen / sectorSize) * sectorSize;
        mark = (await readExactly(fh, dataLen, dataOffset)).toString("utf8").replace(/\0+$/, "");
      } else if ((flags & WriteLogFlag.DISCARD) === 0) {
        dataBytes = bytes;
      }
      if (dataOffset + dataBytes > size) {
        // A log still being written may end in an entry whose data is not there yet.
        if (options.live !== undefined) break;
        throw new Error(
          `${logPath}: entry ${entries.length} at byte ${at} needs ${dataBytes} bytes of data past the end of the log`,
        );
      }
      entries.push({
        index: entries.length,
        diskOffset: Number(sector) * sectorSize,
        bytes: flags & WriteLogFlag.MARK ? 0 : bytes,
        flags,
        dataOffset,
        ...(mark === undefined ? {} : { mark }),
      });
      at = dataOffset + dataBytes;
    }
    return { path: logPath, version, sectorSize, superblockEntries, entries };
  } finally {
    await fh.close();
  }
}

/** Copy at most this many bytes at a time from the log to a disk image. */
const CHUNK = 4 * 1024 * 1024;

/**
 * Apply log entries (data writes only; flushes, marks and discards change no
 * data: QEMU forwards a discard to a file opened without `discard=unmap` as
 * a no-op, so the disk kept its old bytes) to an open disk image, in the
 * order given, streaming their data from the open log in 4 MiB chunks.
 */
export async function applyEntries(
  log: FileHandle,
  image: FileHandle,
  entries: Iterable<WriteLogEntry>,
): Promise<number> {
  let written = 0;
  const buf = Buffer.alloc(CHUNK);
  for (const e of entries) {
    if (!isDataWrite(e)) continue;
    for (let done = 0; done < e.bytes; ) {
      const n = Math.min(CHUNK, e.bytes - done);
      const { bytesRead } = await log.read(buf, 0, n, e.dataOffset + done);
      if (bytesRead !== n) throw new Error(`short read of entry ${e.index} from the log`);
      await image.write(buf, 0, n, e.diskOffset + done);
      done += n;
    }
    written += e.bytes;
  }
  return written;
}

/**
 * The QEMU arguments of a virtio disk that records every write and flush of
 * the guest into `logFile` (made empty here; QEMU needs it to exist):
 * `-blockdev driver=blklogwrites,...` with the default write-back cache, so
 * each guest flush is logged (never `cache=unsafe` or `cache.no-flush`, which
 * log no flush at all). Pass them as {@link BootOptions.extraArgs}.
 *
 * @example
 * ```ts
 * const vm = await boot({
 *   extraArgs: await writeLogBlockdevArgs(image, logFile),
 *   timeoutMs: 600_000,
 * });
 * ```
 */
export async function writeLogBlockdevArgs(
  image: string,
  logFile: string,
  options: { sectorSize?: 512 | 4096; nodeName?: string } = {},
): Promise<string[]> {
  await writeFile(logFile, "");
  const esc = (s: string) => s.replaceAll(",", ",,");
  const node = options.nodeName ?? "lw";
  return [
    "-blockdev",
    [
      "driver=blklogwrites",
      `node-name=${node}`,
      "file.driver=file",
      `file.filename=${esc(image)}`,
      "log.driver=file",
      `log.filename=${esc(logFile)}`,
      `log-sector-size=${options.sectorSize ?? 512}`,
    ].join(","),
    "-device",
    // No WRITE ZEROES from the guest (ext4's lazy inode-table init issues them in the
    // background): blklogwrites advances its log position for a zeroed range only after the
    // entry's header is written, so a request logged meanwhile lands inside that range and
    // the log cannot be read past it (a recording stopped growing at entry 3894). The guest
    // writes zero pages instead, which log like any write.
    `virtio-blk-pci,drive=${node},write-zeroes=off`,
  ];
}

/**
 * Record writes made from the host, without a guest: `qemu-storage-daemon`
 * opens `image` through the same `blklogwrites` driver and exports it as a
 * FUSE file (returned), which a loop device can attach; every write and
 * every flush (`fsync`, `sync`) reaching it is logged into `logFile`. The
 * daemon is stopped at scratch clean-up (detach loop devices on the file
 * before, i.e. attach them after calling this).
 *
 * @example
 * ```ts
 * const file = await exportWithWriteLog(scratch, image, scratch.path("log.bin"));
 * const dev = await attachLoop(scratch, file);
 * ```
 */
export async function exportWithWriteLog(
  scratch: Scratch,
  image: string,
  logFile: string,
  options: { sectorSize?: 512 | 4096 } = {},
): Promise<string> {
  await writeFile(logFile, "");
  const exported = scratch.path(`export-${path.basename(image)}`);
  await writeFile(exported, "");
  const child = spawn(
    "qemu-storage-daemon",
    [
      "--blockdev",
      `driver=file,node-name=img,filename=${image.replaceAll(",", ",,")}`,
      "--blockdev",
      `driver=file,node-name=log,filename=${logFile.replaceAll(",", ",,")}`,
      "--blockdev",
      `driver=blklogwrites,node-name=lw,file=img,log=log,log-sector-size=${options.sectorSize ?? 512}`,
      "--export",
      `type=fuse,id=exp,node-name=lw,mountpoint=${exported.replaceAll(",", ",,")},writable=on`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  scratch.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await unmount(exported).catch(() => {});
  });
  const want = (await stat(image)).size;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null)
      throw new Error(`qemu-storage-daemon exited (${child.exitCode}): ${stderr}`);
    const mounted = await sh("findmnt", ["-n", "-o", "FSTYPE", exported]).catch(() => "");
    if (mounted.trim().startsWith("fuse") && (await stat(exported)).size === want) return exported;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`qemu-storage-daemon did not export ${image} within 10 s: ${stderr}`);
}
