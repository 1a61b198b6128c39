/**
 * The Btrfs operations the reset's steps need, on `@lifeboat/btrfs`, with
 * the extra durability the reset wants (fsync of parents, committed
 * transactions) and "nothing there" as a value rather than an error.
 */
import { access, constants, mkdir, readdir, realpath, rename } from "node:fs/promises";
import path from "node:path";
import * as btrfs from "@lifeboat/btrfs";
import {
  type CommandRunner,
  fsyncDirectory,
  type LifeboatError,
  readMountinfo,
  resolveInside,
} from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import type { UnexpectedStateError } from "../errors.js";
import { kernelDeviceName } from "./block-device.js";
import { io, statMaybe } from "./fs.js";

/** What the reset needs to know about one subvolume. */
export interface SubvolumeFacts {
  readonly id: number;
  readonly uuid: string;
  readonly parentUuid: string | undefined;
  readonly readOnly: boolean;
}

interface AgentLease {
  /** Settles once the agent runs, or to undefined when it cannot be started. */
  readonly ready: Promise<btrfs.BtrfsAgent | undefined>;
  users: number;
}

const agents = new WeakMap<CommandRunner, AgentLease>();
/** Set once this process found it cannot start the agent (no compiler, no build): not tried again. */
let agentUnavailable = false;

async function startAgent(runner: CommandRunner): Promise<btrfs.BtrfsAgent | undefined> {
  if (agentUnavailable || process.env.LIFEBOAT_BTRFS_AGENT === "0") return undefined;
  const started = await btrfs.startBtrfsAgent(runner);
  if (started.isOk()) return started.value;
  agentUnavailable = true;
  return undefined;
}

/**
 * Run `work` with a `lifeboat-btrfs-agent` started for `runner` (one process
 * answers the work's Btrfs questions and makes its snapshots and exchanges,
 * instead of one `btrfs` program each). The agent starts alongside the work,
 * whose first Btrfs question waits for it. Nested and concurrent uses share
 * one agent. When the last one is out, the agent is closed on the next turn
 * of the event loop, so work that follows at once on the same runner
 * (`inspect`, then `plan`, then `executeReset`) keeps it. Where the agent
 * cannot be started (no compiler and no build, or `LIFEBOAT_BTRFS_AGENT=0`)
 * the work runs with `btrfs` programs: same answers, slower.
 */
export function withBtrfsAgent<T, E>(
  runner: CommandRunner,
  work: () => ResultAsync<T, E>,
): ResultAsync<T, E> {
  let lease = agents.get(runner);
  if (lease === undefined) {
    lease = { ready: startAgent(runner), users: 0 };
    agents.set(runner, lease);
  }
  const held = lease;
  held.users++;
  const run = async () => {
    try {
      return await work();
    } finally {
      held.users--;
      if (held.users === 0)
        setImmediate(() => {
          if (held.users > 0 || agents.get(runner) !== held) return;
          agents.delete(runner);
          void held.ready.then((agent) => agent?.close());
        });
    }
  };
  return new ResultAsync(run());
}

/** The agent started for `runner` by {@link withBtrfsAgent}, once it runs (undefined: use programs). */
export function agentFor(runner: CommandRunner): ResultAsync<btrfs.BtrfsAgent | undefined, never> {
  return ResultAsync.fromSafePromise(agents.get(runner)?.ready ?? Promise.resolve(undefined));
}

/** Facts about the subvolume at `rel` under the top level, or undefined when nothing is there. */
export function subvolumeAt(
  runner: CommandRunner,
  top: string,
  rel: string,
): ResultAsync<SubvolumeFacts | undefined, LifeboatError> {
  const abs = path.join(top, rel);
  return io(statMaybe(abs), abs, "stat").andThen((st) => {
    if (st === undefined) return okAsync(undefined);
    if (!st.isDirectory() || st.ino !== 256)
      return errAsync<SubvolumeFacts | undefined, LifeboatError>(notSubvolume(abs));
    return agentFor(runner).andThen((agent) =>
      agent
        ? agent.subvolume(abs).map(factsOf)
        : btrfs.showSubvolume(runner, top, rel).map(factsOf),
    );
  });
}

function factsOf(s: SubvolumeFacts): SubvolumeFacts {
  return { id: s.id, uuid: s.uuid, parentUuid: s.parentUuid, readOnly: s.readOnly };
}

function notSubvolume(abs: string): UnexpectedStateError {
  return {
    code: "RESET_UNEXPECTED_STATE",
    message: `${abs} exists but is not a subvolume.`,
    stepKind: "btrfs",
    detail: "not a subvolume",
  };
}

/**
 * True when the subvolume at `abs` refuses writes: Btrfs answers a write
 * permission check on a read-only subvolume with EROFS (btrfs_permission),
 * whoever asks, so no program is needed.
 */
export async function isReadOnlySubvolume(abs: string): Promise<boolean> {
  try {
    await access(abs, constants.W_OK);
    return false;
  } catch (e) {
    if ((e as { code?: string }).code === "EROFS") return true;
    throw e;
  }
}

