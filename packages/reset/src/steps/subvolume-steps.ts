import { lstat, readdir, rmdir } from "node:fs/promises";
import path from "node:path";
import { type DataLoss, fsyncDirectory, type PlanStep, type StepContext } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { z } from "zod";
import {
  createSubvolume,
  deleteSubvolume,
  exchange,
  renameDurable,
  snapshot,
  subvolumeAt,
  subvolumeExists,
  subvolumesAt,
} from "../_internal/btrfs.js";
import { io, readJsonMaybe } from "../_internal/fs.js";
import { isFilesystem } from "../_internal/fs-identity.js";
import type { ResetError } from "../errors.js";
import { HOME_SUBVOLUME, LIFEBOAT_DIR, ROOT_SUBVOLUME } from "../layout.js";
import { count } from "../planner/words.js";
import { ensure, readIntent, unexpected, writeIntent } from "./context.js";
import {
  adds,
  bytesSchema,
  defineStep,
  relativePath,
  stampSchema,
  subvolumeUuidSchema,
  uuidSchema,
} from "./define.js";
import { isKeptBootDir, isRecoveredBootDir, snapshotNoun } from "./words.js";

/** The UUIDs an exchange recorded before it acted. */
export interface ExchangeIntent {
  readonly newUuid: string;
  readonly oldUuid: string;
}

/** `reset.check`: the mounted filesystem and the snapshot a plan starts from are the planned ones. */
export const checkStep = defineStep({
  kind: "reset.check",
  schema: z
    .strictObject({
      fsUuid: uuidSchema,
      /** The read-only root snapshot the plan starts from, and its UUID. */
      factory: relativePath.optional(),
      factoryUuid: subvolumeUuidSchema.optional(),
    })
    .refine((p) => (p.factory === undefined) === (p.factoryUuid === undefined), {
      message: "factory and factoryUuid go together",
    }),
  describe: (p) =>
    adds(
      p.factory === undefined
        ? "Check that the filesystem is the one planned for"
        : `Check that the filesystem and ${snapshotNoun(p.factory)} are the ones planned for`,
    ),
  run: (p, step, _ctx, env) =>
    isFilesystem(env.runner, env.top, p.fsUuid)
      .andThen((same) => ensure(same, step, `the filesystem at ${env.top} is not ${p.fsUuid}`))
      .andThen(() => {
        const factory = p.factory;
        if (factory === undefined) return okAsync(undefined);
        return subvolumeAt(env.runner, env.top, factory).andThen((facts) =>
          ensure(
            facts !== undefined && facts.uuid === p.factoryUuid && facts.readOnly,
            step,
            `the snapshot ${factory} is missing or changed`,
          ),
        );
      }),
});

/** `reset.snapshot`: snapshot `source` to `target`; done when `target` is a snapshot of `source`. */
export const snapshotStep = defineStep({
  kind: "reset.snapshot",
  schema: z.strictObject({
    source: relativePath,
    /** When given, `source` must still have this UUID. */
    sourceUuid: subvolumeUuidSchema.optional(),
    target: relativePath,
    stamp: stampSchema,
    marker: relativePath.optional(),
    readOnly: z.boolean().optional(),
  }),
  makes: (p) => ({ subvolumes: [p.target], bootDirs: [] }),
  describe: (p) =>
    adds(
      p.readOnly === true
        ? `Freeze ${p.source} in a read-only snapshot (${p.target}) so the copy is consistent`
        : `Make ${p.target} as a writable snapshot of ${snapshotNoun(p.source)} (copy-on-write, no copying)`,
    ),
  run: (p, step, _ctx, env) =>
    // Facts of both with one program run; the snapshot itself commits.
    subvolumesAt(env.runner, env.top, [p.source, p.target]).andThen(([src, dst]) => {
      if (src === undefined) return errAsync(unexpected(step, `${p.source} is missing`));
      if (p.sourceUuid !== undefined && src.uuid !== p.sourceUuid)
        return errAsync(unexpected(step, `${p.source} is not the planned snapshot`));
      if (dst === undefined)
        return snapshot(env.runner, env.top, p.source, p.target, {
          readOnly: p.readOnly === true,
        });
      return ensure(
        dst.parentUuid === src.uuid,
        step,
        `${p.target} exists but is not from ${p.source}`,
      );
    }),
});

/** `reset.create-subvolume`: an empty subvolume; done when it exists. */
export const createSubvolumeStep = defineStep({
  kind: "reset.create-subvolume",
  schema: z.strictObject({ path: relativePath }),
  makes: (p) => ({ subvolumes: [p.path], bootDirs: [] }),
  describe: (p) => adds(`Create an empty ${p.path}`),
  run: (p, _step, _ctx, env) =>
    subvolumeAt(env.runner, env.top, p.path).andThen((found) =>
      found === undefined ? createSubvolume(env.runner, env.top, p.path) : okAsync(undefined),
    ),
});

