import path from "node:path";
import {
  type CommandRunner,
  type JsonValue,
  type PlanStep,
  type StepContext,
  writeFileAtomic,
} from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { io, mkdirDurable, readJsonMaybe } from "../_internal/fs.js";
import type { ResetError, UnexpectedStateError } from "../errors.js";

/**
 * Access to one recovery image set, bound to it when it was opened. A plan
 * names the set by its identity (the digest of its signed manifest, see
 * `RecoveryState.digest`), never by where it is mounted; both methods refuse
 * with `RESET_IMAGE_CHANGED` when the set they hold is not that one.
 */
export interface RecoveryImageAccess {
  /**
   * Check the signature and digests again (or that the set's files are the
   * ones verified already), reporting bytes; fails when anything is off or
   * the set is another.
   */
  verify(
    setDigest: string,
    signal: AbortSignal,
    progress?: (done: number, total?: number) => void,
  ): ResultAsync<void, ResetError>;
  /**
   * Write the root tree into `rootDir` and the /boot payload into `bootDir`
   * (both existing, empty directories), reporting bytes.
   */
  unpack(
    setDigest: string,
    into: { readonly rootDir: string; readonly bootDir: string },
    progress: (done: number, total?: number) => void,
    signal: AbortSignal,
  ): ResultAsync<void, ResetError>;
}

/** What the reset's step handlers work on. */
export interface ResetEnvironment {
  readonly runner: CommandRunner;
  /** The Btrfs top level (subvolid=5), mounted. */
  readonly top: string;
  /** /boot, mounted (needed by plans that restore the /boot payload). */
  readonly boot?: string;
  /** Access to the recovery image set (needed by plans that unpack it). */
  readonly recovery?: RecoveryImageAccess;
  /**
   * The disks (block devices or disk image files) searched for the
   * partitions a plan removes, which it names by their unique GUID. Default:
   * every whole disk the kernel lists in /sys/block.
   */
  readonly disks?: readonly string[];
}

/** The unexpected-state error. */
export function unexpected(step: PlanStep, detail: string): UnexpectedStateError {
  return {
    code: "RESET_UNEXPECTED_STATE",
    message: `Step ${step.id} (${step.kind}) found the disk in a state it cannot explain: ${detail}`,
    stepKind: step.kind,
    detail,
  };
}

/** Fail unless a precondition holds. */
export function ensure(
  condition: boolean,
  step: PlanStep,
  detail: string,
): ResultAsync<void, ResetError> {
  return condition ? okAsync(undefined) : errAsync(unexpected(step, detail));
}

/** Where a step keeps what it learned before acting (next to the journal, on the target). */
export function intentFile(journalDir: string, planDigest: string, stepId: string): string {
  return path.join(journalDir, "steps", `${planDigest.slice(7, 19)}-${stepId}.json`);
}

function intentPath(ctx: StepContext, stepId: string): string {
  return intentFile(ctx.journalDir, ctx.plan.digest, stepId);
}

/** Read a step's recorded intent. */
export function readIntent<T>(
  ctx: StepContext,
  stepId: string,
): ResultAsync<T | undefined, ResetError> {
  const file = intentPath(ctx, stepId);
  return io(readJsonMaybe(file) as Promise<T | undefined>, file, "read");
}

/** Record a step's intent durably before it acts. */
export function writeIntent(
  ctx: StepContext,
  stepId: string,
  value: JsonValue,
): ResultAsync<void, ResetError> {
  const file = intentPath(ctx, stepId);
  return io(mkdirDurable(path.dirname(file)), file, "mkdir").andThen(() =>
    writeFileAtomic(file, JSON.stringify(value)),
  );
}