/** The subvolume root at `rel` exists (undefined when nothing is there; an error when it is not a subvolume). */
export function subvolumeExists(top: string, rel: string): ResultAsync<boolean, LifeboatError> {
  const abs = path.join(top, rel);
  return io(statMaybe(abs), abs, "stat").andThen((st) => {
    if (st === undefined) return okAsync(false);
    if (!st.isDirectory() || st.ino !== 256)
      return errAsync<boolean, LifeboatError>(notSubvolume(abs));
    return okAsync(true);
  });
}

const LIST_LINE = /^ID (\d+) gen \d+ top level \d+ parent_uuid (\S+)\s+uuid (\S+) path (.*)$/;

/**
 * Facts about several subvolumes with one program run (`btrfs subvolume
 * list -u -q`, read-only flags by {@link isReadOnlySubvolume}) instead of one
 * `btrfs subvolume show` each. Undefined for a path where nothing is.
 */
export function subvolumesAt(
  runner: CommandRunner,
  top: string,
  rels: readonly string[],
): ResultAsync<(SubvolumeFacts | undefined)[], LifeboatError> {
  return ResultAsync.combine(rels.map((rel) => subvolumeExists(top, rel))).andThen((present) => {
    const wanted = rels.filter((_, i) => present[i]);
    if (wanted.length === 0) return okAsync(rels.map(() => undefined));
    return agentFor(runner).andThen((agent) =>
      agent
        ? ResultAsync.combine(
            rels.map((rel, i) =>
              present[i]
                ? agent.subvolume(path.join(top, rel)).map(factsOf)
                : okAsync<SubvolumeFacts | undefined, LifeboatError>(undefined),
            ),
          )
        : factsByProgram(runner, top, rels, present),
    );
  });
}

/** {@link subvolumesAt} without the agent: one `btrfs subvolume list` (or `show` for one). */
function factsByProgram(
  runner: CommandRunner,
  top: string,
  rels: readonly string[],
  present: readonly boolean[],
): ResultAsync<(SubvolumeFacts | undefined)[], LifeboatError> {
  const wanted = rels.filter((_, i) => present[i]);
  if (wanted.length === 1)
    return subvolumeAt(runner, top, wanted[0]!).map((f) =>
      rels.map((_, i) => (present[i] ? f : undefined)),
    );
  return runner
    .run("btrfs", ["subvolume", "list", "-u", "-q", top])
    .mapErr((e): LifeboatError => e)
    .andThen((r) => {
      const byPath = new Map<
        string,
        { id: number; uuid: string; parentUuid: string | undefined }
      >();
      for (const line of r.stdout.split("\n")) {
        const m = LIST_LINE.exec(line.trim());
        if (m)
          byPath.set(m[4]!, {
            id: Number(m[1]),
            uuid: m[3]!,
            parentUuid: m[2] === "-" ? undefined : m[2],
          });
      }
      return io(
        Promise.all(
          rels.map(async (rel, i): Promise<SubvolumeFacts | undefined> => {
            if (!present[i]) return undefined;
            const key = path.normalize(rel).replace(/^\/+|\/+$/g, "");
            const found = byPath.get(key);
            if (found === undefined)
              throw Object.assign(new Error(`btrfs subvolume list does not show ${key}`), {
                code: "ENOENT",
              });
            return { ...found, readOnly: await isReadOnlySubvolume(path.join(top, rel)) };
          }),
        ),
        top,
        "read subvolume facts",
      );
    });
}

/**
 * True when the Btrfs mounted at `top` has the filesystem UUID `fsUuid`,
 * read without a program from /proc/self/mountinfo (the mounted device) and
 * /sys/fs/btrfs/<uuid>/devices/ (the kernel's list of that filesystem's
 * devices). False only when sysfs has no filesystem with that UUID at all;
 * undefined when it cannot tell (then ask `btrfs filesystem show`).
 */
export async function filesystemHasUuid(top: string, fsUuid: string): Promise<boolean | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(fsUuid)) return false;
  const devices = path.join("/sys/fs/btrfs", fsUuid.toLowerCase(), "devices");
  const real = await realpath(top);
  const mounts = await readMountinfo();
  if (mounts.isErr()) return undefined;
  const source = mounts.value.filter((m) => m.mountPoint === real).at(-1)?.source;
  if (source === undefined || !source.startsWith("/dev/")) return undefined;
  let names: string[];
  try {
    names = await readdir(devices);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") return undefined;
    // No such filesystem in sysfs: either another UUID, or no sysfs at all.
    try {
      await readdir("/sys/fs/btrfs");
      return false;
    } catch {
      return undefined;
    }
  }
  // A device sysfs does not list (an unexpected node name) proves nothing: ask the program.
  return names.includes(await kernelDeviceName(source)) ? true : undefined;
}

