/**
 * Partition types and attribute bits.
 *
 * @module
 */
import { RECOVERY_PARTITION_TYPE_GUID } from "@lifeboat/core/layout";

/** A known partition type. */
export interface PartitionType {
  /** Short stable key, e.g. `"esp"`, `"root-x86-64"`, `"lifeboat-recovery"`. */
  readonly key: string;
  /** Type GUID, lower case. */
  readonly guid: string;
  /** A name a person reads. */
  readonly name: string;
}

/** Lifeboat's Linux recovery partition type. Fixed forever. */
export const LIFEBOAT_RECOVERY_TYPE: string = RECOVERY_PARTITION_TYPE_GUID;
/** Windows recovery environment. */
export const WINDOWS_RECOVERY_TYPE = "de94bba4-06d1-4d40-a16a-bfd50179d6ac";
/** EFI System Partition. */
export const ESP_TYPE = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
/** Extended Boot Loader partition (XBOOTLDR, a `/boot` the DPS recognises). */
export const XBOOTLDR_TYPE = "bc13c2ff-59e6-4262-a352-b275fd6f7172";
/** Generic Linux filesystem data. */
export const LINUX_DATA_TYPE = "0fc63daf-8483-4772-8e79-3d69d8477de4";

const TYPES: readonly PartitionType[] = [
  { key: "esp", guid: ESP_TYPE, name: "EFI System" },
  { key: "xbootldr", guid: XBOOTLDR_TYPE, name: "Linux extended boot" },
  { key: "bios-boot", guid: "21686148-6449-6e6f-744e-656564454649", name: "BIOS boot" },
  { key: "linux-data", guid: LINUX_DATA_TYPE, name: "Linux filesystem" },
  { key: "root-x86-64", guid: "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", name: "Linux root (x86-64)" },
  { key: "root-arm64", guid: "b921b045-1df0-41c3-af44-4c6f280d3fae", name: "Linux root (ARM-64)" },
  { key: "usr-x86-64", guid: "8484680c-9521-48c6-9c11-b0720656f69e", name: "Linux /usr (x86-64)" },
  { key: "usr-arm64", guid: "b0e01050-ee5f-4390-949a-9101b17104e9", name: "Linux /usr (ARM-64)" },
  {
    key: "root-verity-x86-64",
    guid: "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
    name: "Linux root verity (x86-64)",
  },
  {
    key: "root-verity-arm64",
    guid: "df3300ce-d69f-4c92-978c-9bfb0f38d820",
    name: "Linux root verity (ARM-64)",
  },
  {
    key: "usr-verity-x86-64",
    guid: "77ff5f63-e7b6-4633-acf4-1565b864c0e6",
    name: "Linux /usr verity (x86-64)",
  },
  {
    key: "usr-verity-arm64",
    guid: "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e",
    name: "Linux /usr verity (ARM-64)",
  },
  {
    key: "root-verity-sig-x86-64",
    guid: "41092b05-9fc8-4523-994f-2def0408b176",
    name: "Linux root verity sign. (x86-64)",
  },
  {
    key: "root-verity-sig-arm64",
    guid: "6db69de6-29f4-4758-a7a5-962190f00ce3",
    name: "Linux root verity sign. (ARM-64)",
  },
  {
    key: "usr-verity-sig-x86-64",
    guid: "e7bb33fb-06cf-4e81-8273-e543b413e2e2",
    name: "Linux /usr verity sign. (x86-64)",
  },
  {
    key: "usr-verity-sig-arm64",
    guid: "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a",
    name: "Linux /usr verity sign. (ARM-64)",
  },
  { key: "home", guid: "933ac7e1-2eb4-4f13-b844-0e14e2aef915", name: "Linux home" },
  { key: "srv", guid: "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", name: "Linux server data" },
  { key: "var", guid: "4d21b016-b534-45c2-a9fb-5c16e091fd2d", name: "Linux variable data" },
  { key: "var-tmp", guid: "7ec6f557-3bc5-4aca-b293-16ef5df639d1", name: "Linux temporary data" },
  { key: "swap", guid: "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", name: "Linux swap" },
  { key: "lvm", guid: "e6d6d379-f507-44c2-a23c-238f2a3df928", name: "Linux LVM" },
  { key: "luks", guid: "ca7d7ccb-63ed-4c53-861c-1742536059cc", name: "Linux LUKS" },
  { key: "linux-raid", guid: "a19d880f-05fc-4d3b-a006-743f0f84911e", name: "Linux RAID" },
  { key: "linux-reserved", guid: "8da63339-0007-60c0-c436-083ac8230908", name: "Linux reserved" },
  {
    key: "microsoft-basic-data",
    guid: "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
    name: "Microsoft basic data",
  },
  {
    key: "microsoft-reserved",
    guid: "e3c9e316-0b5c-4db8-817d-f92df00215ae",
    name: "Microsoft reserved",
  },
  { key: "windows-recovery", guid: WINDOWS_RECOVERY_TYPE, name: "Windows recovery environment" },
  {
    key: "lifeboat-recovery",
    guid: LIFEBOAT_RECOVERY_TYPE,
    name: "Linux recovery partition (Lifeboat)",
  },
];

