import path from "node:path";
import type { LifeboatError } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import {
  agentFor,
  createSubvolume,
  deleteSubvolume,
  exchange,
  filesystemHasUuid,
  renameDurable,
  snapshot,
  subvolumeAt,
  subvolumeExists,
  subvolumesAt,
} from "../_internal/btrfs.js";
import { io, readJsonMaybe } from "../_internal/fs.js";
import { ensure, type ResetStepBody, readIntent, str, unexpected, writeIntent } from "./context.js";

/** The UUIDs an exchange recorded before it acted. */
interface ExchangeIntent {
  readonly newUuid: string;
  readonly oldUuid: string;
}

/** `reset.check`: the mounted filesystem and the factory snapshot are the planned ones. */
export const checkStep: ResetStepBody = (step, _ctx, env) =>
  agentFor(env.runner)
    .andThen((agent) =>
      // The agent asks the filesystem itself (BTRFS_IOC_FS_INFO); else sysfs and the mount table.
      agent
        ? agent.devices(env.top).map((d): boolean | undefined => d.fsUuid === str(step, "fsUuid"))
        : io(filesystemHasUuid(env.top, str(step, "fsUuid")), env.top, "read /sys/fs/btrfs"),
    )
    .andThen((known) =>
      known === undefined
        ? env.runner
            .run("btrfs", ["filesystem", "show", env.top])
            .map((r) => r.stdout.includes(str(step, "fsUuid")))
        : okAsync(known),
    )
    .andThen((same) =>
      ensure(same, step, `the filesystem at ${env.top} is not ${str(step, "fsUuid")}`),
    )
    .andThen(() => {
      const factory = str(step, "factory");
      if (!factory) return okAsync(undefined);
      return subvolumeAt(env.runner, env.top, factory).andThen((facts) =>
        ensure(
          facts !== undefined && facts.uuid === str(step, "factoryUuid") && facts.readOnly,
          step,
          `the factory snapshot ${factory} is missing or changed`,
        ),
      );
    });

/** `reset.snapshot`: snapshot `source` to `target`; done when `target` is a snapshot of `source`. */
export const snapshotStep: ResetStepBody = (step, _ctx, env) => {
  const source = str(step, "source");
  const target = str(step, "target");
  const readOnly = step.params.readOnly === true;
  // Facts of both with one program run; the snapshot itself commits.
  return subvolumesAt(env.runner, env.top, [source, target]).andThen(([src, dst]) => {
    if (src === undefined) return errAsync(unexpected(step, `${source} is missing`));
    const expected = str(step, "sourceUuid");
    if (expected && src.uuid !== expected)
      return errAsync(unexpected(step, `${source} is not the planned snapshot`));
    if (dst === undefined) return snapshot(env.runner, env.top, source, target, { readOnly });
    return ensure(dst.parentUuid === src.uuid, step, `${target} exists but is not from ${source}`);
  });
};

/** `reset.create-subvolume`: an empty subvolume; done when it exists. */
export const createSubvolumeStep: ResetStepBody = (step, _ctx, env) => {
  const target = str(step, "path");
  return subvolumeAt(env.runner, env.top, target).andThen((found) =>
    found === undefined ? createSubvolume(env.runner, env.top, target) : okAsync(undefined),
  );
};

/**
 * `reset.exchange`: swap `a` and `b` with one renameat2(RENAME_EXCHANGE).
 * Before acting it records both UUIDs beside the journal, so a re-run knows
 * from the disk whether the swap happened.
 */
export const exchangeStep: ResetStepBody = (step, ctx, env) => {
  const a = str(step, "a");
  const b = str(step, "b");
  const marker = str(step, "marker");
  const stamp = str(step, "stamp");
  return readIntent<ExchangeIntent>(ctx, step.id).andThen((intent) =>
    subvolumesAt(env.runner, env.top, [a, b]).andThen(([sa, sb]) => {
      if (sa === undefined || sb === undefined)
        return errAsync<void, LifeboatError>(unexpected(step, `${a} or ${b} is missing`));
      if (intent !== undefined) {
        if (sa.uuid === intent.newUuid && sb.uuid === intent.oldUuid) return okAsync(undefined);
        if (sa.uuid !== intent.oldUuid || sb.uuid !== intent.newUuid)
          return errAsync<void, LifeboatError>(
            unexpected(step, `${a} and ${b} are not the planned pair`),
          );
        return exchange(env.runner, env.top, a, b);
      }
      const checkMarker = marker
        ? io(readJsonMaybe(path.join(env.top, b, marker)), b, "read").andThen((m) =>
            ensure(
              typeof m === "object" && m !== null && (m as { stamp?: unknown }).stamp === stamp,
              step,
              `${b} does not carry this reset's marker`,
            ),
          )
        : okAsync<void, LifeboatError>(undefined);
      return checkMarker
        .andThen(() => writeIntent(ctx, step.id, { newUuid: sb.uuid, oldUuid: sa.uuid }))
        .andThen(() => exchange(env.runner, env.top, a, b));
    }),
  );
};

/** The subvolume an earlier exchange swapped out, by UUID. */
function oldOf(
  ctx: Parameters<ResetStepBody>[1],
  step: Parameters<ResetStepBody>[0],
): ResultAsync<string | undefined, LifeboatError> {
  const from = str(step, "oldOf");
  if (!from) return okAsync(undefined);
  return readIntent<ExchangeIntent>(ctx, from).andThen((intent) =>
    intent === undefined
      ? errAsync(unexpected(step, `the exchange ${from} left no record`))
      : okAsync(intent.oldUuid),
  );
}

/** `reset.rename`: rename `from` to `to`; done when `from` is gone and `to` exists. */
export const renameStep: ResetStepBody = (step, ctx, env) => {
  const from = str(step, "from");
  const to = str(step, "to");
  // Existence by stat; only `from` needs its UUID read (one program run).
  return oldOf(ctx, step).andThen((oldUuid) =>
    ResultAsync.combine([subvolumeExists(env.top, from), subvolumeExists(env.top, to)]).andThen(
      ([hasFrom, hasTo]) => {
        if (!hasFrom && hasTo) return okAsync(undefined);
        if (!hasFrom) return errAsync<void, LifeboatError>(unexpected(step, `${from} is missing`));
        if (hasTo) return errAsync<void, LifeboatError>(unexpected(step, `${to} exists already`));
        return subvolumeAt(env.runner, env.top, from).andThen((sf) =>
          sf !== undefined && oldUuid !== undefined && sf.uuid !== oldUuid
            ? errAsync<void, LifeboatError>(
                unexpected(step, `${from} is not the swapped-out subvolume`),
              )
            : renameDurable(env.runner, env.top, from, to),
        );
      },
    ),
  );
};

/** `reset.delete-subvolume`: delete (with nested subvolumes); done when it is gone. */
export const deleteSubvolumeStep: ResetStepBody = (step, ctx, env) => {
  const target = str(step, "path");
  return oldOf(ctx, step).andThen((oldUuid) =>
    subvolumeAt(env.runner, env.top, target).andThen((found) => {
      if (found === undefined) return okAsync(undefined);
      if (oldUuid !== undefined && found.uuid !== oldUuid)
        return errAsync<void, LifeboatError>(
          unexpected(step, `${target} is not the swapped-out subvolume`),
        );
      return deleteSubvolume(env.runner, env.top, target);
    }),
  );
};
