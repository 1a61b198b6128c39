/**
 * Crash states from a block-level write log (see {@link readWriteLog}), as
 * fstests' dm-log-writes replay and CrashMonkey make them: for every flush
 * point, the disk with every write before it; and for every epoch (the
 * writes between two flushes, which a disk cache may lose or reorder at a
 * power cut) a bounded number of seeded, reproducible states holding a
 * random subset of that epoch's writes on top of the previous flush point.
 *
 * {@link planCrashStates} is pure; {@link CrashStateBuilder} makes each
 * state's image cheaply: one flush-point image advanced write by write and a
 * `cp --reflink=always` of it per state (the work directory must be on a
 * filesystem with reflinks: Btrfs or XFS), streaming data from the log.
 *
 * Test tooling: functions throw on failure.
 *
 * @module
 */
import { type FileHandle, open, rm } from "node:fs/promises";
import path from "node:path";
import { sh } from "./index.js";
import {
  applyEntries,
  isDataWrite,
  isFlush,
  type WriteLog,
  type WriteLogEntry,
} from "./write-log.js";

/** One crash state: the log's first `prefix` entries, plus `extra` entries of the following epoch. */
export interface CrashState {
  /** Position in the plan (0-based). */
  readonly index: number;
  /** `flush`: every write before a flush; `sampled`: a subset of one epoch's writes; `end`: the whole log. */
  readonly kind: "flush" | "sampled" | "end";
  /** `flush-<n>`, `epoch-<n>-sample-<k>` or `end`. */
  readonly id: string;
  /** The flush point (1-based) or the epoch (the writes before flush `epoch`) the state belongs to. */
  readonly epoch: number;
  /** Entries `[0, prefix)` are applied in full. */
  readonly prefix: number;
  /** Indices of further entries (all at or after `prefix`, in log order) applied on top. */
  readonly extra: readonly number[];
  /**
   * The same key means the same disk bytes (e.g. two flushes with no write
   * between them); a checker may reuse the verdict.
   */
  readonly key: string;
}

/** Options for {@link planCrashStates}. */
export interface CrashPlanOptions {
  /** At most this many sampled states per epoch (default 2; 0: flush points only). */
  readonly samplesPerEpoch?: number;
  /** The seed of the sampling (default 1): the same log, seed and bound give the same states. */
  readonly seed?: number;
}

/** A small, fast, seedable PRNG (mulberry32), so a failing state can be made again. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The crash states of a log, in an order {@link CrashStateBuilder} can make
 * them in (prefixes never go back): for epoch `n` (the writes after flush
 * `n-1` and before flush `n`), its sampled states, then flush point `n`; an
 * `end` state when writes follow the last flush. A flush entry that also
 * carries data (a pre-flushed write) makes the writes before it durable, and
 * its own data belongs to the next epoch. Subsets are drawn per epoch from
 * `seed` and the epoch's number; none is empty or whole (those are the flush
 * points), and none repeats.
 *
 * @example
 * ```ts
 * const log = await readWriteLog("log.bin");
 * const states = planCrashStates(log, { samplesPerEpoch: 4, seed: 7 });
 * console.log(states.filter((s) => s.kind === "flush").length, "flush points");
 * ```
 */
