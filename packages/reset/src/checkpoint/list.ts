import { readdir } from "node:fs/promises";
import path from "node:path";
import * as btrfs from "@lifeboat/btrfs";
import { type CommandRunner, readJournal } from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import { effect } from "../_internal/await.js";
import { exists } from "../_internal/fs.js";
import type { ResetError } from "../errors.js";
import { FACTORY_BOOT, FACTORY_MANIFEST, FACTORY_ROOT, JOURNAL_FILE } from "../layout.js";
import { readFactoryManifest } from "../manifest.js";
import type { CheckpointState, UnfinishedPlanState } from "../state.js";
import {
  CHECKPOINTS_DIR,
  checkCheckpointName,
  checkpointManifest,
  FACTORY_CHECKPOINT_ID,
} from "./layout.js";
import { readCheckpointManifest } from "./manifest.js";

/** What checkpoint listing needs to know about a subvolume. */
export interface SubvolumeLike {
  readonly path: string;
  readonly uuid: string;
  readonly readOnly: boolean;
  readonly bytes?: number | undefined;
}

function intact(
  subs: readonly SubvolumeLike[],
  rootPath: string,
  rootUuid: string,
  bootPath: string,
  bootUuid: string,
): boolean {
  const root = subs.find((s) => s.path === rootPath);
  const boot = subs.find((s) => s.path === bootPath);
  return (
    root !== undefined &&
    root.uuid === rootUuid &&
    root.readOnly &&
    boot !== undefined &&
    boot.uuid === bootUuid &&
    boot.readOnly
  );
}

/**
 * Read the checkpoints under the top level `top` against its subvolumes:
 * the factory snapshot first, then every checkpoint with a valid manifest,
 * oldest first. A directory without a manifest (a run cut short) is not a
 * checkpoint and is left out.
 */
export async function readCheckpoints(
  top: string,
  subs: readonly SubvolumeLike[],
): Promise<CheckpointState[]> {
  const out: CheckpointState[] = [];
  const factoryFile = path.join(top, FACTORY_MANIFEST);
  if (await exists(factoryFile)) {
    const f = await readFactoryManifest(factoryFile);
    if (f.isOk()) {
      const m = f.value;
      out.push({
        id: FACTORY_CHECKPOINT_ID,
        factory: true,
        reason: `factory state (${m.product} ${m.build})`,
        createdAt: m.createdAt,
        rootPath: FACTORY_ROOT,
        rootUuid: m.snapshot.uuid,
        bootPath: FACTORY_BOOT,
        bootFiles: m.boot.files,
        kernelVersions: m.boot.kernelVersions,
        parent: undefined,
        bytes: subs.find((s) => s.path === FACTORY_ROOT)?.bytes,
        intact: intact(subs, FACTORY_ROOT, m.snapshot.uuid, FACTORY_BOOT, m.boot.uuid),
      });
    }
  }
  const dir = path.join(top, CHECKPOINTS_DIR);
  const names = (await exists(dir)) ? (await readdir(dir)).sort() : [];
  const rest: CheckpointState[] = [];
  for (const name of names) {
    if (checkCheckpointName(name).isErr()) continue;
    const file = path.join(top, checkpointManifest(name));
    if (!(await exists(file))) continue;
    const r = await readCheckpointManifest(file);
    if (r.isErr() || r.value.id !== name) continue;
    const m = r.value;
    rest.push({
      id: m.id,
      factory: false,
      reason: m.reason,
      createdAt: m.createdAt,
      rootPath: m.root.path,
      rootUuid: m.root.uuid,
      bootPath: m.boot.path,
      bootFiles: m.boot.files,
      kernelVersions: m.boot.kernelVersions,
      parent: m.parent ?? undefined,
      bytes: subs.find((s) => s.path === m.root.path)?.bytes,
      intact: intact(subs, m.root.path, m.root.uuid, m.boot.path, m.boot.uuid),
    });
  }
  rest.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return [...out, ...rest];
}

/** Every string a plan's step parameters name (nested arrays and objects included). */
function stringsIn(value: unknown, into: Set<string>): void {
  if (typeof value === "string") into.add(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, into);
  else if (typeof value === "object" && value !== null)
    for (const v of Object.values(value)) stringsIn(v, into);
}

/** The plan an unfinished journal on the top level refers to, or undefined. */
export async function readUnfinishedPlan(top: string): Promise<UnfinishedPlanState | undefined> {
  const file = path.join(top, JOURNAL_FILE);
  if (!(await exists(file))) return undefined;
  const j = await readJournal(file);
  if (j.isErr() || j.value.status === "done") return undefined;
  const paths = new Set<string>();
  for (const s of j.value.plan.steps) stringsIn(s.params, paths);
  return {
    digest: j.value.planDigest,
    kind: j.value.plan.kind,
    title: j.value.plan.title,
    status: j.value.status,
    stoppedAt: j.value.currentStepId,
    lastError: j.value.lastError?.message,
    paths: [...paths].sort(),
    plan: j.value.plan,
  };
}

/** The checkpoint part of a SystemState (for `inspect`). */
export async function checkpointFields(
  top: string,
  subs: readonly SubvolumeLike[],
): Promise<{ checkpoints: CheckpointState[]; unfinishedPlan?: UnfinishedPlanState }> {
  const unfinished = await readUnfinishedPlan(top);
  return {
    checkpoints: await readCheckpoints(top, subs),
    ...(unfinished ? { unfinishedPlan: unfinished } : {}),
  };
}

/**
 * List the checkpoints on the Btrfs mounted (top level) at `top`: the
 * factory snapshot first (id `factory`), then the others, oldest first,
 * each with whether its subvolumes still match its manifest and the size
 * of its root snapshot (`bytes`, measured as `inspect` measures subvolumes;
 * `measureSizes: false` skips the measuring walk).
 *
 * @example
 * ```ts
 * const list = await listCheckpoints(runner, { top: "/mnt/top" });
 * if (list.isOk()) for (const c of list.value) console.log(c.id, c.createdAt, c.reason);
 * ```
 */
export function listCheckpoints(
  runner: CommandRunner,
  options: { readonly top: string; readonly measureSizes?: boolean },
): ResultAsync<CheckpointState[], ResetError> {
  return btrfs.listSubvolumes(runner, options.top).andThen((subs) =>
    effect(async () => {
      const list = await readCheckpoints(options.top, subs);
      if (options.measureSizes === false) return list;
      // The same measure as inspect's (btrfs filesystem du, total), so a
      // checkpoint's size reads the same in a list, in inspect and in a plan.
      const out: CheckpointState[] = [];
      for (const c of list) {
        const present = subs.some((s) => s.path === c.rootPath);
        const est = present ? await btrfs.estimateSize(runner, options.top, c.rootPath) : undefined;
        out.push(est?.isOk() ? { ...c, bytes: est.value.total } : c);
      }
      return out;
    }, "list checkpoints"),
  );
}
