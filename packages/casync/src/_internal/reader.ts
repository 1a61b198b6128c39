import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";

/** Something that fills buffers: a file, or a stream adapted to the same shape. */
export interface BlockSource {
  /** Fill `buffer[offset, offset+length)` as far as possible; returns bytes read and whether input ended. */
  read(buffer: Buffer, offset: number, length: number): Promise<{ bytes: number; ended: boolean }>;
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<BlockSource> {
  const handle: FileHandle = await open(path, "r");
  return {
    async read(buffer, offset, length) {
      let total = 0;
      while (total < length) {
        const { bytesRead } = await handle.read(buffer, offset + total, length - total, null);
        if (bytesRead === 0) return { bytes: total, ended: true };
        total += bytesRead;
      }
      return { bytes: total, ended: false };
    },
    close: () => handle.close(),
  };
}

export function streamSource(stream: Readable): BlockSource {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let pending: Buffer | undefined;
  let ended = false;
  return {
    async read(buffer, offset, length) {
      let total = 0;
      while (total < length) {
        if (pending === undefined || pending.length === 0) {
          if (ended) return { bytes: total, ended: true };
          const next = await iterator.next();
          if (next.done === true) {
            ended = true;
            return { bytes: total, ended: true };
          }
          pending = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
          continue;
        }
        const n = Math.min(pending.length, length - total);
        pending.copy(buffer, offset + total, 0, n);
        pending = pending.subarray(n);
        total += n;
      }
      return { bytes: total, ended: false };
    },
    async close() {
      await iterator.return?.();
    },
  };
}
