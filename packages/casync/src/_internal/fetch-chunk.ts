import { setTimeout as sleep } from "node:timers/promises";
import type { CasyncError } from "../errors.js";
import { type ChunkStore, chunkPath, isRemoteStore } from "../store.js";
import { chunkId } from "./chunk-id.js";
import { compressionOf, decompressChunk } from "./compression.js";
import { checkAborted, fail } from "./failure.js";
import { readLocalChunk } from "./local-store.js";

export interface FetchPolicy {
  /** Extra attempts after the first, per store (default 4). */
  readonly retries: number;
  /** First back-off delay in ms, doubled each retry (default 200). */
  readonly backoffMs: number;
  /** Per-request timeout in ms (default 30 s). */
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

export interface FetchedChunk {
  readonly data: Buffer;
  /** Bytes that came over the network or from a store folder (compressed). */
  readonly transferred: number;
  /** Requests made, failed ones included. */
  readonly requests: number;
}

type Attempt =
  | { kind: "ok"; compressed: Buffer }
  | { kind: "missing" }
  | { kind: "retry"; status: number | undefined; reason: string }
  | { kind: "fatal"; status: number; reason: string };

async function httpAttempt(url: string, policy: FetchPolicy): Promise<Attempt> {
  const timeout = AbortSignal.timeout(policy.timeoutMs);
  const signal = policy.signal === undefined ? timeout : AbortSignal.any([policy.signal, timeout]);
  try {
    const response = await fetch(url, { signal });
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      return { kind: "missing" };
    }
    if (!response.ok) {
      await response.body?.cancel();
      const retry = response.status >= 500 || response.status === 429 || response.status === 408;
      const reason = `HTTP ${response.status}`;
      return retry
        ? { kind: "retry", status: response.status, reason }
        : { kind: "fatal", status: response.status, reason };
    }
    return { kind: "ok", compressed: Buffer.from(await response.arrayBuffer()) };
  } catch (e) {
    checkAborted(policy.signal, "downloading chunks");
    return {
      kind: "retry",
      status: undefined,
      reason:
        e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e),
    };
  }
}

function storeUrl(store: ChunkStore, id: string): string {
  const base = String(store);
  return `${base.endsWith("/") ? base : `${base}/`}${chunkPath(id)}`;
}

/**
 * Get one chunk from the first store that has it: retry transient failures
 * and corrupt data with back-off, verify the id, never return wrong bytes.
 */
export async function fetchChunk(
  id: string,
  stores: readonly ChunkStore[],
  policy: FetchPolicy,
): Promise<FetchedChunk> {
  let requests = 0;
  let transferred = 0;
  let lastError: CasyncError | undefined;
  for (const store of stores) {
    const remote = isRemoteStore(store);
    const where = remote ? storeUrl(store, id) : String(store);
    for (let attempt = 1; attempt <= policy.retries + 1; attempt++) {
      checkAborted(policy.signal, "downloading chunks");
      if (attempt > 1) {
        await sleep(Math.min(policy.backoffMs * 2 ** (attempt - 2), 5000), undefined, {
          ...(policy.signal === undefined ? {} : { signal: policy.signal }),
        }).catch(() => checkAborted(policy.signal, "downloading chunks"));
      }
      requests++;
      let result: Attempt;
      if (remote) {
        result = await httpAttempt(where, policy);
      } else {
        const bytes = await readLocalChunk(String(store), id);
        result = bytes === undefined ? { kind: "missing" } : { kind: "ok", compressed: bytes };
      }
      if (result.kind === "missing") break;
      if (result.kind === "fatal" || result.kind === "retry") {
        lastError = {
          code: "CASYNC_FETCH_FAILED",
          message: `Could not get chunk ${id} from ${where}: ${result.reason} (attempt ${attempt}).`,
          chunkId: id,
          url: where,
          status: result.status,
          attempts: attempt,
        };
        if (result.kind === "fatal") break;
        continue;
      }
      transferred += result.compressed.length;
      const compression = compressionOf(result.compressed);
      let data: Buffer;
      try {
        data = await decompressChunk(result.compressed, compression);
      } catch (e) {
        lastError = {
          code: "CASYNC_DECOMPRESS_FAILED",
          message: `Chunk ${id} from ${where} could not be decompressed (${compression}).`,
          cause: e,
          chunkId: id,
          store: where,
          compression,
        };
        if (compression === "xz" || !remote) break;
        continue;
      }
      const actual = chunkId(data);
      if (actual === id) return { data, transferred, requests };
      lastError = {
        code: "CASYNC_CHUNK_CORRUPT",
        message: `Chunk ${id} from ${where} hashes to ${actual}: the store gave wrong data.`,
        chunkId: id,
        actualId: actual,
        store: where,
        attempts: attempt,
      };
      if (!remote) break;
    }
  }
  fail(
    lastError ?? {
      code: "CASYNC_CHUNK_NOT_FOUND",
      message: `No store has chunk ${id} (looked in ${stores.map(String).join(", ")}).`,
      chunkId: id,
      stores: stores.map(String),
    },
  );
}
