import { checkpointBoot, checkpointRoot } from "../checkpoint/layout.js";
import { FACTORY_BOOT, FACTORY_ROOT, LIFEBOAT_DIR } from "../layout.js";

/** The words for where a root and /boot payload come from. */
export interface OriginWords {
  readonly payload: string;
  readonly kernels: string;
  readonly from: string;
}

/** A root and /boot that come from the factory (snapshot or recovery image). */
export const FACTORY_ORIGIN: OriginWords = {
  payload: "the factory /boot payload",
  kernels: "the factory kernel, initramfs and boot entries",
  from: "the factory",
};

const CHECKPOINT_ROOT = new RegExp(
  `^${escapeRegExp(checkpointRoot("@@"))}$`.replace("@@", "([^/]+)"),
);
const CHECKPOINT_BOOT = new RegExp(
  `^${escapeRegExp(checkpointBoot("@@"))}$`.replace("@@", "([^/]+)"),
);
const KEPT_BOOT = new RegExp(`^${escapeRegExp(LIFEBOAT_DIR)}/boot\\.old-([0-9]{8}T[0-9]{6}Z)$`);
const RECOVERED_BOOT = new RegExp(`^${escapeRegExp(LIFEBOAT_DIR)}/boot-[0-9]{8}T[0-9]{6}Z$`);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `"the factory snapshot"`, `"checkpoint before-f41"`, or `"snapshot <path>"`: a root snapshot by its path. */
export function snapshotNoun(rootPath: string): string {
  if (rootPath === FACTORY_ROOT) return "the factory snapshot";
  const id = CHECKPOINT_ROOT.exec(rootPath)?.[1];
  return id === undefined ? `snapshot ${rootPath}` : `checkpoint ${id}`;
}

/** The words for a /boot payload by the directory it is copied from (on the Btrfs top level). */
export function originOf(sourceDir: string): OriginWords {
  if (sourceDir === FACTORY_BOOT || RECOVERED_BOOT.test(sourceDir)) return FACTORY_ORIGIN;
  const kept = KEPT_BOOT.exec(sourceDir)?.[1];
  if (kept !== undefined)
    return {
      payload: `the /boot payload kept by the reset of ${kept}`,
      kernels: `the kernels, initramfs and boot entries kept by the reset of ${kept}`,
      from: `the system before the reset of ${kept}`,
    };
  const id = CHECKPOINT_BOOT.exec(sourceDir)?.[1];
  const noun = id === undefined ? sourceDir : `checkpoint ${id}`;
  return {
    payload: `the /boot payload of ${noun}`,
    kernels: `the kernels, initramfs and boot entries of ${noun}`,
    from: noun,
  };
}

/**
 * Where a /boot payload (or a root snapshot) comes from, as data: the
 * factory (its snapshot or the recovery image), a checkpoint, the copy a
 * reset kept beside its old root, or another path.
 */
export type PayloadOrigin =
  | { readonly kind: "factory" }
  | { readonly kind: "checkpoint"; readonly id: string }
  | { readonly kind: "kept"; readonly stamp: string }
  | { readonly kind: "other"; readonly path: string };

/**
 * Where the /boot payload a step copies comes from, by the directory it
 * names (a `sourceDir` of `reset.stage-boot` or `reset.install-boot`), or a
 * root snapshot by its path (`source` of `reset.snapshot`): for front ends
 * that put plans into words of their own.
 *
 * @example
 * ```ts
 * payloadOrigin(".lifeboat/factory/boot"); // { kind: "factory" }
 * payloadOrigin(".lifeboat/boot.old-20261205T070000Z"); // { kind: "kept", stamp: "20261205T070000Z" }
 * ```
 */
export function payloadOrigin(dir: string): PayloadOrigin {
  if (dir === FACTORY_BOOT || dir === FACTORY_ROOT || RECOVERED_BOOT.test(dir))
    return { kind: "factory" };
  const kept = KEPT_BOOT.exec(dir)?.[1];
  if (kept !== undefined) return { kind: "kept", stamp: kept };
  const id = CHECKPOINT_BOOT.exec(dir)?.[1] ?? CHECKPOINT_ROOT.exec(dir)?.[1];
  return id === undefined ? { kind: "other", path: dir } : { kind: "checkpoint", id };
}

/** True for a /boot payload a reset kept beside its old root (`.lifeboat/boot.old-<stamp>`). */
export function isKeptBootDir(path: string): boolean {
  return KEPT_BOOT.test(path);
}

/** True for the copy of the /boot payload unpacked from the recovery image. */
export function isRecoveredBootDir(path: string): boolean {
  return RECOVERED_BOOT.test(path);
}

/** A partition named by what cannot change under a plan: number, GPT name and unique GUID. */
export interface PartitionIdentity {
  readonly number: number;
  /** The partition's unique GUID (PARTUUID). */
  readonly partUuid: string;
  /** Its GPT partition name, when it has one. */
  readonly name?: string | undefined;
}

/** `partition 3 "Basic data partition" (PARTUUID 5c0e…)`: never a /dev path. */
export function partitionWords(p: PartitionIdentity): string {
  return `partition ${p.number}${p.name ? ` "${p.name}"` : ""} (PARTUUID ${p.partUuid})`;
}

/** `partition 3` or `partitions 3, 2, 4`. */
export function partitionNumbers(parts: readonly { readonly number: number }[]): string {
  return `${parts.length === 1 ? "partition" : "partitions"} ${parts.map((p) => p.number).join(", ")}`;
}
