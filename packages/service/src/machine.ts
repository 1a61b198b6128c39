import type { CommandRunner, LifeboatError } from "@lifeboat/core";
import type { PublicKey } from "@lifeboat/image";
import { type InspectedMachine, inspectMachine, type Machine, openMachine } from "@lifeboat/reset";
import { errAsync, ResultAsync } from "neverthrow";

/** How the service opens and reads disks (fixed when it starts, never from a caller). */
export interface MachineAccess {
  readonly runner: CommandRunner;
  /** Public keys the recovery image set must be signed with. */
  readonly trustedKeys: readonly PublicKey[];
  /** The OEM's minimum security epoch. */
  readonly minimumEpoch?: number | undefined;
  /** Parent of the per-disk mount directories (default `/run/lifeboat`). */
  readonly runDirectory?: string | undefined;
}

/** A machine opened and inspected; `close()` releases it. */
export interface OpenedMachine extends InspectedMachine {
  readonly machine: Machine;
}

/**
 * Open `disk` with `openMachine` (locked, mounted; an encrypted Btrfs stays
 * locked: the service asks nobody for a key) and inspect it with
 * `inspectMachine`. On failure everything opened is closed again.
 */
export function openAndInspect(
  access: MachineAccess,
  disk: string,
  options: { readonly measureSizes?: boolean } = {},
): ResultAsync<OpenedMachine, LifeboatError> {
  return openMachine(access.runner, {
    disk,
    ...(access.runDirectory ? { runDirectory: access.runDirectory } : {}),
  }).andThen((machine) =>
    inspectMachine(access.runner, machine, {
      trustedKeys: access.trustedKeys,
      minimumEpoch: access.minimumEpoch,
      measureSizes: options.measureSizes ?? true,
    })
      .map((inspected) => ({ ...inspected, machine }))
      .orElse((e) =>
        ResultAsync.fromSafePromise(machine.close()).andThen(() =>
          errAsync<OpenedMachine, LifeboatError>(e),
        ),
      ),
  );
}

/** Run `body` on the opened and inspected disk, then close it. */
export function withMachine<T>(
  access: MachineAccess,
  disk: string,
  options: { readonly measureSizes?: boolean },
  body: (m: OpenedMachine) => ResultAsync<T, LifeboatError>,
): ResultAsync<T, LifeboatError> {
  return openAndInspect(access, disk, options).andThen((m) =>
    ResultAsync.fromSafePromise(
      (async () => {
        try {
          return await body(m);
        } finally {
          await m.machine.close();
        }
      })(),
    ).andThen((r) => r),
  );
}
