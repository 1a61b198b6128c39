import type { LifeboatError } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { arr, type ResetStepBody, unexpected } from "./context.js";

interface DoomedPartition {
  readonly disk: string;
  readonly number: number;
  readonly device: string;
  readonly typeGuid: string;
}

/**
 * `reset.remove-partitions`: delete other operating systems' partitions from
 * the GPT (`sgdisk --delete`). Done when a partition number is gone; refused
 * when the number now holds a partition of another type.
 */
export const removePartitionsStep: ResetStepBody = (step, _ctx, env) => {
  const doomed = arr(step, "partitions") as unknown as DoomedPartition[];
  return ResultAsync.fromSafePromise(Promise.resolve()).andThen(() => {
    let chain: ResultAsync<void, LifeboatError> = okAsync(undefined);
    for (const p of doomed) {
      chain = chain.andThen(() =>
        env.runner.run("sfdisk", ["-J", p.disk]).andThen((r) => {
          const table = JSON.parse(r.stdout) as {
            partitiontable?: { partitions?: Array<{ node: string; type: string }> };
          };
          const entry = (table.partitiontable?.partitions ?? []).find(
            (e) => Number(/(\d+)$/.exec(e.node)?.[1]) === p.number,
          );
          if (entry === undefined) return okAsync(undefined);
          if (entry.type.toLowerCase() !== p.typeGuid.toLowerCase())
            return errAsync<void, LifeboatError>(
              unexpected(step, `partition ${p.number} of ${p.disk} is no longer the planned one`),
            );
          return env.runner.run("sgdisk", [`--delete=${p.number}`, p.disk]).map(() => undefined);
        }),
      );
    }
    return chain;
  });
};
