import { chmod, copyFile, mkdir, mkdtemp, rmdir, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  type CommandRunner,
  canonicalJson,
  computePlanDigest,
  joinInside,
  type Plan,
} from "@lifeboat/core";
import { attachPartition, type GptPartition, rereadPartitions, writeGpt } from "@lifeboat/gpt";
import { imageSetId, installImageSet, type VerifiedImageSet } from "@lifeboat/image";
import { errAsync, ResultAsync } from "neverthrow";
import { must } from "./_internal/await.js";
import { Fail, toFactoryError } from "./_internal/fail.js";
import {
  MEDIA_INITRD,
  MEDIA_KERNEL,
  MEDIA_REQUEST_PATH,
  mediaTable,
} from "./_internal/media-layout.js";
import { describeTarget } from "./_internal/media-target.js";
import { workDirectory } from "./_internal/work-dir.js";
import type { FactoryError } from "./errors.js";
import type { MediaExtraFile, MediaLayoutParams } from "./media-plan.js";

/** Progress of {@link createRecoveryMedia}. */
export type MediaProgress =
  | { readonly phase: "layout" | "esp" | "recovery" | "sync" }
  | {
      readonly phase: "image-set";
      readonly file: string;
      readonly bytesDone: number;
      readonly bytesTotal: number;
    };

/** Options for {@link createRecoveryMedia}. */
export interface CreateMediaOptions {
  /** The plan from {@link planRecoveryMedia}, unchanged. */
  readonly plan: Plan;
  /** The plan's digest, passed back after the user saw what it erases. */
  readonly confirm: string | undefined;
  /** The verified image set the plan was made for. */
  readonly imageSet: VerifiedImageSet;
  readonly onProgress?: (event: MediaProgress) => void;
  readonly signal?: AbortSignal;
}

/** What {@link createRecoveryMedia} wrote. */
export interface RecoveryMediaSummary {
  readonly target: string;
  readonly diskBytes: number;
  /** Filesystem UUID of the stick's recovery partition (GRUB searches it). */
  readonly fsUuid: string;
  readonly label: string;
  readonly espSerial: string;
  readonly setId: string;
  readonly grubConfig: string;
  readonly durationMs: number;
}

/** Equal as canonical JSON (values that cannot be encoded are never equal). */
function sameJson(a: unknown, b: unknown): boolean {
  const x = canonicalJson(a);
  const y = canonicalJson(b);
  return x.isOk() && y.isOk() && x.value === y.value;
}

const MTOOLS = { env: { MTOOLS_SKIP_CHECK: "1" } };

function confirmError(plan: Plan, confirm: string | undefined): FactoryError | undefined {
  const actual = computePlanDigest(plan).match(
    (d) => d,
    (e) => `invalid: ${e.message}`,
  );
  if (actual !== plan.digest)
    return {
      code: "PLAN_TAMPERED",
      message: "The media plan was changed after it was made.",
      recorded: plan.digest,
      actual,
    };
  if (confirm === undefined)
    return {
      code: "CONFIRMATION_REQUIRED",
      message: `Writing recovery media erases ${plan.target}: pass the plan's digest ${plan.digest} to confirm.`,
      planDigest: plan.digest,
    };
  if (confirm !== plan.digest)
    return {
      code: "CONFIRMATION_MISMATCH",
      message: `The confirmation ${confirm} is not this plan's digest ${plan.digest}.`,
      planDigest: plan.digest,
      given: confirm,
    };
  return undefined;
}

/**
 * Carry out a plan from {@link planRecoveryMedia}: write the GPT, make the
 * ESP (FAT32 via mkfs.vfat and mtools; no mount) with the planned signed
 * shim at the removable-media path `EFI/BOOT/BOOTX64.EFI`, the signed GRUB
 * beside it and the stick's `grub.cfg` where that GRUB reads it, make the recovery
 * partition (ext4 with the planned UUID and label), copy the recovery
 * environment, extra files and request to it, and install the image set
 * there (copied, verified again on the stick, then made `current`).
 * Refuses without the plan's digest (`CONFIRMATION_REQUIRED`/`_MISMATCH`),
 * a changed plan (`PLAN_TAMPERED`), another image set (`INVALID_ARGUMENT`),
 * or a target that changed since the plan (`FACTORY_TARGET_CHANGED`).
 *
 * @example
 * ```ts
 * const plan = (await planRecoveryMedia(runner, options))._unsafeUnwrap();
 * // show plan.steps[0].destroys to the user, then:
 * const r = await createRecoveryMedia(runner, { plan, confirm: plan.digest, imageSet: options.imageSet });
 * if (r.isOk()) console.log(`stick ready: recovery partition ${r.value.fsUuid}`);
 * ```
 */
export function createRecoveryMedia(
  runner: CommandRunner,
  options: CreateMediaOptions,
): ResultAsync<RecoveryMediaSummary, FactoryError> {
  const { plan } = options;
  const refused = confirmError(plan, options.confirm);
  if (refused) return errAsync(refused);
  const layout = plan.steps.find((s) => s.id === "layout")?.params as MediaLayoutParams | undefined;
  if (plan.kind !== "recovery-media" || layout === undefined)
    return errAsync({
      code: "INVALID_ARGUMENT",
      message: "This is not a recovery media plan.",
      argument: "plan",
    });
  if (imageSetId(options.imageSet) !== layout.setId)
    return errAsync({
      code: "INVALID_ARGUMENT",
      message: `The plan was made for the image set ${layout.setId}, not ${imageSetId(options.imageSet)}.`,
      argument: "imageSet",
    });
  const started = Date.now();
  return ResultAsync.fromPromise(
    write(runner, options, layout).then(() => ({
      target: layout.target,
      diskBytes: layout.diskBytes,
      fsUuid: layout.fsUuid,
      label: layout.label,
      espSerial: layout.espSerial,
      setId: layout.setId,
      grubConfig: layout.grubConfig,
      durationMs: Date.now() - started,
    })),
    toFactoryError(layout.target, "write recovery media"),
  );
}

