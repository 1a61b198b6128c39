import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import path from "node:path";
import {
  type CommandRunner,
  canonicalJson,
  createPlan,
  type DataLoss,
  type Plan,
} from "@lifeboat/core";
import { imageSetId, type VerifiedImageSet } from "@lifeboat/image";
import { ResultAsync } from "neverthrow";
import { Fail, toFactoryError } from "./_internal/fail.js";
import {
  mediaDiskBytes,
  recoveryPartitionBytes,
  renderMediaGrubConfig,
  requestDigest,
} from "./_internal/media-layout.js";
import { describeTarget } from "./_internal/media-target.js";
import type { FactoryError } from "./errors.js";

/** The recovery environment put on the stick: the same kernel + initramfs the recovery partition boots. */
export interface MediaEnvironment {
  readonly kernel: string;
  readonly initrd: string;
}

/** A file copied to the stick's recovery partition (e.g. the `lifeboat-exch` helper). */
export interface MediaExtraFile {
  /** Path on this machine. */
  readonly source: string;
  /** Path on the stick's recovery partition, relative, e.g. `lifeboat-exch`. */
  readonly path: string;
  /** File mode (default 0o644). */
  readonly mode?: number;
}

/** Options for {@link planRecoveryMedia}. */
export interface RecoveryMediaOptions {
  /** A whole-disk block device (a USB stick) or an image file (created when missing). */
  readonly target: string;
  /** The machine's recovery image set, verified (e.g. `verifyImageSet` of its recovery partition's `current`). */
  readonly imageSet: VerifiedImageSet;
  readonly environment: MediaEnvironment;
  readonly extraFiles?: readonly MediaExtraFile[];
  /** Kernel arguments of every stick entry, e.g. `console=ttyS0,115200`. */
  readonly kernelArgs?: readonly string[];
  /**
   * A reset request (`{"kind":"reset-keep-home","stamp":"…"}`) written to the
   * stick with a GRUB entry that runs it unattended (checked against its
   * digest). `default: true` makes that entry the default: for factory
   * automation and tests, not for a stick handed to a user.
   */
  readonly unattended?: { readonly request: string; readonly default?: boolean };
  /** Label of the stick's recovery filesystem (GRUB's fallback search; default `LIFEBOAT-MEDIA`). */
  readonly label?: string;
  /** GRUB menu timeout in seconds (default 5). */
  readonly timeoutSeconds?: number;
  readonly signal?: AbortSignal;
}

/** The parameters a media plan carries (step `media.layout`). */
export interface MediaLayoutParams {
  readonly target: string;
  readonly targetKind: "file" | "device";
  readonly diskBytes: number;
  readonly recoveryBytes: number;
  readonly diskGuid: string;
  readonly espGuid: string;
  readonly recoveryGuid: string;
  readonly espSerial: string;
  readonly fsUuid: string;
  readonly label: string;
  readonly setId: string;
  readonly grubConfig: string;
}

/**
 * Identifiers derived from everything the plan depends on, so planning twice
 * (a dry run, then the real run) gives the same plan and digest; a changed
 * target or input gives new ones.
 */
