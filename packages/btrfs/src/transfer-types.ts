/**
 * Types shared by send and receive: trust tokens, options, summaries.
 *
 * @module
 */
import type { Readable } from "node:stream";
import type { StreamSubvolume } from "./_internal/stream-tracker.js";
import type { Subvolume } from "./parse-subvolume.js";
import type { TransferProgress } from "./send.js";

/**
 * Proof that a stream was verified (e.g. `VerifiedStream` from `@lifeboat/image`,
 * whose signature and hashes were checked). Only its presence is checked here.
 */
export interface StreamVerification {
  /** Who verified it, e.g. `"@lifeboat/image manifest signature"`. */
  readonly verifiedBy: string;
}

/** The explicit escape hatch: the caller states it verified the stream itself. */
export interface CallerVerifiedStream {
  readonly trust: "caller-verified-this-stream";
}

/** What {@link receive} and {@link receiveFile} require before reading a stream from elsewhere. */
export type StreamTrust = StreamVerification | CallerVerifiedStream;

/** Options for receiving. */
export interface ReceiveOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: TransferProgress) => void;
  /** Minimum bytes between two `bytes` events. Default 1 MiB. */
  readonly progressEveryBytes?: number;
  /**
   * The stream's expected size, for progress `total` (e.g. from a manifest).
   * {@link receiveFile} uses the file's size when it is not given.
   */
  readonly expectedBytes?: number;
}

/** Options for receiving a stream from outside. */
export interface UntrustedReceiveOptions extends ReceiveOptions {
  /** Required: a verification token, or `{ trust: "caller-verified-this-stream" }`. */
  readonly verification: StreamTrust;
}

/** What a finished receive produced. */
export interface ReceiveSummary {
  readonly bytes: number;
  /** The received subvolumes, each checked read-only with the sent UUID as its received UUID. */
  readonly subvolumes: readonly Subvolume[];
  /** The subvolumes as the stream announced them. */
  readonly sent: readonly StreamSubvolume[];
  readonly durationMs: number;
}

export type Source =
  | { readonly kind: "stream"; readonly stream: Readable }
  | { readonly kind: "send"; readonly args: readonly string[] };

/** True when `v` is a {@link StreamTrust} (checked at run time too, for JavaScript callers). */
export function isTrusted(v: unknown): v is StreamTrust {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    o.trust === "caller-verified-this-stream" ||
    (typeof o.verifiedBy === "string" && o.verifiedBy.length > 0)
  );
}
