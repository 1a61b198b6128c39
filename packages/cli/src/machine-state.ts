import type { CommandRunner } from "@lifeboat/core";
import type { GptTable } from "@lifeboat/gpt";
import type { PublicKey } from "@lifeboat/image";
import {
  inspect,
  openRecoveryImageSet,
  type RecoveryImageAccess,
  type ResetEnvironment,
  type SystemState,
} from "@lifeboat/reset";
import { currentSetDir, type OpenedTarget } from "./target.js";

/** The state of an opened machine, and the recovery access the reset's steps need. */
export interface MachineState {
  readonly state: SystemState;
  readonly recovery: RecoveryImageAccess | undefined;
  readonly recoveryDir: string | undefined;
}

/**
 * Inspect an opened target. The recovery image set on the recovery partition is
 * verified (every block) when trusted keys are given; without them it is not trusted.
 */
export async function machineState(
  runner: CommandRunner,
  target: OpenedTarget,
  options: {
    readonly trustedKeys: readonly PublicKey[];
    /** The OEM's minimum security epoch (`minimum-epoch` beside the trusted keys). */
    readonly minimumEpoch?: number | undefined;
    readonly measureSizes?: boolean;
    readonly signal?: AbortSignal;
  },
): Promise<MachineState> {
  const recoveryDir = await currentSetDir(target.recoveryRoot);
  let recovery: MachineState["recovery"];
  let recoveryState: SystemState["recovery"];
  if (recoveryDir && options.trustedKeys.length > 0) {
    const opened = await openRecoveryImageSet(runner, {
      dir: recoveryDir,
      trustedKeys: options.trustedKeys,
      device: target.devices.recovery ?? "",
      recoveryRoot: target.recoveryRoot,
      minimumEpoch: options.minimumEpoch,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (opened.isErr()) throw opened.error;
    recovery = opened.value.access;
    recoveryState = opened.value.state;
  } else if (recoveryDir) {
    recoveryState = {
      device: target.devices.recovery ?? "",
      imageDir: recoveryDir,
      digest: undefined, // not verified: a plan cannot name it
      product: undefined,
      build: undefined,
      rootBytes: undefined,
      bootFiles: [],
      verified: false,
      problem: "no trusted key given (--trusted-key <public.pem>)",
    };
  }
  const r = await inspect(runner, {
    ...(target.top ? { top: target.top } : {}),
    ...(target.boot ? { boot: target.boot } : {}),
    ...(target.disk ? { disks: [target.disk] } : {}),
    ...(recoveryState ? { recovery: recoveryState } : {}),
    measureSizes: options.measureSizes ?? true,
  });
  if (r.isErr()) throw r.error;
  return { state: r.value, recovery, recoveryDir };
}

/**
 * The environment the reset's steps run in on an opened target: its mounts,
 * the recovery image access, and the disk (where partitions a plan names by
 * number and PARTUUID are found).
 */
export function resetEnvironment(
  runner: CommandRunner,
  target: OpenedTarget & { readonly top: string },
  recovery: RecoveryImageAccess | undefined,
): ResetEnvironment {
  return {
    runner,
    top: target.top,
    ...(target.boot ? { boot: target.boot } : {}),
    ...(recovery ? { recovery } : {}),
    ...(target.disk ? { disks: [target.disk.device] } : {}),
  };
}

/** The partitions of a table as the disk drawing and JSON show them. */
export function tableSummary(device: string, table: GptTable) {
  return {
    device,
    sectorSize: table.sectorSize,
    totalSectors: Number(table.diskSectors),
    diskGuid: table.diskGuid,
    partitions: table.partitions.map((p) => ({
      number: p.slot,
      firstLba: Number(p.firstLba),
      lastLba: Number(p.lastLba),
      sizeBytes: Number((p.lastLba - p.firstLba + 1n) * BigInt(table.sectorSize)),
      typeGuid: p.typeGuid,
      uniqueGuid: p.uniqueGuid,
      name: p.name,
    })),
  };
}
