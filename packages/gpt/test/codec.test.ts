/** Pure pieces: GUIDs, CRC32, names, registry, attributes, layout edits, OEM helper, error shapes. */
import { sh } from "@lifeboat/testkit";
import { describe, expect, it } from "vitest";
import { crc32 } from "../src/_internal/crc32.js";
import {
  addPartition,
  applyGptWrites,
  attributeMask,
  createGptTable,
  decodeGuid,
  deletePartition,
  encodeGuid,
  hasAttribute,
  LINUX_DATA_TYPE,
  lookupPartitionType,
  MiB,
  parseGpt,
  partitionTypes,
  planRecoveryPartition,
  RECOVERY_ATTRIBUTES,
  relocateBackup,
  resizePartition,
  serializeGpt,
  updatePartition,
  WINDOWS_RECOVERY_TYPE,
} from "../src/index.js";
import { LIFEBOAT_RECOVERY_TYPE } from "../src/types.js";

const GiB = 1024n * MiB;

describe("codec primitives", () => {
  it("encodes GUIDs mixed-endian (the ESP type as it is on disk)", () => {
    const bytes = new Uint8Array(16);
    encodeGuid("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", bytes);
    expect(Buffer.from(bytes).toString("hex")).toBe("28732ac11ff8d211ba4b00a0c93ec93b");
    expect(decodeGuid(bytes)).toBe("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
  });

  it("computes the standard CRC-32 check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("round-trips names with surrogate pairs and exactly 36 code units", () => {
    const name = "😀".repeat(18); // 36 code units, no terminator room
    const t = addPartition(createGptTable({ diskBytes: 8n * MiB })._unsafeUnwrap(), {
      size: MiB,
      typeGuid: LINUX_DATA_TYPE,
      name,
    })._unsafeUnwrap();
    const image = applyGptWrites(
      new Uint8Array(8 * 1024 * 1024),
      serializeGpt(t)._unsafeUnwrap(),
      512,
    );
    expect(parseGpt(image)._unsafeUnwrap().partitions[0]?.name).toBe(name);
    const tooLong = addPartition(t, { size: MiB, typeGuid: LINUX_DATA_TYPE, name: `${name}a` });
    expect(tooLong._unsafeUnwrapErr().code).toBe("GPT_INVALID_ARGUMENT");
  });
});

describe("type registry and attributes", () => {
  it("knows the recovery types by their fixed GUIDs and names", () => {
    expect(lookupPartitionType(LIFEBOAT_RECOVERY_TYPE)?.name).toBe(
      "Linux recovery partition (Lifeboat)",
    );
    expect(LIFEBOAT_RECOVERY_TYPE).toBe("d999c366-3126-4451-b3c1-be31e091158c");
    expect(lookupPartitionType("DE94BBA4-06D1-4D40-A16A-BFD50179D6AC")?.key).toBe(
      "windows-recovery",
    );
    expect(WINDOWS_RECOVERY_TYPE).toBe("de94bba4-06d1-4d40-a16a-bfd50179d6ac");
  });

  it("every registered GUID but Lifeboat's is one util-linux (sfdisk -T) or gdisk (code 8309: LUKS) knows", async () => {
    const known =
      `${await sh("sfdisk", ["--label", "gpt", "-T"])} ca7d7ccb-63ed-4c53-861c-1742536059cc`.toLowerCase();
    const missing = partitionTypes().filter(
      (t) => t.key !== "lifeboat-recovery" && !known.includes(t.guid),
    );
    expect(missing).toEqual([]);
  });

  it("sets DPS attribute bits 63, 60, 59 and UEFI bits 0-2", () => {
    expect(attributeMask("noAuto", "readOnly")).toBe(0x9000000000000000n);
    expect(attributeMask("required", "noBlockIo", "legacyBootable", "growFs")).toBe(
      (1n << 59n) | 7n,
    );
    expect(hasAttribute(RECOVERY_ATTRIBUTES, "noAuto")).toBe(true);
    expect(hasAttribute(RECOVERY_ATTRIBUTES, "growFs")).toBe(false);
  });
});

