/**
 * One process for many Btrfs questions: the bundled `lifeboat-btrfs-agent`
 * (C source shipped in this package, compiled on demand like
 * `lifeboat-exch`) answers subvolume facts, the subvolume list, the default
 * subvolume and the devices straight from the kernel's ioctls, and makes
 * snapshots and exchanges, one request per line. A caller that asks a dozen
 * questions starts one process instead of a dozen `btrfs` programs (each
 * costs several milliseconds to start; the answers cost microseconds).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { constants } from "node:os";
import path from "node:path";
import type { CommandRunner, IoFailedError, RunningCommand } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import {
  compileHelper,
  type HelperSpec,
  helperPath,
  isExecutable,
} from "./_internal/build-helper.js";
import type { BtrfsError } from "./errors.js";
import type { BuildHelperOptions, ExchangeHelper, ExchangeHelperLocation } from "./exchange.js";
import type { Subvolume } from "./parse-subvolume.js";

const SPEC: HelperSpec = {
  name: "lifeboat-btrfs-agent",
  main: "lifeboat-btrfs-agent.c",
  envVar: "LIFEBOAT_AGENT_HELPER",
};

/**
 * Where the compiled `lifeboat-btrfs-agent` is (or will be once built):
 * `$LIFEBOAT_AGENT_HELPER` when set, else
 * `<cacheDir>/lifeboat-btrfs-agent-<hash of its source>`. Pure.
 *
 * @example
 * ```ts
 * agentHelperPath(); // "/var/cache/lifeboat/lifeboat-btrfs-agent-1c9e0b7a2d4f" (as root)
 * ```
 */
export function agentHelperPath(options: ExchangeHelperLocation = {}): string {
  return helperPath(SPEC, options.cacheDir);
}

/**
 * Compile `lifeboat-btrfs-agent` into its cache directory (statically when
 * `-static` links), or return the existing build.
 *
 * @example
 * ```ts
 * const h = await buildAgentHelper(runner);
 * if (h.isOk()) h.value.path;
 * ```
 */
export function buildAgentHelper(
  runner: CommandRunner,
  options: BuildHelperOptions = {},
): ResultAsync<ExchangeHelper, BtrfsError> {
  return compileHelper(runner, {
    ...SPEC,
    target: agentHelperPath(options),
    ...(options.compiler === undefined ? {} : { compiler: options.compiler }),
    ...(options.force === undefined ? {} : { force: options.force }),
  });
}

/** Facts of one subvolume, by its root directory ({@link BtrfsAgent.subvolume}). */
export interface SubvolumeFacts {
  readonly id: number;
  /** Id of the subvolume holding this one's directory entry. */
  readonly parentId: number;
  readonly generation: number;
  readonly createdGeneration: number;
  readonly uuid: string;
  readonly parentUuid: string | undefined;
  readonly receivedUuid: string | undefined;
  readonly readOnly: boolean;
}

/** The filesystem's devices ({@link BtrfsAgent.devices}). */
export interface AgentDevices {
  /** The filesystem UUID. */
  readonly fsUuid: string;
  readonly devices: readonly {
    readonly devid: number;
    /** Size of the device as the filesystem uses it. */
    readonly totalBytes: number;
    /** Bytes allocated to chunks on it. */
    readonly bytesUsed: number;
    readonly path: string;
  }[];
}

/**
 * A running `lifeboat-btrfs-agent`. Its methods may be called concurrently;
 * requests are answered one at a time, in order. Paths are absolute (or
 * relative to the caller's working directory): callers resolve subvolume
 * paths under a top level first.
 */
export interface BtrfsAgent {
  /** The subvolume whose root directory `dir` is (`IO_FAILED` with `EINVAL` when `dir` is not one). */
  subvolume(dir: string): ResultAsync<SubvolumeFacts, IoFailedError>;
  /** Every subvolume of the filesystem `top` is on, like `btrfs subvolume list -a`, paths from the top level. */
  listSubvolumes(top: string): ResultAsync<Subvolume[], IoFailedError>;
  /** The default subvolume's id (5 when the top level is the default). */
  defaultSubvolumeId(top: string): ResultAsync<number, IoFailedError>;
  /** The filesystem UUID and each device with its size. */
  devices(top: string): ResultAsync<AgentDevices, IoFailedError>;
  /** Snapshot the subvolume at `source` to the new path `target` (its parent must exist); committed on return. */
  snapshot(
    source: string,
    target: string,
    options?: { readonly readOnly?: boolean },
  ): ResultAsync<void, IoFailedError>;
  /** Swap two names with renameat2(RENAME_EXCHANGE), then fsync both parent directories. */
  exchange(a: string, b: string): ResultAsync<void, IoFailedError>;
  /** End the agent (end of its input). Idempotent. */
  close(): Promise<void>;
}