const BY_GUID = new Map(TYPES.map((t) => [t.guid, t]));
const BY_KEY = new Map(TYPES.map((t) => [t.key, t]));

/**
 * Every partition type the registry knows.
 *
 * @example
 * ```ts
 * partitionTypes().map((t) => t.key); // ["esp", "xbootldr", ...]
 * ```
 */
export function partitionTypes(): readonly PartitionType[] {
  return TYPES;
}

/**
 * Look a type up by GUID (any case) or by key; `undefined` when unknown.
 *
 * @example
 * ```ts
 * lookupPartitionType("D999C366-3126-4451-B3C1-BE31E091158C")?.name;
 * // "Linux recovery partition (Lifeboat)"
 * lookupPartitionType("esp")?.guid; // "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
 * ```
 */
export function lookupPartitionType(guidOrKey: string): PartitionType | undefined {
  return BY_GUID.get(guidOrKey.toLowerCase()) ?? BY_KEY.get(guidOrKey);
}

/**
 * True for a recovery partition, Lifeboat's or Windows'.
 *
 * @example
 * ```ts
 * isRecoveryType(partition.typeGuid);
 * ```
 */
export function isRecoveryType(guid: string): boolean {
  const g = guid.toLowerCase();
  return g === LIFEBOAT_RECOVERY_TYPE || g === WINDOWS_RECOVERY_TYPE;
}

/** Bit numbers of the GPT attribute field (UEFI bits 0-2, Discoverable Partitions bits 59, 60, 63). */
export const GPT_ATTRIBUTE = {
  /** Platform required: do not delete or move. */
  required: 0,
  /** Firmware must not access it through the block I/O protocol. */
  noBlockIo: 1,
  /** Legacy BIOS bootable. */
  legacyBootable: 2,
  /** DPS: grow the file system to the partition on first mount. */
  growFs: 59,
  /** DPS: mount read-only. */
  readOnly: 60,
  /** DPS: do not mount automatically. */
  noAuto: 63,
} as const;

/** Name of an attribute bit in {@link GPT_ATTRIBUTE}. */
export type GptAttributeName = keyof typeof GPT_ATTRIBUTE;

/**
 * The attribute mask with the given bits set.
 *
 * @example
 * ```ts
 * attributeMask("noAuto", "readOnly"); // 0x9000000000000000n
 * ```
 */
export function attributeMask(...names: readonly GptAttributeName[]): bigint {
  let mask = 0n;
  for (const name of names) mask |= 1n << BigInt(GPT_ATTRIBUTE[name]);
  return mask;
}

/**
 * Whether attribute bit `name` is set in `attributes`.
 *
 * @example
 * ```ts
 * hasAttribute(partition.attributes, "noAuto");
 * ```
 */
export function hasAttribute(attributes: bigint, name: GptAttributeName): boolean {
  return ((attributes >> BigInt(GPT_ATTRIBUTE[name])) & 1n) === 1n;
}