/** Snapshot `source` to `target` (both relative to the top level), committed. */
export function snapshot(
  runner: CommandRunner,
  top: string,
  source: string,
  target: string,
  options: { readonly readOnly?: boolean } = {},
): ResultAsync<void, LifeboatError> {
  // The snapshot ioctl commits its transaction before it returns
  // (create_snapshot -> btrfs_commit_transaction), so no sync is needed.
  return resolveInside(top, source).andThen((src) =>
    resolveInside(top, target)
      .andThen((dst) =>
        io(
          (async () => {
            // btrfs would snapshot *into* an existing directory: refuse instead.
            if ((await statMaybe(dst)) !== undefined)
              throw Object.assign(new Error(`${dst} already exists`), { code: "EEXIST" });
            await mkdir(path.dirname(dst), { recursive: true });
            return dst;
          })(),
          dst,
          "snapshot",
        ),
      )
      .andThen((dst) =>
        agentFor(runner).andThen(
          (agent): ResultAsync<unknown, LifeboatError> =>
            agent
              ? agent.snapshot(src, dst, options)
              : runner.run("btrfs", [
                  "subvolume",
                  "snapshot",
                  ...(options.readOnly ? ["-r"] : []),
                  src,
                  dst,
                ]),
        ),
      )
      .map(() => undefined),
  );
}

/** Create an empty subvolume, committed. */
export function createSubvolume(
  runner: CommandRunner,
  top: string,
  target: string,
): ResultAsync<void, LifeboatError> {
  return btrfs
    .createSubvolume(runner, top, target, { parents: true })
    .andThen(() => syncFilesystem(runner, top));
}

/** Delete a subvolume and every subvolume nested in it (deepest first); nothing there is fine. */
export function deleteSubvolume(
  runner: CommandRunner,
  top: string,
  target: string,
): ResultAsync<void, LifeboatError> {
  return subvolumeAt(runner, top, target).andThen((found) =>
    found === undefined
      ? okAsync(undefined)
      : btrfs.deleteSubvolume(runner, top, target, { recursive: true }).map(() => undefined),
  );
}

/** Rename a subvolume inside the filesystem, durably (one rename(2); no program). */
export function renameDurable(
  _runner: CommandRunner,
  top: string,
  from: string,
  to: string,
): ResultAsync<void, LifeboatError> {
  return resolveInside(top, from).andThen((src) =>
    resolveInside(top, to).andThen((dst) =>
      io(
        (async () => {
          await mkdir(path.dirname(dst), { recursive: true });
          await rename(src, dst);
          for (const dir of new Set([path.dirname(dst), path.dirname(src)]))
            await fsyncDirectory(dir);
        })(),
        dst,
        "rename",
      ),
    ),
  );
}

/** Swap two names atomically (renameat2 RENAME_EXCHANGE; the directories are fsynced). */
export function exchange(
  runner: CommandRunner,
  top: string,
  a: string,
  b: string,
): ResultAsync<void, LifeboatError> {
  return agentFor(runner).andThen((agent) =>
    agent
      ? // The same renameat2(RENAME_EXCHANGE) and parent fsyncs, in the agent already running.
        ResultAsync.combine([bothSubvolumes(top, a), bothSubvolumes(top, b)]).andThen(([pa, pb]) =>
          agent.exchange(pa, pb),
        )
      : exchangeMethod(runner)
          .andThen((method) => btrfs.exchangeSubvolumes(runner, top, a, b, { method }))
          .map(() => undefined),
  );
}

/** The absolute path of `rel`, which must be a subvolume root (as `exchangeSubvolumes` requires). */
function bothSubvolumes(top: string, rel: string): ResultAsync<string, LifeboatError> {
  return resolveInside(top, rel).andThen((abs) =>
    subvolumeExists(top, rel).andThen((found) =>
      found ? okAsync(abs) : errAsync<string, LifeboatError>(notFound(rel)),
    ),
  );
}

function notFound(rel: string): btrfs.BtrfsSubvolumeNotFoundError {
  return { code: "BTRFS_SUBVOLUME_NOT_FOUND", message: `No subvolume at ${rel}.`, subvolume: rel };
}

const methods = new WeakMap<CommandRunner, btrfs.ExchangeMethod>();

/**
 * How this machine exchanges names, found once per runner: Lifeboat's own
 * helper when it is built already (no program started to find out; all
 * three ways make the same renameat2 call), else the search of
 * `findExchangeMethod` (up to three programs).
 */
function exchangeMethod(runner: CommandRunner): ResultAsync<btrfs.ExchangeMethod, LifeboatError> {
  const known = methods.get(runner);
  if (known) return okAsync(known);
  const helper = btrfs.exchangeHelperPath();
  return io(
    access(helper, constants.X_OK).then(
      () => true,
      () => false,
    ),
    helper,
    "check",
  )
    .andThen((built) =>
      built
        ? okAsync<btrfs.ExchangeMethod, LifeboatError>({ kind: "helper", command: helper })
        : btrfs.findExchangeMethod(runner),
    )
    .map((m) => {
      methods.set(runner, m);
      return m;
    });
}

/** Commit the filesystem's current transaction (everything written so far is on disk). */
export function syncFilesystem(
  runner: CommandRunner,
  top: string,
): ResultAsync<void, LifeboatError> {
  return runner.run("btrfs", ["filesystem", "sync", top]).map(() => undefined);
}
