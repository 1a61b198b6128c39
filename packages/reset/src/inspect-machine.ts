import type { CommandRunner } from "@lifeboat/core";
import { type PublicKey, readCurrentImageSet } from "@lifeboat/image";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { EncryptedLockedError, ResetError, UnsupportedLayoutError } from "./errors.js";
import { inspect } from "./inspect.js";
import type { Machine } from "./machine/open.js";
import { openRecoveryImageSet } from "./recovery.js";
import type { RecoveryState, SystemState } from "./state.js";
import type { ResetEnvironment } from "./steps/context.js";

/** Options of {@link inspectMachine}. */
export interface InspectMachineOptions {
  /**
   * Public keys whose signature on the recovery image set is accepted. Without
   * any, the set is reported as not verified (its `problem` says why) and
   * plans that unpack it are refused.
   */
  readonly trustedKeys?: readonly PublicKey[];
  /** The OEM's minimum security epoch: plans unpacking an older recovery set are refused. */
  readonly minimumEpoch?: number | undefined;
  /** Measure subvolume sizes (walks every file). Default true. */
  readonly measureSizes?: boolean;
  readonly signal?: AbortSignal;
}

/** What {@link inspectMachine} found: the state to plan with and the environment to execute in. */
export interface InspectedMachine {
  /** The machine's state, for `plan` and for a front end's diagnosis. */
  readonly state: SystemState;
  /** Everything `executeReset`, `resumeReset` and `abandonReset` need for this machine. */
  readonly env: ResetEnvironment;
}

/**
 * Inspect a machine opened by {@link openMachine}: the current recovery image
 * set on its recovery partition is found and verified (every block) against
 * `trustedKeys`, then the disk, the Btrfs, /boot, the factory snapshot,
 * checkpoints and any unfinished plan are read. Returns the state and the
 * {@link ResetEnvironment} to run plans in, so a front end never assembles
 * either by hand.
 *
 * @example
 * ```ts
 * const m = (await openMachine(runner, { disk: "/dev/nvme0n1" }))._unsafeUnwrap();
 * const { state, env } = (await inspectMachine(runner, m, { trustedKeys: [oemKey] }))._unsafeUnwrap();
 * if (state.unfinishedPlan) await resumeReset(env, { onProgress });
 * else {
 *   const p = plan(state, { kind: "reset-keep-home", stamp: stampOf(new Date()) })._unsafeUnwrap();
 *   await executeReset(env, p, { confirm: p.digest });
 * }
 * ```
 */
export function inspectMachine(
  runner: CommandRunner,
  machine: Machine,
  options: InspectMachineOptions = {},
): ResultAsync<InspectedMachine, ResetError> {
  const top = machine.top;
  if (top === undefined) return errAsync(noBtrfs(machine));
  const device = machine.devices.recovery ?? "";
  const trustedKeys = options.trustedKeys ?? [];
  const recovery = machine.recoveryRoot
    ? readCurrentImageSet(machine.recoveryRoot)
        .map((set) => set.dir)
        .orElse(() => okAsync(undefined))
    : okAsync(undefined);
  return recovery
    .andThen((dir) => {
      if (dir === undefined) return okAsync({ state: undefined, access: undefined });
      if (trustedKeys.length === 0) {
        const state: RecoveryState = {
          device,
          imageDir: dir,
          product: undefined,
          build: undefined,
          rootBytes: undefined,
          bootFiles: [],
          verified: false,
          problem: "no trusted key was given to verify the recovery image set",
          problemCode: "IMAGE_UNTRUSTED_KEY",
        };
        return okAsync({ state, access: undefined });
      }
      return openRecoveryImageSet(runner, {
        dir,
        trustedKeys,
        device,
        recoveryRoot: machine.recoveryRoot,
        minimumEpoch: options.minimumEpoch,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    })
    .andThen((rec) =>
      inspect(runner, {
        top,
        ...(machine.boot ? { boot: machine.boot } : {}),
        ...(machine.disk ? { disks: [machine.disk] } : {}),
        ...(rec.state ? { recovery: rec.state } : {}),
        measureSizes: options.measureSizes ?? true,
      }).map(
        (state): InspectedMachine => ({
          state,
          env: {
            runner,
            top,
            ...(machine.boot ? { boot: machine.boot } : {}),
            ...(rec.access ? { recovery: rec.access } : {}),
            ...(machine.disk ? { disks: [machine.disk.device] } : {}),
          },
        }),
      ),
    );
}

function noBtrfs(machine: Machine): EncryptedLockedError | UnsupportedLayoutError {
  return machine.devices.luksLocked
    ? {
        code: "RESET_ENCRYPTED_LOCKED",
        message: `The system is inside the encrypted volume ${machine.devices.luksLocked}, which stays locked: nothing was changed.`,
        device: machine.devices.luksLocked,
      }
    : {
        code: "RESET_UNSUPPORTED_LAYOUT",
        message: "No Btrfs filesystem was found on the disk: there is no system to reset.",
        missing: "btrfs",
      };
}
