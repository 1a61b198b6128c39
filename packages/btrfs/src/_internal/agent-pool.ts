/**
 * One `lifeboat-btrfs-agent` per command runner, shared by every handle
 * opened on it: the first opener starts it, the last one out closes it on
 * the next turn of the event loop (so work that follows at once on the same
 * runner, such as `inspect` then `plan` then `executeReset`, keeps it).
 */
import type { CommandRunner } from "@lifeboat/core";
import { err, ok, type Result } from "neverthrow";
import { type BtrfsAgent, type StartAgentOptions, startBtrfsAgent } from "../agent.js";
import type { BtrfsError } from "../errors.js";

/** A share of the runner's agent; `ready` settles once it runs or failed to start. */
export interface AgentLease {
  readonly ready: Promise<Result<BtrfsAgent, BtrfsError>>;
  /** Top levels checked already while this agent runs (a top level stays mounted meanwhile). */
  readonly checkedTops: Set<string>;
  /** Give the share back (idempotent per lease taken). */
  release(): void;
}

interface Shared {
  readonly ready: Promise<Result<BtrfsAgent, BtrfsError>>;
  readonly checkedTops: Set<string>;
  users: number;
}

const shared = new WeakMap<CommandRunner, Shared>();
/** Set once "auto" failed to start the agent in this process (no compiler, no build): not tried again. */
let unavailable = false;

/** True when "auto" should not try the agent: `LIFEBOAT_BTRFS_AGENT=0`, or it failed to start before. */
export function agentRuledOut(): boolean {
  return unavailable || process.env.LIFEBOAT_BTRFS_AGENT === "0";
}

async function start(
  runner: CommandRunner,
  options: StartAgentOptions,
  auto: boolean,
  forget: () => void,
): Promise<Result<BtrfsAgent, BtrfsError>> {
  const started = await startBtrfsAgent(runner, options);
  if (started.isOk()) return ok(started.value);
  if (auto) unavailable = true;
  forget();
  return err(started.error);
}

/**
 * Take a share of `runner`'s agent, starting it when no one holds one. Runs
 * synchronously up to the start, so the agent starts alongside whatever the
 * caller does next.
 */
export function leaseAgent(
  runner: CommandRunner,
  options: StartAgentOptions,
  auto: boolean,
): AgentLease {
  let entry = shared.get(runner);
  if (entry === undefined) {
    const fresh: Shared = {
      ready: start(runner, options, auto, () => {
        // A failed start is not kept: an explicit "agent" opener may try again.
        if (shared.get(runner) === fresh) shared.delete(runner);
      }),
      checkedTops: new Set(),
      users: 0,
    };
    shared.set(runner, fresh);
    entry = fresh;
  }
  const held = entry;
  held.users++;
  let released = false;
  return {
    ready: held.ready,
    checkedTops: held.checkedTops,
    release: () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0) return;
      setImmediate(() => {
        if (held.users > 0) return;
        if (shared.get(runner) === held) shared.delete(runner);
        void held.ready.then((r) => (r.isOk() ? r.value.close() : undefined));
      });
    },
  };
}
