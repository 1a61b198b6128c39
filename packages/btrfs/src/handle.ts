/**
 * One handle on a mounted Btrfs top level, with one contract and two
 * backends: the bundled `lifeboat-btrfs-agent` (one process answers every
 * question from the kernel's ioctls) or the `btrfs` programs (one program
 * per question). Both give the same answers and the same refusals; the
 * agent is faster. The caller asks for "auto" and never has to choose.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type AbortedError, abortedError, type CommandRunner, resolveInside } from "@lifeboat/core";
import { err, errAsync, ok, okAsync, type Result, ResultAsync } from "neverthrow";
import { type AgentLease, agentRuledOut, leaseAgent } from "./_internal/agent-pool.js";
import { isExecutable } from "./_internal/build-helper.js";
import { btrfs, checkTopLevel, fromNode, type Inside } from "./_internal/common.js";
import { onDiskUuid } from "./_internal/temp-fsid.js";
import type { BtrfsAgent, StartAgentOptions, SubvolumeFacts } from "./agent.js";
import type { BtrfsError } from "./errors.js";
import {
  type ExchangeMethod,
  exchangeHelperPath,
  exchangeSubvolumes,
  findExchangeMethod,
} from "./exchange.js";
import { filesystemInfo } from "./filesystem.js";
import type { BtrfsDevice } from "./parse-filesystem.js";
import type { Subvolume } from "./parse-subvolume.js";
import { getDefaultSubvolume } from "./properties.js";
import {
  type DeleteOptions,
  type DeleteResult,
  deleteWith,
  listSubvolumes,
  requireAbsent,
  requireSubvolume,
  type SnapshotOptions,
  showSubvolume,
} from "./subvolumes.js";

/** Which implementation answers a {@link BtrfsHandle}. */
export type BtrfsBackend = "agent" | "programs";

/** Options for {@link openBtrfs}. */
export interface OpenBtrfsOptions extends StartAgentOptions {
  /**
   * `"auto"` (default): the agent when it can be started (built, or a C
   * compiler to build it), else the programs; `LIFEBOAT_BTRFS_AGENT=0` in the
   * environment makes "auto" use the programs. `"agent"`: the agent or an
   * error. `"programs"`: the `btrfs` programs only.
   */
  readonly backend?: BtrfsBackend | "auto";
  /** Once it fires, the handle answers `ABORTED` and gives its share of the agent back. */
  readonly signal?: AbortSignal;
}

/** The filesystem's identity and devices ({@link BtrfsHandle.filesystem}). */
export interface BtrfsFilesystem {
  /**
   * The filesystem UUID as it is on the disk, also when the kernel mounted it
   * under a temporary one because a copy with the same UUID was mounted first.
   */
  readonly uuid: string;
  readonly devices: readonly BtrfsDevice[];
}

/** What a {@link BtrfsHandle} method can fail with. */
export type BtrfsHandleError = BtrfsError | AbortedError;

/**
 * An open Btrfs top level. Every path is relative to it. The same calls give
 * the same answers and the same error codes whichever {@link BtrfsHandle.backend} runs
 * them: `BTRFS_SUBVOLUME_NOT_FOUND` for a path that is missing or is not a
 * subvolume root, `BTRFS_PATH_EXISTS` for a snapshot target that exists.
 * Methods may be called concurrently.
 */