describe("layout edits", () => {
  const base = () =>
    createGptTable({
      diskBytes: 100n * MiB,
      diskGuid: "11111111-2222-4333-8444-555555555555",
    })._unsafeUnwrap();

  it("aligns to 1 MiB, fills first gaps, places at the end, and reports no space with the numbers", () => {
    let t = addPartition(base(), { size: 10n * MiB, typeGuid: LINUX_DATA_TYPE })._unsafeUnwrap();
    expect(t.partitions[0]).toMatchObject({
      slot: 1,
      firstLba: 2048n,
      lastLba: 2048n + 20480n - 1n,
    });
    t = addPartition(t, {
      size: 10n * MiB,
      typeGuid: LINUX_DATA_TYPE,
      placement: "end",
    })._unsafeUnwrap();
    expect(t.partitions[1]!.lastLba).toBeLessThanOrEqual(t.lastUsableLba);
    expect(t.partitions[1]!.firstLba % 2048n).toBe(0n);
    const err = addPartition(t, { size: 90n * MiB, typeGuid: LINUX_DATA_TYPE })._unsafeUnwrapErr();
    expect(err).toMatchObject({ code: "GPT_NO_SPACE", requestedSectors: 184320n });
    // 100 MiB minus 10 MiB at each end, minus the first MiB and the unaligned tail: 78 MiB.
    expect(err.code === "GPT_NO_SPACE" && err.largestFreeSectors).toBe(159744n);
  });

  it("gives typed errors for misalignment, overlap, range, slots", () => {
    const t = addPartition(base(), { size: 10n * MiB, typeGuid: LINUX_DATA_TYPE })._unsafeUnwrap();
    expect(
      addPartition(t, {
        size: MiB,
        typeGuid: LINUX_DATA_TYPE,
        placement: { startLba: 3000n },
      })._unsafeUnwrapErr(),
    ).toMatchObject({ code: "GPT_MISALIGNED", lba: 3000n, alignmentSectors: 2048n });
    expect(
      addPartition(t, {
        size: MiB,
        typeGuid: LINUX_DATA_TYPE,
        placement: { startLba: 4096n },
      })._unsafeUnwrapErr(),
    ).toMatchObject({ code: "GPT_OVERLAP", slots: [0, 1] });
    expect(
      addPartition(t, {
        size: MiB,
        typeGuid: LINUX_DATA_TYPE,
        placement: { startLba: 204800n },
      })._unsafeUnwrapErr().code,
    ).toBe("GPT_OUT_OF_RANGE");
    expect(
      addPartition(t, { size: MiB, typeGuid: LINUX_DATA_TYPE, slot: 1 })._unsafeUnwrapErr(),
    ).toMatchObject({ code: "GPT_SLOT_IN_USE", slot: 1 });
    expect(deletePartition(t, 9)._unsafeUnwrapErr()).toMatchInlineSnapshot(`
      {
        "code": "GPT_NO_SUCH_PARTITION",
        "message": "There is no partition 9.",
        "slot": 9,
      }
    `);
    const full = createGptTable({ diskBytes: 100n * MiB, entryCount: 1 })._unsafeUnwrap();
    const one = addPartition(full, { size: MiB, typeGuid: LINUX_DATA_TYPE })._unsafeUnwrap();
    expect(
      addPartition(one, { size: MiB, typeGuid: LINUX_DATA_TYPE })._unsafeUnwrapErr(),
    ).toMatchObject({ code: "GPT_NO_FREE_SLOT", entryCount: 1 });
  });

  it("resizes, renames, retypes, relocates the backup", () => {
    let t = addPartition(base(), { size: 10n * MiB, typeGuid: LINUX_DATA_TYPE })._unsafeUnwrap();
    t = resizePartition(t, 1, { size: "max" })._unsafeUnwrap();
    expect(t.partitions[0]!.lastLba).toBe(t.lastUsableLba);
    t = resizePartition(t, 1, { size: 5n * MiB })._unsafeUnwrap();
    expect(t.partitions[0]!.lastLba).toBe(2048n + 10240n - 1n);
    t = updatePartition(t, 1, {
      name: "Lifeboat Recovery",
      typeGuid: LIFEBOAT_RECOVERY_TYPE,
      attributes: RECOVERY_ATTRIBUTES,
    })._unsafeUnwrap();
    expect(t.partitions[0]).toMatchObject({
      name: "Lifeboat Recovery",
      typeGuid: LIFEBOAT_RECOVERY_TYPE,
    });
    const grown = relocateBackup(t, { diskSectors: t.diskSectors * 2n })._unsafeUnwrap();
    expect(grown.backupHeaderLba).toBe(t.diskSectors * 2n - 1n);
    const shrunk = resizePartition(t, 1, { size: "max" }).andThen((x) =>
      relocateBackup(x, { diskSectors: x.diskSectors - 2048n }),
    );
    expect(shrunk._unsafeUnwrapErr().code).toBe("GPT_OUT_OF_RANGE");
  });
});

describe("planRecoveryPartition", () => {
  it("plans Fedora's layout: ESP 600 MiB, /boot 1 GiB, recovery, Btrfs to the end", () => {
    const plan = planRecoveryPartition({
      kind: "fresh",
      diskBytes: 64n * GiB,
      recoveryBytes: 8n * GiB,
    })._unsafeUnwrap();
    const [esp, boot, rec, root] = plan.table.partitions;
    const bytes = (p: typeof esp) => (p!.lastLba - p!.firstLba + 1n) * 512n;
    expect(bytes(esp)).toBe(600n * MiB);
    expect(esp!.firstLba).toBe(2048n);
    expect(bytes(boot)).toBe(GiB);
    expect(rec).toEqual(plan.recovery);
    expect(rec).toMatchObject({
      typeGuid: LIFEBOAT_RECOVERY_TYPE,
      name: "Lifeboat Recovery",
      attributes: (1n << 63n) | (1n << 60n),
    });
    expect(bytes(rec)).toBe(8n * GiB);
    expect(root!.lastLba).toBe(plan.table.lastUsableLba);
    expect(plan.roles).toEqual({ esp: 1, boot: 2, recovery: 3, root: 4 });
  });

  it("carves from free space at the end of an existing disk, or says how much there is", () => {
    const existing = addPartition(createGptTable({ diskBytes: 32n * GiB })._unsafeUnwrap(), {
      size: 20n * GiB,
      typeGuid: LINUX_DATA_TYPE,
    })._unsafeUnwrap();
    const plan = planRecoveryPartition({
      kind: "carve",
      table: existing,
      recoveryBytes: 4n * GiB,
    })._unsafeUnwrap();
    expect(plan.recovery.slot).toBe(2);
    expect(plan.table.lastUsableLba - plan.recovery.lastLba).toBeLessThan(2048n);
    const tooBig = planRecoveryPartition({
      kind: "carve",
      table: existing,
      recoveryBytes: 16n * GiB,
    });
    expect(tooBig._unsafeUnwrapErr().code).toBe("GPT_NO_SPACE");
  });
});