/** Options for {@link startBtrfsAgent}. */
export interface StartAgentOptions extends BuildHelperOptions {
  /** Compile the agent when it is not built yet. Default true. */
  readonly build?: boolean;
}

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n, name]),
);

const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");
const unhex = (s: string) => Buffer.from(s, "hex").toString("utf8");
const uuidOf = (s: string | undefined) => (s === undefined || s === "-" ? undefined : s);

function agentError(
  target: string,
  operation: string,
  message: string,
  errno?: string,
): IoFailedError {
  return {
    code: "IO_FAILED",
    message: `${operation} ${target}: ${message}`,
    path: target,
    operation,
    errno,
  };
}

/** key=value tokens of an `ok` answer (repeated keys collected in order). */
function fields(line: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const token of line.split(" ").slice(1)) {
    const eq = token.indexOf("=");
    if (eq < 0) continue;
    const key = token.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), token.slice(eq + 1)]);
  }
  return out;
}

/**
 * `/dev/dm-N` as `/dev/mapper/<name>`, the name btrfs-progs shows (and the
 * mount table holds) for a device-mapper device; other paths unchanged.
 */
async function mapperName(device: string): Promise<string> {
  const m = /^\/dev\/(dm-\d+)$/.exec(device);
  if (!m) return device;
  try {
    const name = (await readFile(`/sys/block/${m[1]}/dm/name`, "utf8")).trim();
    return name ? `/dev/mapper/${name}` : device;
  } catch {
    return device;
  }
}