export interface BtrfsHandle {
  /** The implementation that answers (decided when the handle was opened). */
  readonly backend: BtrfsBackend;
  /** The mounted top level (subvolume 5). */
  readonly top: string;
  /** Facts of the subvolume whose root is `subvolume`. */
  subvolume(subvolume: string): ResultAsync<SubvolumeFacts, BtrfsHandleError>;
  /** Every subvolume of the filesystem, paths relative to the top level. */
  listSubvolumes(): ResultAsync<Subvolume[], BtrfsHandleError>;
  /** The default subvolume's id (5 when the top level is the default). */
  defaultSubvolumeId(): ResultAsync<number, BtrfsHandleError>;
  /** The filesystem UUID and each device with its size and allocated bytes. */
  filesystem(): ResultAsync<BtrfsFilesystem, BtrfsHandleError>;
  /** Snapshot `source` to the new path `target`; committed on return. */
  snapshot(
    source: string,
    target: string,
    options?: SnapshotOptions,
  ): ResultAsync<void, BtrfsHandleError>;
  /** Delete a subvolume (with `recursive`, the ones nested in it first); refuses the default subvolume. */
  deleteSubvolume(
    subvolume: string,
    options?: DeleteOptions,
  ): ResultAsync<DeleteResult, BtrfsHandleError>;
  /** Swap the names of two subvolumes atomically (renameat2 RENAME_EXCHANGE), parents fsynced. */
  exchange(a: string, b: string): ResultAsync<void, BtrfsHandleError>;
  /** Give the handle back (the agent ends once no handle on its runner holds it). Idempotent. */
  close(): Promise<void>;
  /** {@link BtrfsHandle.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The backend-specific part: absolute paths already checked by the handle. */
interface Backend {
  readonly kind: BtrfsBackend;
  subvolume(w: Inside): ResultAsync<SubvolumeFacts, BtrfsError>;
  listSubvolumes(): ResultAsync<Subvolume[], BtrfsError>;
  defaultSubvolumeId(): ResultAsync<number, BtrfsError>;
  filesystem(): ResultAsync<BtrfsFilesystem, BtrfsError>;
  snapshot(src: Inside, dst: Inside, readOnly: boolean): ResultAsync<void, BtrfsError>;
  exchange(a: Inside, b: Inside): ResultAsync<void, BtrfsError>;
}

function factsOf(s: SubvolumeFacts): SubvolumeFacts {
  return {
    id: s.id,
    parentId: s.parentId,
    generation: s.generation,
    createdGeneration: s.createdGeneration,
    uuid: s.uuid,
    parentUuid: s.parentUuid,
    receivedUuid: s.receivedUuid,
    readOnly: s.readOnly,
  };
}

function agentBackend(agent: BtrfsAgent, top: string): Backend {
  return {
    kind: "agent",
    subvolume: (w) => agent.subvolume(w.absolute).map(factsOf),
    listSubvolumes: () => agent.listSubvolumes(top),
    defaultSubvolumeId: () => agent.defaultSubvolumeId(top),
    filesystem: () =>
      agent.devices(top).map((d) => ({
        uuid: d.fsUuid,
        devices: d.devices.map((x) => ({
          devid: x.devid,
          size: x.totalBytes,
          used: x.bytesUsed,
          path: x.path,
        })),
      })),
    snapshot: (src, dst, readOnly) => agent.snapshot(src.absolute, dst.absolute, { readOnly }),
    exchange: (a, b) => agent.exchange(a.absolute, b.absolute),
  };
}

const exchangeMethods = new WeakMap<CommandRunner, ExchangeMethod>();

/**
 * How this machine exchanges names, found once per runner: Lifeboat's own
 * helper when it is built already (no program started to find out; every
 * way makes the same renameat2 call), else {@link findExchangeMethod}'s search.
 */
function exchangeMethod(runner: CommandRunner): ResultAsync<ExchangeMethod, BtrfsError> {
  const known = exchangeMethods.get(runner);
  if (known) return okAsync(known);
  const helper = exchangeHelperPath();
  return isExecutable(helper)
    .andThen(
      (built): ResultAsync<ExchangeMethod, BtrfsError> =>
        built ? okAsync({ kind: "helper", command: helper }) : findExchangeMethod(runner),
    )
    .map((m) => {
      exchangeMethods.set(runner, m);
      return m;
    });
}

function programsBackend(runner: CommandRunner, top: string): Backend {
  return {
    kind: "programs",
    subvolume: (w) => showSubvolume(runner, top, w.relative).map(factsOf),
    listSubvolumes: () => listSubvolumes(runner, top),
    defaultSubvolumeId: () => getDefaultSubvolume(runner, top).map((d) => d.id),
    filesystem: () =>
      filesystemInfo(runner, top).map((f) => ({ uuid: f.uuid, devices: f.devices })),
    snapshot: (src, dst, readOnly) =>
      btrfs(runner, [
        "subvolume",
        "snapshot",
        ...(readOnly ? ["-r"] : []),
        src.absolute,
        dst.absolute,
      ]).map(() => undefined),
    exchange: (a, b) =>
      exchangeMethod(runner)
        .andThen((method) => exchangeSubvolumes(runner, top, a.relative, b.relative, { method }))
        .map(() => undefined),
  };
}

/** Pick the backend: the agent's share is taken synchronously, so it starts at once. */
function chooseBackend(
  runner: CommandRunner,
  top: string,
  options: OpenBtrfsOptions,
): { lease: AgentLease | undefined; backend: Promise<Result<Backend, BtrfsError>> } {
  const wanted = options.backend ?? "auto";
  if (wanted === "programs" || (wanted === "auto" && agentRuledOut()))
    return { lease: undefined, backend: Promise.resolve(ok(programsBackend(runner, top))) };
  const lease = leaseAgent(runner, options, wanted === "auto");
  return {
    lease,
    backend: lease.ready.then((started) => {
      if (started.isOk()) return ok(agentBackend(started.value, top));
      lease.release();
      return wanted === "auto" ? ok(programsBackend(runner, top)) : err(started.error);
    }),
  };
}

class Handle implements BtrfsHandle {
  readonly backend: BtrfsBackend;
  private closed = false;

