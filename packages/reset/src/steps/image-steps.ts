import path from "node:path";
import type { LifeboatError, PlanStep } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import {
  createSubvolume,
  deleteSubvolume,
  renameDurable,
  subvolumeAt,
  syncFilesystem,
} from "../_internal/btrfs.js";
import type { RecoveryImageAccess } from "./context.js";
import { type ResetEnvironment, type ResetStepBody, str, unexpected } from "./context.js";

function access(
  step: PlanStep,
  env: ResetEnvironment,
): ResultAsync<RecoveryImageAccess, LifeboatError> {
  return env.recovery
    ? okAsync(env.recovery)
    : errAsync(unexpected(step, "no access to the recovery image set was given (pass `recovery`)"));
}

/** `reset.verify-image`: verify the image set again just before it is used. */
export const verifyImageStep: ResetStepBody = (step, ctx, env) =>
  access(step, env).andThen((r) => r.verify(str(step, "imageDir"), ctx.signal));

/**
 * `reset.unpack`: unpack the root into `partial` and the /boot payload into
 * `bootDir`, commit, then rename `partial` to `target` (the commit point). A
 * re-run finding `target` is done; finding `partial` deletes it and starts over.
 */
export const unpackStep: ResetStepBody = (step, ctx, env) => {
  const partial = str(step, "partial");
  const target = str(step, "target");
  const bootDir = str(step, "bootDir");
  const { runner, top } = env;
  return access(step, env).andThen((r) =>
    subvolumeAt(runner, top, target).andThen((done) => {
      if (done !== undefined) return okAsync(undefined);
      return deleteSubvolume(runner, top, partial)
        .andThen(() => deleteSubvolume(runner, top, bootDir))
        .andThen(() => createSubvolume(runner, top, partial))
        .andThen(() => createSubvolume(runner, top, bootDir))
        .andThen(() =>
          r.unpack(
            str(step, "imageDir"),
            { rootDir: path.join(top, partial), bootDir: path.join(top, bootDir) },
            (done, total) => ctx.reportBytes(done, total),
            ctx.signal,
          ),
        )
        .andThen(() => syncFilesystem(runner, top))
        .andThen(() => renameDurable(runner, top, partial, target));
    }),
  );
};
