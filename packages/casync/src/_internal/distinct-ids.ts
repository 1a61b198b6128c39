import { type FileHandle, open, rm } from "node:fs/promises";
import path from "node:path";
import { checkAborted } from "./failure.js";
import { ITEM, ITEMS_AT, writeAll } from "./index-builder.js";

const ID = 32;
/** Bytes read from the table, or from a run, at a time. */
const READ = Math.floor((1024 * 1024) / ITEM) * ITEM;
const RUN_READ = 64 * 1024;

/** Bounds of the external sort; lowered by tests to force several runs and merge passes. */
export interface SortLimits {
  /** Ids sorted in memory at a time (32 bytes + 4 each). */
  readonly runIds: number;
  /** Runs merged at a time (64 KiB of buffer each). */
  readonly fanIn: number;
}

/** 65,536 ids (2.25 MiB) per run, 16 runs (1 MiB) per merge: a run covers ~4 GiB of image. */
export const DEFAULT_SORT_LIMITS: SortLimits = { runIds: 65_536, fanIn: 16 };

/**
 * How many distinct ids the `.caibx` at `file` holds (`count` items), exactly,
 * in bounded memory: the items are read back in batches, their ids sorted in
 * runs of `runIds` (each run written deduplicated under `workDir` unless all
 * ids fit in one), then merged `fanIn` runs at a time, equal ids counted once.
 * `onId` sees every item's id (`items[at .. at+32)`) once, in order.
 */
export async function countDistinctIds(
  file: string,
  count: number,
  workDir: string,
  options: {
    readonly limits?: SortLimits;
    readonly onId?: (items: Buffer, at: number) => void;
    readonly signal?: AbortSignal | undefined;
  } = {},
): Promise<number> {
  const { runIds, fanIn } = options.limits ?? DEFAULT_SORT_LIMITS;
  const { onId, signal } = options;
  const ids = Buffer.allocUnsafe(Math.min(runIds, Math.max(count, 1)) * ID);
  const order = new Uint32Array(ids.length / ID);
  let inRun = 0;
  const runs: Run[] = [];
  let made = 0;
  const newRunPath = () => path.join(workDir, `run-${made++}`);

  const items = Buffer.allocUnsafe(Math.min(READ, Math.max(count, 1) * ITEM));
  const table = await open(file, "r");
  try {
    let done = 0;
    while (done < count) {
      checkAborted(signal, "counting distinct chunks");
      const n = Math.min(count - done, items.length / ITEM);
      await readAll(table, items, n * ITEM, ITEMS_AT + done * ITEM);
      for (let i = 0; i < n; i++) {
        const at = i * ITEM + 8;
        onId?.(items, at);
        items.copy(ids, inRun * ID, at, at + ID);
        inRun++;
        if (inRun === order.length && done + i + 1 < count) {
          runs.push(await writeRun(ids, order, inRun, newRunPath()));
          inRun = 0;
        }
      }
      done += n;
    }
  } finally {
    await table.close();
  }
  if (runs.length === 0) return sortRun(ids, order, inRun);
  runs.push(await writeRun(ids, order, inRun, newRunPath()));

  let level = runs;
  while (level.length > fanIn) {
    checkAborted(signal, "counting distinct chunks");
    const next: Run[] = [];
    for (let i = 0; i < level.length; i += fanIn) {
      const group = level.slice(i, i + fanIn);
      next.push(await mergeRuns(group, newRunPath(), signal));
      for (const r of group) await rm(r.file, { force: true });
    }
    level = next;
  }
  const distinct = (await mergeRuns(level, undefined, signal)).ids;
  for (const r of level) await rm(r.file, { force: true });
  return distinct;
}

interface Run {
  readonly file: string;
  /** Distinct ids in it, sorted. */
  readonly ids: number;
}

/** Sorts `order[0..n)` by the ids they point to; returns how many are distinct. */
function sortRun(ids: Buffer, order: Uint32Array, n: number): number {
  const view = order.subarray(0, n);
  for (let i = 0; i < n; i++) view[i] = i;
  const cmp = (a: number, b: number) => ids.compare(ids, b * ID, b * ID + ID, a * ID, a * ID + ID); // a's id against b's
  view.sort(cmp);
  let distinct = 0;
  for (let i = 0; i < n; i++)
    if (i === 0 || cmp(view[i - 1] as number, view[i] as number) !== 0) distinct++;
  return distinct;
}

