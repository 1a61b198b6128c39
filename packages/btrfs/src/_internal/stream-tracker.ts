import { Transform, type TransformCallback } from "node:stream";

const MAGIC = Buffer.from("btrfs-stream\0", "latin1");
const STREAM_HEADER = MAGIC.length + 4;
const CMD_HEADER = 10;
const CMD_SUBVOL = 1;
const CMD_SNAPSHOT = 2;
const CMD_END = 21;
const ATTR_UUID = 1;
const ATTR_PATH = 15;
const ATTR_CLONE_UUID = 20;
/** btrfs-progs' own limit for one command (BTRFS_SEND_BUF_SIZE_V2 is 64 KiB + a page; v3 allows more). */
const MAX_COMMAND = 16 * 1024 * 1024;

/** A subvolume announced in a send stream. */
export interface StreamSubvolume {
  readonly name: string;
  readonly uuid: string;
  /** For an incremental stream: UUID of the parent it applies on. */
  readonly parentUuid: string | undefined;
}

export interface TrackerProblem {
  readonly offset: number;
  readonly reason: "bad-magic" | "unsupported-version" | "truncated" | "bad-command";
  readonly message: string;
}

export interface TrackerHooks {
  readonly onBytes?: (bytes: number) => void;
  readonly onSubvolume?: (subvolume: StreamSubvolume) => void;
  /** Awaited before the bytes announcing a subvolume are passed on (so a receiver has not created it yet). */
  readonly beforeSubvolume?: (subvolume: StreamSubvolume) => Promise<void>;
  /** Called synchronously before the tracker fails on a truncated stream (kill the receiver here, before its stdin closes). */
  readonly onTruncated?: () => void;
}

function formatUuid(b: Buffer): string {
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function parseSubvolCommand(payload: Buffer): StreamSubvolume {
  let name = "";
  let uuid = "";
  let parentUuid: string | undefined;
  for (let at = 0; at + 4 <= payload.length; ) {
    const type = payload.readUInt16LE(at);
    const len = payload.readUInt16LE(at + 2);
    const value = payload.subarray(at + 4, at + 4 + len);
    if (type === ATTR_PATH) name = value.toString("utf8");
    else if (type === ATTR_UUID && len === 16) uuid = formatUuid(value);
    else if (type === ATTR_CLONE_UUID && len === 16) parentUuid = formatUuid(value);
    at += 4 + len;
  }
  return { name, uuid, parentUuid };
}

/**
 * Passes a btrfs send stream through unchanged while following its framing:
 * counts bytes, reads the subvolumes it announces, and fails (after calling
 * `onTruncated`) when the stream ends anywhere but right after an END command.
 * It does not rely on `btrfs receive` noticing the cut (6.2 does, with
 * "unexpected EOF in stream", but still leaves the partial subvolume behind);
 * the receiver is killed before its stdin closes, so it never finishes a
 * partial subvolume, whatever its version.
 */
export class SendStreamTracker extends Transform {
  bytes = 0;
  readonly subvolumes: StreamSubvolume[] = [];
  problem: TrackerProblem | undefined;
  #header = Buffer.alloc(0);
  #need = STREAM_HEADER;
  #state: "stream-header" | "cmd-header" | "payload" = "stream-header";
  #remaining = 0;
  #command = 0;
  #capture: Buffer[] | undefined;
  #ended = false; // last thing seen was an END command
  #announced: StreamSubvolume[] = [];

  constructor(private readonly hooks: TrackerHooks = {}) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const problem = this.#consume(chunk);
    this.bytes += chunk.length;
    this.hooks.onBytes?.(this.bytes);
    if (problem) {
      this.problem = problem;
      this.hooks.onTruncated?.();
      done(Object.assign(new Error(problem.message), { trackerProblem: problem }));
      return;
    }
    const announced = this.#announced;
    this.#announced = [];
    if (announced.length === 0 || !this.hooks.beforeSubvolume) {
      done(null, chunk);
      return;
    }
    const before = this.hooks.beforeSubvolume;
    Promise.all(announced.map((a) => before(a))).then(
      () => done(null, chunk),
      (e: unknown) => done(e as Error),
    );
  }

  override _flush(done: TransformCallback): void {
    if (!this.#ended || this.#header.length > 0) {
      this.problem = {
        offset: this.bytes,
        reason: "truncated",
        message: `The send stream ended after ${this.bytes} bytes without its END command: it was cut off.`,
      };
      this.hooks.onTruncated?.();
      done(Object.assign(new Error(this.problem.message), { trackerProblem: this.problem }));
      return;
    }
    done();
  }

  #consume(chunk: Buffer): TrackerProblem | undefined {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#state === "payload") {
        const take = Math.min(this.#remaining, chunk.length - pos);
        this.#capture?.push(chunk.subarray(pos, pos + take));
        pos += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#finishCommand();
        continue;
      }
      if (this.#state === "cmd-header" && this.#ended && this.#header.length === 0) {
        // Bytes after END: another stream is concatenated (one per sent subvolume).
        this.#state = "stream-header";
        this.#need = STREAM_HEADER;
        this.#ended = false;
      }
      const take = Math.min(this.#need - this.#header.length, chunk.length - pos);
      this.#header = Buffer.concat([this.#header, chunk.subarray(pos, pos + take)]);
      pos += take;
      if (this.#header.length < this.#need) continue;
      const offset = this.bytes + pos - this.#need;
      const problem =
        this.#state === "stream-header" ? this.#streamHeader(offset) : this.#commandHeader(offset);
      this.#header = Buffer.alloc(0);
      if (problem) return problem;
    }
    return undefined;
  }

  #streamHeader(offset: number): TrackerProblem | undefined {
    if (!this.#header.subarray(0, MAGIC.length).equals(MAGIC))
      return {
        offset,
        reason: "bad-magic",
        message: "This is not a btrfs send stream (bad magic).",
      };
    const version = this.#header.readUInt32LE(MAGIC.length);
    if (version < 1 || version > 3)
      return {
        offset,
        reason: "unsupported-version",
        message: `Unsupported send stream version ${version}.`,
      };
    this.#ended = false;
    this.#state = "cmd-header";
    this.#need = CMD_HEADER;
    return undefined;
  }

  #commandHeader(offset: number): TrackerProblem | undefined {
    const len = this.#header.readUInt32LE(0);
    const cmd = this.#header.readUInt16LE(4);
    if (cmd === 0 || len > MAX_COMMAND)
      return {
        offset,
        reason: "bad-command",
        message: `Malformed send command ${cmd} (length ${len}).`,
      };
    this.#command = cmd;
    this.#capture = cmd === CMD_SUBVOL || cmd === CMD_SNAPSHOT ? [] : undefined;
    this.#remaining = len;
    this.#state = "payload";
    if (len === 0) this.#finishCommand();
    return undefined;
  }

  #finishCommand(): void {
    if (this.#capture) {
      const subvolume = parseSubvolCommand(Buffer.concat(this.#capture));
      this.subvolumes.push(subvolume);
      this.#announced.push(subvolume);
      this.hooks.onSubvolume?.(subvolume);
      this.#capture = undefined;
    }
    this.#ended = this.#command === CMD_END;
    this.#state = "cmd-header";
    this.#need = CMD_HEADER;
  }
}