const nestedSchema = z.strictObject({ path: relativePath, bytes: bytesSchema.optional() });

/** What an exchange takes out of use: the subvolume `a` and what is nested in it. */
const exchangeSchema = z.strictObject({
  a: relativePath,
  b: relativePath,
  stamp: stampSchema,
  /** A file `b` must carry with this reset's stamp (empty: none). */
  marker: z.union([relativePath, z.literal("")]),
  /** Bytes `a` references, when measured. */
  bytes: bytesSchema.optional(),
  /** Subvolumes nested in `a` (they go with it). */
  nested: z.array(nestedSchema).optional(),
  /** Where `a` is kept after the swap (until cleanup); absent when it is deleted. */
  keptAs: relativePath.optional(),
});

function exchangeLoss(p: z.infer<typeof exchangeSchema>): DataLoss {
  const nested = p.nested ?? [];
  // `bytes` is measured over the whole tree (btrfs filesystem du), nested subvolumes included:
  // adding theirs again counted them twice (issue #19).
  const bytes = p.bytes;
  const fate = p.keptAs
    ? `kept as ${p.keptAs} until you run cleanup, so files can still be copied from it`
    : "deleted for good";
  const what =
    p.a === ROOT_SUBVOLUME
      ? "subvolume root (the installed system: programs, settings in /etc, data in /var)"
      : p.a === HOME_SUBVOLUME
        ? "subvolume home (every user's files)"
        : `subvolume ${p.a}`;
  return {
    kind: "subvolume",
    what,
    ...(bytes === undefined ? {} : { bytes }),
    detail: nested.length
      ? `${fate}, with ${count(nested.length, "subvolume")} inside it (${nested.map((s) => s.path).join(", ")})`
      : fate,
  };
}

/**
 * `reset.exchange`: swap `a` and `b` with one renameat2(RENAME_EXCHANGE).
 * Before acting it records both UUIDs beside the journal, so a re-run knows
 * from the disk whether the swap happened.
 */
