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
import { MEDIA_GRUB_CONFIG_DIRS, signedBootLoader } from "./_internal/signed-loader.js";
import type { FactoryError } from "./errors.js";
import { checkSecureBoot } from "./secure-boot.js";

/** The recovery environment put on the stick: the same kernel + initramfs the recovery partition boots. */
export interface MediaEnvironment {
  readonly kernel: string;
  readonly initrd: string;
}

/** The signed boot loader the stick's ESP carries (issue #21: no self-built GRUB where a user boots). */
export interface MediaBootLoader {
  /** The Microsoft-signed shim, copied to `EFI/BOOT/BOOTX64.EFI` (e.g. `/usr/lib/shim/shimx64.efi.signed`). */
  readonly shim: string;
  /** The distribution-signed GRUB that shim starts, copied to `EFI/BOOT/grubx64.efi` (e.g. `/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed`). */
  readonly grub: string;
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
  /**
   * The signed shim and GRUB to put on the stick. Default: this system's own, the first pair
   * found of Debian/Ubuntu's (`/usr/lib/shim/shimx64.efi.signed`,
   * `/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed`) and Fedora's
   * (`/boot/efi/EFI/fedora/shimx64.efi`, `grubx64.efi`); none found is `INVALID_ARGUMENT`.
   */
  readonly bootLoader?: MediaBootLoader;
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
  /** The signed shim and GRUB copied to the stick's ESP. */
  readonly bootLoader: MediaBootLoader;
  /** ESP folders (under `EFI/`) that get `grub.cfg`. */
  readonly grubConfigDirs: readonly string[];
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

/**
 * Why the stick would not boot with Secure Boot enforced (sbverify on the shim, GRUB and the
 * recovery kernel), as plan warnings: a stick can still serve machines with Secure Boot off.
 */
async function secureBootWarnings(
  runner: CommandRunner,
  loader: MediaBootLoader,
  kernel: string,
  grubConfig: string,
): Promise<string[]> {
  const r = await checkSecureBoot({
    runner,
    esp: path.dirname(loader.shim),
    shim: loader.shim,
    grub: loader.grub,
    kernels: [{ role: "recovery media", path: kernel }],
    grubConfigs: [{ name: "the stick's grub.cfg", text: grubConfig }],
  });
  if (r.isErr())
    return [`Secure Boot not checked (${r.error.message}): install sbsigntool to check it.`];
  const problems = [...r.value.paths.flatMap((p) => p.problems), ...r.value.warnings];
  return [...new Set(problems.map((p) => `Secure Boot: ${p.message}.`))];
}

function fileBytes(file: string): Promise<number> {
  return stat(file).then((s) => s.size);
}

/**
 * Plan writing a bootable recovery USB stick (or an image file for one) from
 * a verified recovery image set: a GPT with an ESP holding the system's
 * signed boot chain (the Microsoft-signed shim at `EFI/BOOT/BOOTX64.EFI`, the
 * removable-media path, the distribution-signed GRUB beside it) and a
 * `grub.cfg` of only commands built into that signed GRUB, one `linux` per
 * entry, that finds the stick's recovery partition by filesystem UUID (label
 * as fallback), and the recovery partition (type `d999c366-…`) with the image
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
  const bootLoader = await signedBootLoader(options.bootLoader);
  const sizes: number[] = [];
  for (const f of [options.environment.kernel, options.environment.initrd])
    sizes.push(await fileBytes(f));
  const inputs = canonicalJson({
    target,
    current: { kind: current.kind, bytes: current.bytes, loss: current.loss },
    setId: imageSetId(set),
    environment: options.environment,
    bootLoader,
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
  const secureBoot = await secureBootWarnings(
    runner,
    bootLoader,
    options.environment.kernel,
    grub.value,
  );
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
    bootLoader,
    grubConfigDirs: [...MEDIA_GRUB_CONFIG_DIRS],
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
    warnings: [
      ...(current.loss.length > 0 ? [`Everything on ${target} is erased.`] : []),
      ...secureBoot,
    ],
    steps: [
      step("layout", `New GPT on ${target}: ESP + recovery partition`, { ...layout }, current.loss),
      step("esp", "ESP (FAT32) with the signed shim at EFI/BOOT/BOOTX64.EFI and signed GRUB", {
        serial: layout.espSerial,
        shim: bootLoader.shim,
        grub: bootLoader.grub,
      }),
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