function derivedIds(seed: string): { uuid: (n: number) => string; serial: string } {
  const bytes = (n: number) => createHash("sha256").update(`${seed}\0${n}`).digest();
  const uuid = (n: number) => {
    const b = bytes(n);
    b[6] = ((b[6] as number) & 0x0f) | 0x40;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    const h = b.subarray(0, 16).toString("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const s = bytes(99).subarray(0, 4).toString("hex").toUpperCase();
  return { uuid, serial: `${s.slice(0, 4)}-${s.slice(4)}` };
}

function fileBytes(file: string): Promise<number> {
  return stat(file).then((s) => s.size);
}

/**
 * Plan writing a bootable recovery USB stick (or an image file for one) from
 * a verified recovery image set: a GPT with an ESP holding GRUB
 * (`EFI/BOOT/BOOTX64.EFI`, the removable-media path) whose embedded config
 * finds the stick's recovery partition by filesystem UUID (label as
 * fallback), and the recovery partition (type `d999c366-…`) with the image
 * set, the recovery environment and, optionally, a reset request. The plan
 * lists what it destroys on the target; {@link createRecoveryMedia} needs
 * its digest.
 *
 * @example
 * ```ts
 * const set = await verifyImageSet("/run/recovery/current", { trustedKeys: [pub] });
 * const plan = await planRecoveryMedia(runner, {
 *   target: "/dev/sdb", imageSet: set._unsafeUnwrap(),
 *   environment: { kernel: "/run/recovery/vmlinuz", initrd: "/run/recovery/initrd.img" },
 * });
 * if (plan.isOk()) for (const s of plan.value.steps) console.log(s.title, s.destroys);
 * ```
 */
export function planRecoveryMedia(
  runner: CommandRunner,
  options: RecoveryMediaOptions,
): ResultAsync<Plan, FactoryError> {
  return ResultAsync.fromPromise(
    plan(runner, options),
    toFactoryError(options.target, "plan media"),
  );
}

async function plan(runner: CommandRunner, options: RecoveryMediaOptions): Promise<Plan> {
  const target = path.resolve(options.target);
  const set = options.imageSet;
  const setBytes = set.manifest.files.reduce((n, f) => n + f.size, 0);
  const extras = options.extraFiles ?? [];
  let payload = setBytes;
  for (const f of [
    options.environment.kernel,
    options.environment.initrd,
    ...extras.map((e) => e.source),
  ])
    payload += await fileBytes(f);
  const recoveryBytes = recoveryPartitionBytes(payload, set.manifest.minimumPartitionBytes);
  const needed = mediaDiskBytes(recoveryBytes);
  const current = await describeTarget(runner, target);
  if (current.kind === "device" && current.bytes < Number(needed)) {
    throw new Fail({
      code: "FACTORY_TARGET_TOO_SMALL",
      message: `${target} holds ${current.bytes} bytes; the recovery media needs ${needed}.`,
      target,
      targetBytes: current.bytes,
      imageBytes: Number(needed),
    });
  }
  // A device is used whole (the recovery partition fills it); an image file gets the size it needs.
  const diskBytes =
    current.kind === "device" ? BigInt(current.bytes) - (BigInt(current.bytes) % 512n) : needed;
  const sizes: number[] = [];
  for (const f of [options.environment.kernel, options.environment.initrd])
    sizes.push(await fileBytes(f));
  const inputs = canonicalJson({
    target,
    current: { kind: current.kind, bytes: current.bytes, loss: current.loss },
    setId: imageSetId(set),
    environment: options.environment,
    sizes,
    extras: extras.map((e) => ({ ...e })),
    kernelArgs: options.kernelArgs ?? [],
    unattended: options.unattended ?? null,
    label: options.label ?? null,
    timeout: options.timeoutSeconds ?? null,
  });
  if (inputs.isErr()) throw new Fail(inputs.error);
  const ids = derivedIds(inputs.value);
  const fsUuid = ids.uuid(0);
  const label = options.label ?? "LIFEBOAT-MEDIA";
  const digest = options.unattended ? requestDigest(options.unattended.request) : undefined;
  const grub = renderMediaGrubConfig({
    fsUuid,
    label,
    kernelArgs: options.kernelArgs ?? [],
    timeoutSeconds: options.timeoutSeconds ?? 5,
    ...(digest ? { unattended: { digest, isDefault: options.unattended?.default === true } } : {}),
  });
  if (grub.isErr()) throw new Fail(grub.error);
  const layout: MediaLayoutParams = {
    target,
    targetKind: current.kind,
    diskBytes: Number(diskBytes),
    recoveryBytes: Number(diskBytes - mediaDiskBytes(0n)),
    diskGuid: ids.uuid(1),
    espGuid: ids.uuid(2),
    recoveryGuid: ids.uuid(3),
    espSerial: ids.serial,
    fsUuid,
    label,
    setId: imageSetId(set),
    grubConfig: grub.value,
  };
  const step = (
    id: string,
    title: string,
    params: Record<string, unknown>,
    destroys: DataLoss[] = [],
  ) => ({
    id,
    kind: `media.${id}`,
    title,
    params: params as Plan["steps"][number]["params"],
    destroys,
    reversible: false,
    preconditions: [] as string[],
  });
  const sealed = createPlan({
    kind: "recovery-media",
    title: `Write recovery media ${layout.setId} to ${target}`,
    target,
    warnings: current.loss.length > 0 ? [`Everything on ${target} is erased.`] : [],
    steps: [
      step("layout", `New GPT on ${target}: ESP + recovery partition`, { ...layout }, current.loss),
      step("esp", "ESP (FAT32) with GRUB at EFI/BOOT/BOOTX64.EFI", { serial: layout.espSerial }),
      step("recovery", `Recovery partition (ext4 ${label}, ${fsUuid})`, {
        environment: { ...options.environment },
        extraFiles: extras.map((e) => ({ ...e })),
        ...(digest && options.unattended
          ? { request: options.unattended.request, requestDigest: digest }
          : {}),
      }),
      step("image-set", `Copy and verify the image set ${layout.setId}`, {
        setId: layout.setId,
        bytes: setBytes,
      }),
    ],
  });
  if (sealed.isErr()) throw new Fail(sealed.error);
  return sealed.value;
}