class Agent implements BtrfsAgent {
  private buffered = "";
  private readonly waiting: ((line: string | undefined) => void)[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private ended = false;

  constructor(
    private readonly child: RunningCommand,
    private readonly command: string,
  ) {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      this.buffered += chunk;
      for (let nl = this.buffered.indexOf("\n"); nl >= 0; nl = this.buffered.indexOf("\n")) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.waiting.shift()?.(line);
      }
    });
    const gone = () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(undefined);
    };
    child.stdout.on("end", gone);
    child.stdout.on("error", gone);
    child.stdin?.on("error", gone);
    // The exit status is of no interest once every answer is read; never unhandled.
    void child.done.then(gone, gone);
  }

  /** Send one request and read its one answer line; requests are serialized. */
  private ask(
    verb: string,
    args: readonly string[],
    target: string,
  ): ResultAsync<string, IoFailedError> {
    const turn = this.queue.then(
      () =>
        new Promise<string | undefined>((resolve) => {
          if (this.ended || !this.child.stdin) return resolve(undefined);
          this.waiting.push(resolve);
          this.child.stdin.write(`${[verb, ...args.map(hex)].join(" ")}\n`);
        }),
    );
    this.queue = turn.catch(() => undefined);
    return ResultAsync.fromSafePromise(turn).andThen((line) => {
      if (line === undefined)
        return errAsync(agentError(target, verb, `${this.command} ended before it answered`));
      if (line === "ok" || line.startsWith("ok ")) return okAsync(line);
      const m = /^err (\d+) ([0-9a-f]*)$/.exec(line);
      if (!m)
        return errAsync(
          agentError(target, verb, `unexpected answer from ${this.command}: ${line.slice(0, 200)}`),
        );
      return errAsync(agentError(target, verb, unhex(m[2]!), ERRNO_NAMES.get(Number(m[1]))));
    });
  }

  subvolume(dir: string): ResultAsync<SubvolumeFacts, IoFailedError> {
    return this.ask("info", [dir], dir).andThen((line) => {
      const f = fields(line);
      const one = (k: string) => f.get(k)?.[0];
      const id = Number(one("id"));
      const uuid = uuidOf(one("uuid"));
      if (!Number.isInteger(id) || id < 5 || (uuid === undefined && id !== 5))
        return errAsync(agentError(dir, "info", `unexpected answer: ${line.slice(0, 200)}`));
      return okAsync({
        id,
        parentId: Number(one("parent")),
        generation: Number(one("gen")),
        createdGeneration: Number(one("cgen")),
        uuid: uuid ?? "",
        parentUuid: uuidOf(one("puuid")),
        receivedUuid: uuidOf(one("ruuid")),
        readOnly: one("ro") === "1",
      });
    });
  }

  listSubvolumes(top: string): ResultAsync<Subvolume[], IoFailedError> {
    return this.ask("list", [top], top).andThen((line) => {
      // After "ok n=N": N groups of "sub=… u=… p=… r=…", in that order.
      const tokens = line.split(" ").slice(2);
      const raw: {
        id: number;
        parentId: number;
        generation: number;
        createdGeneration: number;
        readOnly: boolean;
        dir: string;
        name: string;
        uuid: string | undefined;
        parentUuid: string | undefined;
        receivedUuid: string | undefined;
      }[] = [];
      for (let i = 0; i + 3 < tokens.length && tokens[i]?.startsWith("sub="); i += 4) {
        const [id, parent, gen, cgen, ro, dir, name] = tokens[i]!.slice(4).split(",");
        raw.push({
          id: Number(id),
          parentId: Number(parent),
          generation: Number(gen),
          createdGeneration: Number(cgen),
          readOnly: ro === "1",
          dir: unhex(dir ?? ""),
          name: unhex(name ?? ""),
          uuid: uuidOf(tokens[i + 1]?.slice(2)),
          parentUuid: uuidOf(tokens[i + 2]?.slice(2)),
          receivedUuid: uuidOf(tokens[i + 3]?.slice(2)),
        });
      }
      const n = Number(fields(line).get("n")?.[0]);
      if (raw.length !== n)
        return errAsync(agentError(top, "list", `unexpected answer: ${line.slice(0, 200)}`));
      const byId = new Map(raw.map((s) => [s.id, s]));
      const paths = new Map<number, string>();
      const pathOf = (id: number, depth = 0): string => {
        if (id === 5) return "";
        const known = paths.get(id);
        if (known !== undefined) return known;
        const s = byId.get(id);
        // A parent this list does not hold (deleted meanwhile) or a loop: name it by id.
        if (s === undefined || depth > 4096) return `<id ${id}>`;
        const parent = pathOf(s.parentId, depth + 1);
        const p = path.posix.join(parent, s.dir, s.name);
        paths.set(id, p);
        return p;
      };
      return okAsync(
        raw.map(
          (s): Subvolume => ({
            id: s.id,
            generation: s.generation,
            createdGeneration: s.createdGeneration,
            parentId: s.parentId,
            topLevelId: s.parentId,
            uuid: s.uuid ?? "",
            parentUuid: s.parentUuid,
            receivedUuid: s.receivedUuid,
            path: pathOf(s.id),
            readOnly: s.readOnly,
          }),
        ),
      );
    });
  }

  defaultSubvolumeId(top: string): ResultAsync<number, IoFailedError> {
    return this.ask("default", [top], top).map((line) => Number(fields(line).get("id")?.[0]));
  }

  devices(top: string): ResultAsync<AgentDevices, IoFailedError> {
    return this.ask("devices", [top], top).andThen((line) => {
      const f = fields(line);
      const devices = (f.get("dev") ?? []).map(async (d) => {
        const [devid, total, used, p] = d.split(",");
        return {
          devid: Number(devid),
          totalBytes: Number(total),
          bytesUsed: Number(used),
          path: await mapperName(unhex(p ?? "")),
        };
      });
      return ResultAsync.fromSafePromise(Promise.all(devices)).map((list) => ({
        fsUuid: f.get("fsid")?.[0] ?? "",
        devices: list,
      }));
    });
  }

  snapshot(
    source: string,
    target: string,
    options: { readonly readOnly?: boolean } = {},
  ): ResultAsync<void, IoFailedError> {
    const dir = path.dirname(path.resolve(target));
    const name = path.basename(target);
    return this.ask("snapshot", [source, dir, name, options.readOnly ? "1" : "0"], target).map(
      () => undefined,
    );
  }

  exchange(a: string, b: string): ResultAsync<void, IoFailedError> {
    return this.ask("exchange", [a, b], a).map(() => undefined);
  }

  async close(): Promise<void> {
    if (!this.ended) this.child.stdin?.end();
    await this.child.done.then(
      () => undefined,
      () => undefined,
    );
  }
}

/**
 * Start `lifeboat-btrfs-agent` (building it first with `cc` when it is not
 * built and `build` is not false). Close it when done.
 *
 * @example
 * ```ts
 * const agent = await startBtrfsAgent(runner);
 * if (agent.isOk()) {
 *   const subs = await agent.value.listSubvolumes("/mnt/top");
 *   const root = await agent.value.subvolume("/mnt/top/root"); // uuid, read-only flag, ...
 *   await agent.value.close();
 * }
 * ```
 */
export function startBtrfsAgent(
  runner: CommandRunner,
  options: StartAgentOptions = {},
): ResultAsync<BtrfsAgent, BtrfsError> {
  const helper = agentHelperPath(options);
  return isExecutable(helper)
    .andThen((built): ResultAsync<string, BtrfsError> => {
      if (built) return okAsync(helper);
      if (options.build === false)
        return errAsync(agentError(helper, "start", "the agent is not built", "ENOENT"));
      return buildAgentHelper(runner, options).map((h) => h.path);
    })
    .map((command) => new Agent(runner.spawn(command, [], { stdin: "pipe" }), command));
}