/** The first `n` ids sorted, each distinct one written once to `file`. */
async function writeRun(ids: Buffer, order: Uint32Array, n: number, file: string): Promise<Run> {
  sortRun(ids, order, n);
  const out = new RunWriter(await open(file, "w"));
  try {
    let last = -1;
    for (let i = 0; i < n; i++) {
      const at = (order[i] as number) * ID;
      if (last >= 0 && ids.compare(ids, last, last + ID, at, at + ID) === 0) continue;
      await out.add(ids, at);
      last = at;
    }
    return { file, ids: await out.close() };
  } catch (e) {
    await out.close().catch(() => {});
    throw e;
  }
}

/** Merge sorted runs into `file` (or only count, without one): distinct ids. */
async function mergeRuns(
  runs: readonly Run[],
  file: string | undefined,
  signal: AbortSignal | undefined,
): Promise<Run> {
  const readers: RunReader[] = [];
  const out = file === undefined ? undefined : new RunWriter(await open(file, "w"));
  try {
    for (const r of runs) {
      const reader = new RunReader(await open(r.file, "r"), r.ids);
      readers.push(reader);
      await reader.fill();
    }
    const heap = readers.filter((r) => !r.done);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
    const last = Buffer.alloc(ID);
    let distinct = 0;
    let merged = 0;
    while (heap.length > 0) {
      const top = heap[0] as RunReader;
      if (distinct === 0 || top.buffer.compare(last, 0, ID, top.at, top.at + ID) !== 0) {
        top.buffer.copy(last, 0, top.at, top.at + ID);
        distinct++;
        if (out !== undefined) await out.add(last, 0);
      }
      if (++merged % 65_536 === 0) checkAborted(signal, "counting distinct chunks");
      if (top.next()) await top.fill();
      if (top.done) {
        const tail = heap.pop() as RunReader;
        if (heap.length > 0) heap[0] = tail;
      }
      if (heap.length > 0) siftDown(heap, 0);
    }
    return { file: file ?? "", ids: out === undefined ? distinct : await out.close() };
  } finally {
    await Promise.allSettled(readers.map((r) => r.close()));
    if (out !== undefined && !out.closed) await out.close().catch(() => {});
  }
}

function siftDown(heap: RunReader[], from: number): void {
  let i = from;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let least = i;
    if (l < heap.length && (heap[l] as RunReader).before(heap[least] as RunReader)) least = l;
    if (r < heap.length && (heap[r] as RunReader).before(heap[least] as RunReader)) least = r;
    if (least === i) return;
    [heap[i], heap[least]] = [heap[least] as RunReader, heap[i] as RunReader];
    i = least;
  }
}

/** A run read back 64 KiB at a time; `buffer[at .. at+32)` is its current id. */
class RunReader {
  readonly buffer = Buffer.allocUnsafe(RUN_READ);
  at = 0;
  #end = 0;
  #read = 0;
  #left: number;

  constructor(
    readonly handle: FileHandle,
    ids: number,
  ) {
    this.#left = ids;
  }

  get done(): boolean {
    return this.at >= this.#end && this.#left === 0;
  }

  /** Advance; true when the buffer must be refilled first. */
  next(): boolean {
    this.at += ID;
    return this.at >= this.#end && this.#left > 0;
  }

  async fill(): Promise<void> {
    const n = Math.min(this.#left, RUN_READ / ID);
    if (n === 0) return;
    await readAll(this.handle, this.buffer, n * ID, this.#read);
    this.#read += n * ID;
    this.#left -= n;
    this.at = 0;
    this.#end = n * ID;
  }

  before(other: RunReader): boolean {
    return this.buffer.compare(other.buffer, other.at, other.at + ID, this.at, this.at + ID) < 0;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Sorted ids written 64 KiB at a time. */
class RunWriter {
  readonly #buffer = Buffer.allocUnsafe(RUN_READ);
  #fill = 0;
  #position = 0;
  #ids = 0;
  closed = false;

  constructor(readonly handle: FileHandle) {}

  async add(from: Buffer, at: number): Promise<void> {
    if (this.#fill === this.#buffer.length) await this.#flush();
    from.copy(this.#buffer, this.#fill, at, at + ID);
    this.#fill += ID;
    this.#ids++;
  }

  /** Flush and close; the number of ids written. */
  async close(): Promise<number> {
    if (this.closed) return this.#ids;
    this.closed = true;
    try {
      await this.#flush();
    } finally {
      await this.handle.close();
    }
    return this.#ids;
  }

  async #flush(): Promise<void> {
    await writeAll(this.handle, this.#buffer.subarray(0, this.#fill), this.#position);
    this.#position += this.#fill;
    this.#fill = 0;
  }
}

/** Exactly `length` bytes at `position` into `buffer[0..)`; a short file is an error. */
async function readAll(
  handle: FileHandle,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
}
