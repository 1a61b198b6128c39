import type { ExecutorEvent, LifeboatError } from "@lifeboat/core";
import { readCurrentImageSet, verifyImageSet } from "@lifeboat/image";
import { imageSetDigest, type Machine } from "@lifeboat/reset";
import { errAsync, type ResultAsync } from "neverthrow";
import type { MachineAccess } from "./machine.js";

/** What a `Verify` job's `Result` holds. */
export interface VerifyResult {
  readonly setId: string;
  readonly digest: string;
  readonly bytesVerified: number;
}

const STEP = "verify-recovery-image";

/**
 * Verify the current recovery image set of an opened machine, every block,
 * against the service's trusted keys, reporting it as a one-step job
 * (`step-started`, `step-progress` with bytes of the whole set, `step-finished`).
 */
export function verifyRecovery(
  access: MachineAccess,
  machine: Machine,
  signal: AbortSignal,
  onProgress: (e: ExecutorEvent) => void,
): ResultAsync<VerifyResult, LifeboatError> {
  if (machine.recoveryRoot === undefined)
    return errAsync({
      code: "PRECONDITION_FAILED",
      message: "The disk has no recovery partition Lifeboat can read. Nothing was changed.",
    } as LifeboatError);
  const recoveryRoot = machine.recoveryRoot;
  const started = Date.now();
  return readCurrentImageSet(recoveryRoot).andThen((current) => {
    onProgress({ type: "plan-started", planDigest: "", totalSteps: 1, attempt: 1, resumed: false });
    onProgress({
      type: "step-started",
      stepId: STEP,
      stepIndex: 0,
      totalSteps: 1,
      kind: "image.verify",
      title: "Verify the recovery image set",
      rerun: false,
    });
    let bytesVerified = 0;
    return verifyImageSet(current.dir, {
      trustedKeys: access.trustedKeys,
      signal,
      threads: 1,
      onProgress: (e) => {
        if (e.phase === "content")
          onProgress({
            type: "step-progress",
            stepId: STEP,
            stepIndex: 0,
            bytesDone: e.bytesDone,
            bytesTotal: e.bytesTotal,
          });
        if (e.phase === "done") bytesVerified = e.bytesVerified;
      },
    }).map((set): VerifyResult => {
      const durationMs = Date.now() - started;
      onProgress({ type: "step-finished", stepId: STEP, stepIndex: 0, durationMs });
      onProgress({ type: "plan-finished", planDigest: "", durationMs, alreadyDone: false });
      return { setId: current.setId, digest: imageSetDigest(set), bytesVerified };
    });
  });
}
