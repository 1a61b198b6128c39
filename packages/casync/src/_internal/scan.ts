import { type ChunkerParams, findChunkEnd } from "../chunker.js";
import { checkAborted } from "./failure.js";
import type { BlockSource } from "./reader.js";

const BLOCK = 8 * 1024 * 1024;

/**
 * Cut a source into casync chunks, reading ahead one block while chunking the
 * current one. `onChunk` gets views into buffers that are never reused, so it
 * may keep them. The source is not closed here.
 */
export async function scanChunks(
  source: BlockSource,
  params: ChunkerParams,
  onChunk: (offset: number, data: Buffer) => void | Promise<void>,
  signal: AbortSignal | undefined,
  allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size),
): Promise<number> {
  const head = params.max; // room in front of each block for the previous block's unfinished chunk
  const readBlock = async () => {
    const buffer = allocate(head + BLOCK);
    const r = await source.read(buffer, head, BLOCK);
    return { buffer, ...r };
  };
  let leftover: Buffer = Buffer.alloc(0);
  let offset = 0;
  let next = readBlock();
  for (;;) {
    checkAborted(signal, "chunking");
    const { buffer, bytes, ended } = await next;
    if (!ended) next = readBlock();
    let start = head - leftover.length;
    leftover.copy(buffer, start);
    const end = head + bytes;
    for (;;) {
      const length = findChunkEnd(buffer, start, end, params, ended);
      if (length <= 0) break;
      const r = onChunk(offset, buffer.subarray(start, start + length));
      if (r !== undefined) await r;
      start += length;
      offset += length;
    }
    if (ended) return offset;
    leftover = buffer.subarray(start, end);
  }
}
