import { readdir } from "node:fs/promises";
import type { DataLoss } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { z } from "zod";
import { io } from "../_internal/fs.js";
import type { ResetError } from "../errors.js";
import { type ResetEnvironment, readIntent, unexpected, writeIntent } from "./context.js";
import { bytesSchema, defineStep, uuidSchema } from "./define.js";
import { partitionNumbers, partitionWords } from "./words.js";

const doomedPartitionSchema = z.strictObject({
  number: z.number().int().min(1),
  /** The partition's unique GUID: it is deleted only while that partition has this GUID. */
  partUuid: uuidSchema,
  /** Its GPT type GUID, lower case. */
  typeGuid: uuidSchema,
  /** Its GPT partition name, for the words. */
  name: z.string().optional(),
});

const systemSchema = z.strictObject({
  /** `"Windows"`. */
  name: z.string().min(1),
  bytes: bytesSchema,
  partitions: z.array(doomedPartitionSchema).min(1),
});

type System = z.infer<typeof systemSchema>;

/** `"Windows (partitions 3, 2, 4)"`. */
export function systemWords(s: {
  readonly name: string;
  readonly partitions: readonly { readonly number: number }[];
}): string {
  return `${s.name} (${partitionNumbers(s.partitions)})`;
}

function systemLoss(s: System): DataLoss {
  return {
    kind: "operating-system",
    what: systemWords(s),
    bytes: s.bytes,
    detail: `removed from the partition table: ${s.partitions.map(partitionWords).join(", ")}`,
    loud: true,
  };
}

interface TableEntry {
  readonly node: string;
  readonly type: string;
  readonly uuid?: string;
}

/** The disks to search: the environment's, else every whole disk in /sys/block. */
function candidateDisks(env: ResetEnvironment): ResultAsync<readonly string[], ResetError> {
  if (env.disks !== undefined) return okAsync(env.disks);
  return io(readdir("/sys/block"), "/sys/block", "list disks").map((names) =>
    names.map((n) => `/dev/${n}`),
  );
}

/** The GPT entries of each disk that has a partition table (others are skipped). */
function tablesOf(
  env: ResetEnvironment,
  disks: readonly string[],
): ResultAsync<{ disk: string; entries: TableEntry[] }[], ResetError> {
  let chain: ResultAsync<{ disk: string; entries: TableEntry[] }[], ResetError> = okAsync([]);
  for (const disk of disks) {
    chain = chain.andThen((acc) =>
      env.runner
        .run("sfdisk", ["-J", disk])
        .map((r) => {
          const table = JSON.parse(r.stdout) as {
            partitiontable?: { partitions?: TableEntry[] };
          };
          return [...acc, { disk, entries: table.partitiontable?.partitions ?? [] }];
        })
        .orElse(() => okAsync(acc)),
    );
  }
  return chain;
}

/**
 * `reset.remove-partitions`: delete other operating systems' partitions from
 * the GPT (`sgdisk --delete`). Each is found by its unique GUID on the disks
 * of the environment (`disks`, else every disk in /sys/block), so the plan
 * names no device node; where each was found is recorded beside the journal
 * before anything is deleted. Done when the recorded ones are gone; refused
 * when a partition with that GUID has another number or type than planned,
 * or when one is on none of the disks and no earlier run recorded it.
 */
export const removePartitionsStep = defineStep({
  kind: "reset.remove-partitions",
  schema: z.strictObject({ systems: z.array(systemSchema).min(1) }),
  describe: (p) => ({
    title: `Remove ${p.systems.map(systemWords).join(", ")} from the partition table`,
    destroys: p.systems.map(systemLoss),
    reversible: false,
    preconditions: [],
  }),
  run: (p, step, ctx, env) =>
    readIntent<PartitionIntent>(ctx, step.id).andThen((prior) =>
      candidateDisks(env)
        .andThen((disks) => tablesOf(env, disks).map((tables) => ({ disks, tables })))
        .andThen(({ disks, tables }) => {
          const located: Record<string, string> = {};
          for (const d of p.systems.flatMap((s) => s.partitions)) {
            const found = tables
              .map(({ disk, entries }) => ({
                disk,
                entry: entries.find((e) => e.uuid?.toLowerCase() === d.partUuid.toLowerCase()),
              }))
              .find((t) => t.entry !== undefined);
            if (found?.entry === undefined) {
              // Gone: fine when an earlier run of this step found (and deleted) it.
              if (prior?.disks[d.partUuid] !== undefined) continue;
              return errAsync<void, ResetError>(
                unexpected(
                  step,
                  `${partitionWords(d)} is on none of the disks searched (${disks.join(", ") || "none"}); pass its disk in \`disks\``,
                ),
              );
            }
            const number = Number(/(\d+)$/.exec(found.entry.node)?.[1]);
            if (number !== d.number || found.entry.type.toLowerCase() !== d.typeGuid.toLowerCase())
              return errAsync<void, ResetError>(
                unexpected(step, `${partitionWords(d)} is no longer the planned one`),
              );
            located[d.partUuid] = found.disk;
          }
          const all = { ...(prior?.disks ?? {}), ...located };
          let chain = writeIntent(ctx, step.id, { disks: all });
          for (const d of p.systems.flatMap((s) => s.partitions)) {
            const disk = located[d.partUuid];
            if (disk === undefined) continue;
            chain = chain.andThen(() =>
              env.runner.run("sgdisk", [`--delete=${d.number}`, disk]).map(() => undefined),
            );
          }
          return chain;
        }),
    ),
});

/** Which disk each doomed partition was found on, recorded before anything is deleted. */
interface PartitionIntent {
  readonly disks: Readonly<Record<string, string>>;
}