export function planCrashStates(log: WriteLog, options: CrashPlanOptions = {}): CrashState[] {
  const samples = options.samplesPerEpoch ?? 2;
  const seed = options.seed ?? 1;
  const states: CrashState[] = [];
  const entries = log.entries;
  let epochStart = 0;
  let epoch = 0;
  // Data writes applied in full by a prefix: the key of a flush point.
  const writesBefore = (end: number) => {
    let n = 0;
    for (let i = 0; i < end; i++) if (isDataWrite(entries[i] as WriteLogEntry)) n++;
    return n;
  };
  const push = (s: Omit<CrashState, "index">) => states.push({ index: states.length, ...s });
  const sample = (start: number, end: number, n: number) => {
    const writes: number[] = [];
    for (let i = start; i < end; i++) if (isDataWrite(entries[i] as WriteLogEntry)) writes.push(i);
    if (writes.length < 2 || samples <= 0) return;
    const possible = writes.length < 31 ? 2 ** writes.length - 2 : Number.POSITIVE_INFINITY;
    const want = Math.min(samples, possible);
    const rand = mulberry32((seed * 0x9e3779b1) ^ (n * 0x85ebca6b));
    const seen = new Set<string>();
    for (let tries = 0; seen.size < want && tries < want * 50; tries++) {
      const chosen = writes.filter(() => rand() < 0.5);
      if (chosen.length === 0 || chosen.length === writes.length) continue;
      const key = chosen.join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      push({
        kind: "sampled",
        id: `epoch-${n}-sample-${seen.size}`,
        epoch: n,
        prefix: start,
        extra: chosen,
        key: `${writesBefore(start)}+${key}`,
      });
    }
  };
  for (let i = 0; i < entries.length; i++) {
    if (!isFlush(entries[i] as WriteLogEntry)) continue;
    epoch++;
    sample(epochStart, i, epoch);
    push({
      kind: "flush",
      id: `flush-${epoch}`,
      epoch,
      prefix: i,
      extra: [],
      key: String(writesBefore(i)),
    });
    epochStart = i;
  }
  if (writesBefore(entries.length) > writesBefore(epochStart)) {
    sample(epochStart, entries.length, epoch + 1);
    push({
      kind: "end",
      id: "end",
      epoch: epoch + 1,
      prefix: entries.length,
      extra: [],
      key: String(writesBefore(entries.length)),
    });
  }
  return states;
}

/**
 * Makes crash states' disk images in a work directory on a filesystem with
 * reflinks: a flush-point image copied once from the base image (the disk
 * before the log began) and advanced in log order, and per state a reflink
 * of it with the state's extra writes applied. Only one state image exists
 * at a time; it is the caller's to mount, check and change.
 *
 * @example
 * ```ts
 * const builder = await CrashStateBuilder.create(base, log, workDir);
 * try {
 *   for (const state of planCrashStates(log)) {
 *     const image = await builder.make(state);
 *     // check `image`
 *   }
 * } finally {
 *   await builder.close();
 * }
 * ```
 */
export class CrashStateBuilder {
  #applied = 0;
  private constructor(
    private readonly log: WriteLog,
    private readonly logFile: FileHandle,
    private readonly flushImage: string,
    readonly stateImage: string,
  ) {}

  /** Copy `baseImage` into `workDir` (a reflink when it can, sparse otherwise) and open the log. */
  static async create(
    baseImage: string,
    log: WriteLog,
    workDir: string,
  ): Promise<CrashStateBuilder> {
    const flushImage = path.join(workDir, "flush-point.img");
    await sh("cp", ["--reflink=auto", "--sparse=always", baseImage, flushImage]);
    const logFile = await open(log.path, "r");
    return new CrashStateBuilder(log, logFile, flushImage, path.join(workDir, "state.img"));
  }

  /** Make `state`'s image at {@link CrashStateBuilder.stateImage} and return its path. States must come in plan order. */
  async make(state: CrashState): Promise<string> {
    if (state.prefix < this.#applied)
      throw new Error(
        `crash state ${state.id} needs the log up to entry ${state.prefix}, but ${this.#applied} are applied already: make states in plan order`,
      );
    if (state.prefix > this.#applied) {
      await this.#withImage(this.flushImage, (fh) =>
        applyEntries(this.logFile, fh, this.log.entries.slice(this.#applied, state.prefix)),
      );
      this.#applied = state.prefix;
    }
    await rm(this.stateImage, { force: true });
    await sh("cp", ["--reflink=always", this.flushImage, this.stateImage]);
    if (state.extra.length > 0)
      await this.#withImage(this.stateImage, (fh) =>
        applyEntries(
          this.logFile,
          fh,
          state.extra.map((i) => this.log.entries[i] as WriteLogEntry),
        ),
      );
    return this.stateImage;
  }

  async #withImage(image: string, use: (fh: FileHandle) => Promise<number>): Promise<void> {
    const fh = await open(image, "r+");
    try {
      await use(fh);
    } finally {
      await fh.close();
    }
  }

  /** Close the log and delete both images. */
  async close(): Promise<void> {
    await this.logFile.close();
    await rm(this.stateImage, { force: true });
    await rm(this.flushImage, { force: true });
  }
}