async function write(
  runner: CommandRunner,
  options: CreateMediaOptions,
  layout: MediaLayoutParams,
): Promise<void> {
  const { plan, signal } = options;
  const progress = options.onProgress ?? (() => {});
  const run = signal ? { signal } : {};
  const recoveryStep = plan.steps.find((s) => s.id === "recovery")?.params ?? {};
  const now = await describeTarget(runner, layout.target);
  const planned = plan.steps.find((s) => s.id === "layout")?.destroys ?? [];
  if (
    now.kind !== layout.targetKind ||
    (now.kind === "device" && now.bytes - (now.bytes % 512) !== layout.diskBytes) ||
    !sameJson(now.loss, planned)
  ) {
    throw new Fail({
      code: "FACTORY_TARGET_CHANGED",
      message: `${layout.target} is not what it was when the plan was made: plan again.`,
      target: layout.target,
    });
  }

  progress({ phase: "layout" });
  if (layout.targetKind === "file") {
    await writeFile(layout.target, "");
    await truncate(layout.target, layout.diskBytes);
  }
  const table = mediaTable(BigInt(layout.diskBytes), {
    disk: layout.diskGuid,
    esp: layout.espGuid,
    recovery: layout.recoveryGuid,
  });
  if (table.isErr()) throw new Fail(table.error);
  await must(writeGpt(runner, layout.target, table.value, run));
  const [esp, recovery] = table.value.partitions as [GptPartition, GptPartition];

  const work = await workDirectory();
  try {
    progress({ phase: "esp" });
    const cfg = path.join(work.dir, "grub.cfg");
    await writeFile(cfg, layout.grubConfig);
    const espDev = await must(attachPartition(runner, layout.target, esp, run));
    try {
      const serial = layout.espSerial.replace("-", "");
      await must(
        runner.run(
          "mkfs.vfat",
          ["-F", "32", "-n", "LIFEBOATEFI", "-i", serial, espDev.device],
          run,
        ),
      );
      const dirs = layout.grubConfigDirs.map((d) => `::/EFI/${d}`);
      await must(runner.run("mmd", ["-i", espDev.device, "::/EFI", ...dirs], MTOOLS));
      const copies: [string, string][] = [
        [layout.bootLoader.shim, "::/EFI/BOOT/BOOTX64.EFI"],
        [layout.bootLoader.grub, "::/EFI/BOOT/grubx64.efi"],
        ...dirs.map((d): [string, string] => [cfg, `${d}/grub.cfg`]),
      ];
      for (const [from, to] of copies)
        await must(runner.run("mcopy", ["-i", espDev.device, from, to], MTOOLS));
    } finally {
      await espDev.detach();
    }

    progress({ phase: "recovery" });
    const recDev = await must(attachPartition(runner, layout.target, recovery, run));
    const mnt = await mkdtemp(path.join(work.dir, "recovery-"));
    let mounted = false;
    try {
      await must(
        runner.run(
          "mkfs.ext4",
          ["-q", "-F", "-m", "0", "-L", layout.label, "-U", layout.fsUuid, recDev.device],
          run,
        ),
      );
      await must(runner.run("mount", ["-t", "ext4", recDev.device, mnt], run));
      mounted = true;
      const env = recoveryStep.environment as { kernel: string; initrd: string };
      await copyFile(env.kernel, path.join(mnt, MEDIA_KERNEL));
      await copyFile(env.initrd, path.join(mnt, MEDIA_INITRD));
      for (const f of (recoveryStep.extraFiles ?? []) as unknown as MediaExtraFile[]) {
        const dest = joinInside(mnt, f.path);
        if (dest.isErr()) throw new Fail(dest.error);
        await mkdir(path.dirname(dest.value), { recursive: true });
        await copyFile(f.source, dest.value);
        await chmod(dest.value, f.mode ?? 0o644);
      }
      await mkdir(path.join(mnt, path.dirname(MEDIA_REQUEST_PATH)), { recursive: true });
      if (typeof recoveryStep.request === "string")
        await writeFile(path.join(mnt, MEDIA_REQUEST_PATH), recoveryStep.request);
      await writeFile(
        path.join(mnt, "lifeboat-media.json"),
        `${JSON.stringify({ kind: "lifeboat-recovery-media", setId: layout.setId, plan: plan.digest })}\n`,
      );
      await must(
        installImageSet(options.imageSet, mnt, {
          ...(signal ? { signal } : {}),
          onProgress: (e) => {
            if (e.phase === "copy")
              progress({
                phase: "image-set",
                file: e.file,
                bytesDone: e.bytesDone,
                bytesTotal: e.bytesTotal,
              });
          },
        }),
      );
      progress({ phase: "sync" });
      await must(runner.run("sync", ["-f", mnt]));
    } finally {
      if (mounted) await runner.run("umount", [mnt]);
      await rmdir(mnt).catch(() => undefined);
      await recDev.detach();
    }
    // A stick stays plugged in: let the kernel see its new partitions (best effort).
    if (layout.targetKind === "device") await rereadPartitions(runner, layout.target);
  } finally {
    await work.remove();
  }
}