  constructor(
    readonly top: string,
    private readonly runner: CommandRunner,
    private readonly impl: Backend,
    private readonly lease: AgentLease | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.backend = impl.kind;
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  private readonly onAbort = () => {
    void this.close();
  };

  /** Refuse once closed or cancelled; else resolve `rel` inside the top level (checked at open). */
  private at(rel: string): ResultAsync<Inside, BtrfsHandleError> {
    return this.live().andThen(() =>
      resolveInside(this.top, rel).map((absolute) => ({
        absolute,
        relative: path.relative(this.top, absolute),
      })),
    );
  }

  private live(): ResultAsync<void, BtrfsHandleError> {
    if (this.signal?.aborted) return errAsync(abortedError("asking Btrfs", this.signal.reason));
    if (this.closed)
      return errAsync({
        code: "INVALID_ARGUMENT",
        message: `The Btrfs handle on ${this.top} is closed.`,
        argument: "handle",
      });
    return okAsync(undefined);
  }

  subvolume(subvolume: string): ResultAsync<SubvolumeFacts, BtrfsHandleError> {
    return this.at(subvolume)
      .andThen(requireSubvolume)
      .andThen((w) => this.impl.subvolume(w));
  }

  listSubvolumes(): ResultAsync<Subvolume[], BtrfsHandleError> {
    return this.live().andThen(() => this.impl.listSubvolumes());
  }

  defaultSubvolumeId(): ResultAsync<number, BtrfsHandleError> {
    return this.live().andThen(() => this.impl.defaultSubvolumeId());
  }

  filesystem(): ResultAsync<BtrfsFilesystem, BtrfsHandleError> {
    return this.live()
      .andThen(() => this.impl.filesystem())
      .andThen((f) => onDiskUuid(f.uuid).map((uuid) => ({ ...f, uuid })));
  }

  snapshot(
    source: string,
    target: string,
    options: SnapshotOptions = {},
  ): ResultAsync<void, BtrfsHandleError> {
    return this.at(source)
      .andThen(requireSubvolume)
      .andThen((src) =>
        this.at(target)
          .andThen(requireAbsent)
          .andThen((dst) =>
            options.parents
              ? fromNode(
                  mkdir(path.dirname(dst.absolute), { recursive: true }),
                  dst.absolute,
                  "create",
                ).map(() => dst)
              : okAsync(dst),
          )
          .andThen((dst) => this.impl.snapshot(src, dst, options.readOnly ?? false)),
      );
  }

  deleteSubvolume(
    subvolume: string,
    options: DeleteOptions = {},
  ): ResultAsync<DeleteResult, BtrfsHandleError> {
    return this.at(subvolume).andThen((where) =>
      deleteWith(
        this.runner,
        this.top,
        where,
        {
          list: () => this.impl.listSubvolumes(),
          defaultId: () => this.impl.defaultSubvolumeId(),
        },
        options,
      ),
    );
  }

  exchange(a: string, b: string): ResultAsync<void, BtrfsHandleError> {
    return this.at(a)
      .andThen(requireSubvolume)
      .andThen((wa) =>
        this.at(b)
          .andThen(requireSubvolume)
          .andThen((wb) => this.impl.exchange(wa, wb)),
      );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener("abort", this.onAbort);
    this.lease?.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Open the Btrfs top level mounted at `top` (see {@link mountTopLevel}) with
 * one backend, chosen here: `"auto"` takes the `lifeboat-btrfs-agent` when it
 * can be started and the `btrfs` programs otherwise ({@link BtrfsHandle.backend}
 * says which). Handles opened on the same runner share one agent, which ends
 * a turn of the event loop after the last of them is closed, so work that
 * opens and closes handles one after another keeps one agent.
 *
 * @example
 * ```ts
 * const opened = await openBtrfs(runner, "/mnt/top");
 * if (opened.isOk()) {
 *   await using fs = opened.value;
 *   fs.backend; // "agent"
 *   const root = await fs.subvolume("root"); // uuid, read-only flag, ...
 *   await fs.snapshot("snapshots/factory", "root.new");
 *   await fs.exchange("root", "root.new");
 * }
 * ```
 */
export function openBtrfs(
  runner: CommandRunner,
  top: string,
  options: OpenBtrfsOptions = {},
): ResultAsync<BtrfsHandle, BtrfsHandleError> {
  if (options.signal?.aborted)
    return errAsync(abortedError("opening Btrfs", options.signal.reason));
  const { lease, backend } = chooseBackend(runner, top, options);
  const checked = lease?.checkedTops.has(top)
    ? okAsync(top)
    : checkTopLevel(top).map((t) => {
        lease?.checkedTops.add(t);
        return t;
      });
  return checked
    .orElse((e) => {
      lease?.release();
      return errAsync<string, BtrfsHandleError>(e);
    })
    .andThen(() => new ResultAsync(backend))
    .map((impl) => new Handle(top, runner, impl, lease, options.signal));
}

/**
 * Open a handle ({@link openBtrfs}), run `work` with it and close it, also
 * when `work` fails.
 *
 * @example
 * ```ts
 * const facts = await withBtrfs(runner, "/mnt/top", (fs) => fs.subvolume("root"));
 * ```
 */
export function withBtrfs<T, E>(
  runner: CommandRunner,
  top: string,
  work: (handle: BtrfsHandle) => ResultAsync<T, E>,
  options: OpenBtrfsOptions = {},
): ResultAsync<T, E | BtrfsHandleError> {
  return openBtrfs(runner, top, options).andThen(
    (handle) =>
      new ResultAsync(
        (async () => {
          try {
            return await work(handle);
          } finally {
            await handle.close();
          }
        })(),
      ),
  );
}