export const exchangeStep = defineStep({
  kind: "reset.exchange",
  schema: exchangeSchema,
  describe: (p) => ({
    title: `Swap ${p.a} and ${p.b} in one atomic rename`,
    destroys: [exchangeLoss(p)],
    reversible: true,
    preconditions: p.marker ? [`${p.b} carries this reset's marker`] : [],
  }),
  run: (p, step, ctx, env) => {
    const { a, b, marker, stamp } = p;
    return readIntent<ExchangeIntent>(ctx, step.id).andThen((intent) =>
      subvolumesAt(env.runner, env.top, [a, b]).andThen(([sa, sb]) => {
        if (sa === undefined || sb === undefined)
          return errAsync<void, ResetError>(unexpected(step, `${a} or ${b} is missing`));
        if (intent !== undefined) {
          if (sa.uuid === intent.newUuid && sb.uuid === intent.oldUuid) return okAsync(undefined);
          if (sa.uuid !== intent.oldUuid || sb.uuid !== intent.newUuid)
            return errAsync<void, ResetError>(
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
          : okAsync<void, ResetError>(undefined);
        return checkMarker
          .andThen(() => writeIntent(ctx, step.id, { newUuid: sb.uuid, oldUuid: sa.uuid }))
          .andThen(() => exchange(env.runner, env.top, a, b));
      }),
    );
  },
});

/** The subvolume an earlier exchange swapped out, by UUID. */
function oldOf(
  ctx: StepContext,
  step: PlanStep,
  from: string | undefined,
): ResultAsync<string | undefined, ResetError> {
  if (!from) return okAsync(undefined);
  return readIntent<ExchangeIntent>(ctx, from).andThen((intent) =>
    intent === undefined
      ? errAsync(unexpected(step, `the exchange ${from} left no record`))
      : okAsync(intent.oldUuid),
  );
}

/** `"root"` for `root.new-…`/`root.old-…`, `"home"` for `home.…`, else `"subvolume"`. */
function familyOf(name: string): string {
  const family = /^(root|home)\./.exec(name)?.[1];
  return family ?? "subvolume";
}

/** `reset.rename`: rename `from` to `to`; done when `from` is gone and `to` exists. */
export const renameStep = defineStep({
  kind: "reset.rename",
  schema: z.strictObject({
    from: relativePath,
    to: relativePath,
    /** The exchange step whose swapped-out subvolume `from` must be (by UUID). */
    oldOf: z.string().min(1).optional(),
  }),
  describe: (p) =>
    adds(
      p.oldOf === undefined
        ? `Rename ${p.from} to ${p.to}`
        : `Keep the old ${familyOf(p.to)} as ${p.to}`,
    ),
  run: (p, step, ctx, env) => {
    const { from, to } = p;
    // Existence by stat; only `from` needs its UUID read (one program run).
    return oldOf(ctx, step, p.oldOf).andThen((oldUuid) =>
      ResultAsync.combine([subvolumeExists(env.top, from), subvolumeExists(env.top, to)]).andThen(
        ([hasFrom, hasTo]) => {
          if (!hasFrom && hasTo) return okAsync(undefined);
          if (!hasFrom) return errAsync<void, ResetError>(unexpected(step, `${from} is missing`));
          if (hasTo) return errAsync<void, ResetError>(unexpected(step, `${to} exists already`));
          return subvolumeAt(env.runner, env.top, from).andThen((sf) =>
            sf !== undefined && oldUuid !== undefined && sf.uuid !== oldUuid
              ? errAsync<void, ResetError>(
                  unexpected(step, `${from} is not the swapped-out subvolume`),
                )
              : renameDurable(env.runner, env.top, from, to),
          );
        },
      ),
    );
  },
});

const RESCUE_SNAPSHOT = new RegExp(`^\\${LIFEBOAT_DIR}/rescue-[0-9]{8}T[0-9]{6}Z$`);
const LEFTOVER = /^(root\.old|home\.old)-[0-9]{8}T[0-9]{6}Z$/;

/**
 * What a deletion removes, which decides its words:
 * - `swapped-out`: what the exchange `oldOf` swapped out (checked by UUID);
 *   its loss is counted at that exchange.
 * - `scratch`: a subvolume this plan made for itself (the unpacked /boot
 *   payload, a rescue snapshot); only those names are accepted.
 * - `data`: anything else; it is listed as lost, with its size.
 */
const deleteSchema = z.discriminatedUnion("role", [
  z.strictObject({
    role: z.literal("swapped-out"),
    path: relativePath,
    oldOf: z.string().min(1),
  }),
  z.strictObject({
    role: z.literal("scratch"),
    path: relativePath.refine(
      (p) => isRecoveredBootDir(p) || isKeptBootDir(p) || RESCUE_SNAPSHOT.test(p),
      {
        message:
          "a scratch subvolume is the unpacked /boot payload, a kept /boot payload now back in /boot, or a rescue snapshot",
      },
    ),
  }),
  z.strictObject({
    role: z.literal("data"),
    path: relativePath,
    readOnly: z.boolean(),
    bytes: bytesSchema.optional(),
  }),
]);

function describeDelete(p: z.infer<typeof deleteSchema>) {
  switch (p.role) {
    case "swapped-out":
      return {
        title: `Delete the old ${familyOf(p.path)} (now named ${p.path})`,
        destroys: [],
        reversible: false,
        preconditions: [],
      };
    case "scratch":
      return adds(
        isRecoveredBootDir(p.path)
          ? "Remove the unpacked copy of the /boot payload"
          : isKeptBootDir(p.path)
            ? `Remove the kept copy of the /boot payload (${p.path})`
            : "Remove the read-only snapshot of home",
      );
    case "data": {
      const noun = p.readOnly ? "snapshot" : "subvolume";
      const loss: DataLoss = {
        kind: noun,
        what: `${noun} ${p.path}${LEFTOVER.test(p.path) ? " (the system as it was before a reset)" : ""}`,
        ...(p.bytes === undefined ? {} : { bytes: p.bytes }),
        detail: "deleted for good",
      };
      return { title: `Delete ${p.path}`, destroys: [loss], reversible: false, preconditions: [] };
    }
  }
}

/**
 * Remove the plain directories a deletion left empty (`snapshots/` after
 * `snapshots/pre-update`), up to the top level; never a subvolume (inode
 * 256), never Lifeboat's own directory, never a directory with anything in it.
 */
async function removeEmptyParents(top: string, target: string): Promise<void> {
  for (
    let dir = path.dirname(target);
    dir !== "." && dir !== LIFEBOAT_DIR;
    dir = path.dirname(dir)
  ) {
    const abs = path.join(top, dir);
    const st = await lstat(abs).catch(() => undefined);
    if (!st?.isDirectory() || st.ino === 256 || (await readdir(abs)).length > 0) return;
    await rmdir(abs);
    await fsyncDirectory(path.dirname(abs));
  }
}

/** `reset.delete-subvolume`: delete (with nested subvolumes); done when it is gone. */
export const deleteSubvolumeStep = defineStep({
  kind: "reset.delete-subvolume",
  schema: deleteSchema,
  describe: describeDelete,
  run: (p, step, ctx, env) => {
    const target = p.path;
    return oldOf(ctx, step, p.role === "swapped-out" ? p.oldOf : undefined)
      .andThen((oldUuid) =>
        subvolumeAt(env.runner, env.top, target).andThen((found) => {
          if (found === undefined) return okAsync(undefined);
          if (oldUuid !== undefined && found.uuid !== oldUuid)
            return errAsync<void, ResetError>(
              unexpected(step, `${target} is not the swapped-out subvolume`),
            );
          return deleteSubvolume(env.runner, env.top, target);
        }),
      )
      .andThen(() => io(removeEmptyParents(env.top, target), target, "remove empty parents"));
  },
});
