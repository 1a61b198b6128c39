/**
 * Facts of Lifeboat's on-disk format that several packages need, declared
 * once here.
 *
 * @module
 */

/**
 * The GPT partition type GUID of a Lifeboat recovery partition (lower case),
 * as DESIGN.md fixes it. `@lifeboat/gpt` (`LIFEBOAT_RECOVERY_TYPE`),
 * `@lifeboat/grub` (`RECOVERY_PARTITION_TYPE`), the recovery environment's
 * init and `@lifeboat/reset`'s disk probe all use this one.
 *
 * @example
 * ```ts
 * partition.typeGuid.toLowerCase() === RECOVERY_PARTITION_TYPE_GUID; // a recovery partition
 * ```
 */
export const RECOVERY_PARTITION_TYPE_GUID = "d999c366-3126-4451-b3c1-be31e091158c";
