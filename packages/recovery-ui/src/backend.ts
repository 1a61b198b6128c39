import type { CommandRunner, ExecutorEvent, LifeboatError, Plan } from "@lifeboat/core";
import type { PublicKey } from "@lifeboat/image";
import {
  describeRescueTarget,
  executeReset,
  inspectMachine,
  openMachine,
  plan,
  type RescueTarget,
  type ResetEnvironment,
  type ResetRequest,
  resumeReset,
  type SystemState,
} from "@lifeboat/reset";
import type { Result } from "neverthrow";

/** Asks a person for the passphrase of an encrypted container (attempt 0, 1, 2); `undefined` gives up. */
export type AskPassphrase = (container: string, attempt: number) => Promise<string | undefined>;

/** Receives the executor's progress events. */
export type OnProgress = (event: ExecutorEvent) => void;

/**
 * A machine as the front end uses it: its state, and the SDK calls that act
 * on it. {@link machineBackend} makes one from a disk; tests hand the front
 * end their own.
 */
export interface RecoveryMachine {
  /** The machine's state when it was opened (or last refreshed). */
  readonly state: SystemState;
  /** Plan a request against {@link RecoveryMachine.state}. Pure. */
  plan(request: ResetRequest): Result<Plan, LifeboatError>;
  /** Measure a directory as a rescue target. */
  describeRescueTarget(directory: string): Promise<Result<RescueTarget, LifeboatError>>;
  /** Run a plan the person confirmed (its digest is passed on as the confirmation). */
  execute(plan: Plan, onProgress: OnProgress): Promise<Result<void, LifeboatError>>;
  /** Finish the interrupted plan recorded on the disk. */
  resume(onProgress: OnProgress): Promise<Result<void, LifeboatError>>;
  /** Inspect again (after a run changed the machine). */
  refresh(): Promise<Result<SystemState, LifeboatError>>;
  /** Unmount, detach and unlock everything opened. Safe to call twice. */
  close(): Promise<void>;
}

/** Opens the machine the front end works on. */
export interface RecoveryBackend {
  /** Open and inspect the machine; `ask` is called only when an encrypted disk must be unlocked. */
  open(ask: AskPassphrase): Promise<Result<RecoveryMachine, LifeboatError>>;
}

/** Options of {@link machineBackend}. */
export interface MachineBackendOptions {
  /** The disk: a whole-disk block device or a disk image file. */
  readonly disk: string;
  /** Keys whose signature on the recovery image set is accepted (none: the image is not used). */
  readonly trustedKeys?: readonly PublicKey[];
  /** Parent of the per-disk mount directories (default `/run/lifeboat`). */
  readonly runDirectory?: string;
}

/**
 * The real backend, built only on the public API of `@lifeboat/reset`:
 * `openMachine` (lock, attach, unlock with `ask`, mount), `inspectMachine`,
 * `plan`, `executeReset` (confirmed by the plan's digest), `resumeReset`,
 * `describeRescueTarget`.
 *
 * @example
 * ```ts
 * const backend = machineBackend(createExecaRunner(), { disk: "/dev/nvme0n1", trustedKeys: [oemKey] });
 * const action = await runRecoveryUi({ backend });
 * ```
 */
export function machineBackend(
  runner: CommandRunner,
  options: MachineBackendOptions,
): RecoveryBackend {
  return {
    async open(ask) {
      const opened = await openMachine(runner, {
        disk: options.disk,
        luks: { ask },
        ...(options.runDirectory ? { runDirectory: options.runDirectory } : {}),
      });
      if (opened.isErr()) return opened.map(() => undefined as never);
      const machine = opened.value;
      const inspectNow = () =>
        inspectMachine(runner, machine, {
          ...(options.trustedKeys ? { trustedKeys: options.trustedKeys } : {}),
        });
      const first = await inspectNow();
      if (first.isErr()) {
        await machine.close();
        return first.map(() => undefined as never);
      }
      let state: SystemState = first.value.state;
      let env: ResetEnvironment = first.value.env;
      const done = (r: Result<unknown, LifeboatError>) => r.map(() => undefined);
      return first.map(
        (): RecoveryMachine => ({
          get state() {
            return state;
          },
          plan: (request) => plan(state, request),
          describeRescueTarget: async (directory) => await describeRescueTarget(directory),
          execute: async (p, onProgress) =>
            done(await executeReset(env, p, { confirm: p.digest, onProgress })),
          resume: async (onProgress) => done(await resumeReset(env, { onProgress })),
          refresh: async () => {
            const again = await inspectNow();
            if (again.isOk()) ({ state, env } = again.value);
            return again.map((i) => i.state);
          },
          close: () => machine.close(),
        }),
      );
    },
  };
}
