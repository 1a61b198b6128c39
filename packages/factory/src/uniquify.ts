import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { listSubvolumes, mountTopLevel, reissueUuids, setReadOnly } from "@lifeboat/btrfs";
import { type CommandRunner, parseBlkidExport } from "@lifeboat/core";
import {
  attachPartition,
  type GptError,
  type GptTable,
  randomGuid,
  readGptRecovering,
  relocateBackup,
  resizePartition,
  updatePartition,
  writeGpt,
} from "@lifeboat/gpt";
import { type Result, ResultAsync } from "neverthrow";
import { must } from "./_internal/await.js";
import { Fail, toFactoryError } from "./_internal/fail.js";
import { substituteIds } from "./_internal/substitute.js";
import type { FactoryError } from "./errors.js";

/** One identifier replaced by {@link makeMachineUnique}. */
export interface ChangedId {
  readonly what: string;
  readonly from: string;
  readonly to: string;
}

/** What {@link makeMachineUnique} changed. */
export interface MakeUniqueSummary {
  readonly ids: readonly ChangedId[];
  /** Bytes the last partition (and its Btrfs) grew by. */
  readonly grownBytes: number;
  /** Files whose references to old identifiers were rewritten, as `partition:path`. */
  readonly patchedFiles: readonly string[];
  /** machine-id files emptied so first boot makes a new one. */
  readonly machineIdsCleared: readonly string[];
  /**
   * Identifiers this step cannot change, said plainly: the UUID of a filesystem
   * type with no tool to change it, and a Btrfs's device and subvolume UUIDs
   * when `reissueUuids` refuses it as unsupported (several devices, another
   * checksum than crc32c, ...). Empty for Lifeboat's own layouts.
   */
  readonly kept: readonly string[];
}

/** Options for {@link makeMachineUnique}. */
export interface MakeUniqueOptions {
  /** The deployed disk (an image file; block devices work where the kernel does not auto-mount them). */
  readonly disk: string;
  /** Grow the last partition and its Btrfs to fill the disk (default true). */
  readonly growLastPartition?: boolean;
  readonly signal?: AbortSignal;
}

const TEXT_FILES = ["etc/fstab", "etc/crypttab", "etc/kernel/cmdline", "etc/default/grub"];
const BOOT_DIRS = [
  "loader/entries",
  "grub",
  "grub2",
  "boot/loader/entries",
  "boot/grub",
  "boot/grub2",
];

function fatSerial(): string {
  const hex = randomBytes(4).toString("hex").toUpperCase();
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}

async function blkid(runner: CommandRunner, device: string): Promise<Record<string, string>> {
  return parseBlkidExport((await must(runner.run("blkid", ["-p", "-o", "export", device]))).stdout);
}

async function patchFile(file: string, ids: ReadonlyMap<string, string>): Promise<boolean> {
  const bytes = await readFile(file).catch(() => undefined);
  if (!bytes) return false;
  const patched = substituteIds(bytes, ids);
  if (!patched) return false;
  await writeFile(file, patched);
  return true;
}

/** Lifeboat's own manifests, which record subvolume and filesystem UUIDs: the factory's and every checkpoint's. */
async function lifeboatManifests(top: string): Promise<string[]> {
  const out = [".lifeboat/factory/manifest.json"];
  for (const id of await readdir(path.join(top, ".lifeboat/checkpoints")).catch(
    () => [] as string[],
  ))
    out.push(`.lifeboat/checkpoints/${id}/manifest.json`);
  return out;
}

async function bootFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of BOOT_DIRS) {
    const entries = await readdir(path.join(root, dir)).catch(() => [] as string[]);
    for (const e of entries) if (/\.(conf|cfg)$|^grubenv$/.test(e)) out.push(path.join(dir, e));
  }
  return out;
}

/**
 * Make a freshly deployed copy of a golden image its own machine: grow the
 * last partition and its Btrfs to fill the disk, move the backup GPT header
 * to the end, give the disk and every partition new GUIDs and every
 * filesystem a new UUID (FAT serial, `tune2fs -U`, `btrfstune -u`), give
 * the Btrfs a new device UUID (`UUID_SUB`) and every subvolume a new UUID
 * (`reissueUuids` from `@lifeboat/btrfs`: snapshots' parent references follow,
 * a `received_uuid` naming the sender's subvolume is kept), rewrite every file
 * that names the old ones (fstab, BLS entries, GRUB configs — also a GRUB EFI
 * image's embedded config, since identifiers keep their length — and the
 * factory and checkpoint manifests, including inside read-only factory
 * snapshots), and empty machine-id so first boot makes a new one.
 *
 * Needs `cc` on the factory host for the Btrfs helper's first build, or a
 * prebuilt one named by `$LIFEBOAT_REUUID_HELPER`.
 *
 * For a fresh deployment only (never a machine in use, never the reset flow).
 * Re-running it on a copy it finished is safe: every identifier is simply
 * changed again. If power fails while it runs, the copy may be half-changed:
 * the Btrfs step writes tree blocks in place before the superblock, so a cut
 * there leaves device UUIDs that disagree; a re-run then fails with
 * `BTRFS_REUUID_REFUSED` (`reason: "inconsistent"`) and `btrfs check` fails
 * too. The cure for any failure part-way is to deploy the image again.
 * Filesystems the helper does not edit (several devices, a checksum other
 * than crc32c, ...) keep those internal UUIDs and are listed in `kept`.
 *
 * @example
 * ```ts
 * await deployImage(runner, { source: "golden.img", target: "unit-42.img" });
 * const r = await makeMachineUnique(runner, { disk: "unit-42.img" });
 * if (r.isOk()) for (const id of r.value.ids) console.log(id.what, id.from, "->", id.to);
 * ```
 */
export function makeMachineUnique(
  runner: CommandRunner,
  options: MakeUniqueOptions,
): ResultAsync<MakeUniqueSummary, FactoryError> {
  const disk = options.disk;
  return ResultAsync.fromPromise(uniquify(runner, options), toFactoryError(disk, "make unique"));
}

/** Identifiers changed so far: the list reported and the map files are rewritten with. */
interface Changes {
  readonly ids: ChangedId[];
  readonly idMap: Map<string, string>;
  readonly kept: string[];
  readonly patched: string[];
  readonly cleared: string[];
}

function record(changes: Changes, what: string, from: string, to: string): void {
  changes.ids.push({ what, from, to });
  changes.idMap.set(from, to);
}

/** The new partition table, decided without touching the disk. */
interface TablePlan {
  readonly table: GptTable;
  readonly ids: readonly ChangedId[];
  readonly lastSlot: number;
  readonly grownSectors: bigint;
}

/**
 * Pure: the backup header moved to the disk's end, the last partition grown
 * (unless `grow` is false) and a new GUID for the disk and every partition.
 */
function planTable(
  disk: string,
  current: GptTable,
  options: { readonly diskSectors: bigint; readonly grow: boolean; readonly newGuid: () => string },
): TablePlan {
  let table = unwrap(relocateBackup(current, { diskSectors: options.diskSectors }));
  const last = [...table.partitions].sort((a, b) => (a.firstLba < b.firstLba ? 1 : -1))[0];
  if (!last)
    throw new Fail({
      code: "FACTORY_UNSUPPORTED_LAYOUT",
      message: `${disk} has no partitions.`,
      reason: "no partitions",
    });
  const before = last.lastLba;
  if (options.grow) table = unwrap(resizePartition(table, last.slot, { size: "max" }));
  const grownSectors =
    (table.partitions.find((p) => p.slot === last.slot)?.lastLba ?? before) - before;
  const ids: ChangedId[] = [];
  const diskGuid = options.newGuid();
  ids.push({ what: "disk GUID", from: table.diskGuid, to: diskGuid });
  table = { ...table, diskGuid };
  for (const p of table.partitions) {
    const guid = options.newGuid();
    ids.push({ what: `PARTUUID of partition ${p.slot}`, from: p.uniqueGuid, to: guid });
    table = unwrap(updatePartition(table, p.slot, { uniqueGuid: guid }));
  }
  return { table, ids, lastSlot: last.slot, grownSectors };
}

/** Pure: how a filesystem type gets its new identifier, if it can. */
function idTool(type: string | undefined): "fat" | "ext" | "btrfs" | "none" {
  if (type === "vfat") return "fat";
  if (type === "ext4" || type === "ext3" || type === "ext2") return "ext";
  if (type === "btrfs") return "btrfs";
  return "none";
}

interface Attached {
  readonly slot: number;
  readonly device: string;
  readonly type: string;
  readonly detach: () => unknown;
}

async function uniquify(
  runner: CommandRunner,
  options: MakeUniqueOptions,
): Promise<MakeUniqueSummary> {
  const disk = options.disk;
  const changes: Changes = { ids: [], idMap: new Map(), kept: [], patched: [], cleared: [] };

  // 1. The partition table: backup to the end, last partition grown, new GUIDs.
  const recovered = await must(readGptRecovering(runner, disk));
  const diskBytes = (await stat(disk)).size;
  const plan = planTable(disk, recovered.table, {
    diskSectors: BigInt(diskBytes) / BigInt(recovered.table.sectorSize),
    grow: options.growLastPartition !== false,
    newGuid: randomGuid,
  });
  for (const id of plan.ids) record(changes, id.what, id.from, id.to);
  const table = plan.table;
  await must(writeGpt(runner, disk, table));

  // 2. Filesystem identifiers, one partition at a time; 3. references to them, and machine-id.
  const attached: Attached[] = [];
  try {
    for (const p of table.partitions) {
      const att = await must(attachPartition(runner, disk, p, { sectorSize: table.sectorSize }));
      const info = await blkid(runner, att.device).catch(() => ({}) as Record<string, string>);
      attached.push({
        slot: p.slot,
        device: att.device,
        type: info.TYPE ?? "",
        detach: () => att.detach(),
      });
      await newFilesystemIds(runner, att.device, p.slot, info, changes);
    }
    for (const part of attached) {
      const grow = part.slot === plan.lastSlot && plan.grownSectors > 0n;
      await rewriteReferences(runner, part, { grow }, changes);
    }
  } finally {
    for (const part of attached.reverse()) await part.detach();
  }
  return {
    ids: changes.ids,
    grownBytes: Number(plan.grownSectors) * table.sectorSize,
    patchedFiles: changes.patched,
    machineIdsCleared: changes.cleared,
    kept: changes.kept,
  };
}

/** Give one partition's filesystem a new UUID (and a Btrfs new device and subvolume UUIDs). */
async function newFilesystemIds(
  runner: CommandRunner,
  device: string,
  slot: number,
  info: Record<string, string>,
  changes: Changes,
): Promise<void> {
  const oldUuid = info.UUID;
  if (!oldUuid) return;
  switch (idTool(info.TYPE)) {
    case "fat": {
      const serial = fatSerial();
      await must(
        runner.run("mlabel", ["-i", device, "-N", serial.replace("-", ""), "::"], {
          env: { MTOOLS_SKIP_CHECK: "1" },
        }),
      );
      record(changes, `FAT serial of partition ${slot}`, oldUuid, serial);
      return;
    }
    case "ext":
      await must(runner.run("e2fsck", ["-f", "-y", device], { okExitCodes: [1] }));
      await must(runner.run("tune2fs", ["-U", "random", device]));
      record(
        changes,
        `filesystem UUID of partition ${slot}`,
        oldUuid,
        (await blkid(runner, device)).UUID ?? "",
      );
      return;
    case "btrfs":
      await must(runner.run("btrfstune", ["-f", "-u", device]));
      record(
        changes,
        `filesystem UUID of partition ${slot}`,
        oldUuid,
        (await blkid(runner, device)).UUID ?? "",
      );
      await reissueBtrfsIds(runner, device, slot, changes);
      return;
    case "none":
      changes.kept.push(`${info.TYPE} filesystem UUID of partition ${slot}: no tool to change it`);
      return;
  }
}

/** Device UUID and subvolume UUIDs: no btrfs-progs tool reissues them; our helper does, offline. */
async function reissueBtrfsIds(
  runner: CommandRunner,
  device: string,
  slot: number,
  changes: Changes,
): Promise<void> {
  const reissued = await reissueUuids(runner, device);
  if (
    reissued.isErr() &&
    reissued.error.code === "BTRFS_REUUID_REFUSED" &&
    reissued.error.reason === "unsupported"
  ) {
    changes.kept.push(
      `Btrfs device UUID (UUID_SUB) and subvolume UUIDs of partition ${slot}: ${reissued.error.detail}`,
    );
    return;
  }
  if (reissued.isErr()) throw new Fail(reissued.error);
  const re = reissued.value;
  record(
    changes,
    `Btrfs device UUID (UUID_SUB) of partition ${slot}`,
    re.device.from,
    re.device.to,
  );
  for (const sv of re.subvolumes)
    record(changes, `UUID of subvolume ${sv.id} on partition ${slot}`, sv.from, sv.to);
  for (const pa of re.parents)
    if (pa.dangling && !changes.idMap.has(pa.from))
      record(
        changes,
        `parent UUID (of a subvolume no longer on the disk) named by subvolume ${pa.id} on partition ${slot}`,
        pa.from,
        pa.to,
      );
  // The kernel may still have the old device UUID registered under this path.
  await runner.run("btrfs", ["device", "scan", "--forget", device]);
}

/** Rewrite the files on one partition that name old identifiers, and empty machine-id. */
async function rewriteReferences(
  runner: CommandRunner,
  part: Attached,
  options: { readonly grow: boolean },
  changes: Changes,
): Promise<void> {
  if (part.type === "btrfs") {
    const top = await must(mountTopLevel(runner, part.device));
    try {
      if (options.grow) {
        await must(runner.run("btrfs", ["filesystem", "resize", "max", top.path]));
      }
      for (const manifest of await lifeboatManifests(top.path))
        if (await patchFile(path.join(top.path, manifest), changes.idMap))
          changes.patched.push(`${part.slot}:${manifest}`);
      for (const sub of await must(listSubvolumes(runner, top.path)))
        await rewriteSubvolume(runner, top.path, part.slot, sub, changes);
    } finally {
      await top.unmount();
    }
  } else if (part.type.startsWith("ext")) {
    const mnt = await mkdtemp(path.join(tmpdir(), "lifeboat-boot-"));
    await must(runner.run("mount", ["-t", part.type, part.device, mnt]));
    try {
      for (const f of await bootFiles(mnt))
        if (await patchFile(path.join(mnt, f), changes.idMap))
          changes.patched.push(`${part.slot}:${f}`);
    } finally {
      await runner.run("umount", [mnt]);
      await rm(mnt, { recursive: true, force: true });
    }
  } else if (part.type === "vfat") {
    changes.patched.push(
      ...(await patchFat(runner, part.device, changes.idMap)).map((f) => `${part.slot}:${f}`),
    );
  }
}

/** One subvolume's text and boot files, made writable for the time of the rewrite when read-only. */
async function rewriteSubvolume(
  runner: CommandRunner,
  top: string,
  slot: number,
  sub: { readonly path: string; readonly readOnly: boolean },
  changes: Changes,
): Promise<void> {
  const base = path.join(top, sub.path);
  const files = [...TEXT_FILES, ...(await bootFiles(base))];
  const hits: string[] = [];
  for (const f of files) {
    const bytes = await readFile(path.join(base, f)).catch(() => undefined);
    if (bytes && substituteIds(bytes, changes.idMap)) hits.push(f);
  }
  const machineId = path.join(base, "etc/machine-id");
  const needsClear = ((await stat(machineId).catch(() => undefined))?.size ?? 0) > 0;
  if (hits.length === 0 && !needsClear) return;
  if (sub.readOnly)
    await must(setReadOnly(runner, top, sub.path, { readOnly: false, force: true }));
  try {
    for (const f of hits)
      if (await patchFile(path.join(base, f), changes.idMap))
        changes.patched.push(`${slot}:${sub.path}/${f}`);
    if (needsClear) {
      await truncate(machineId, 0);
      changes.cleared.push(`${slot}:${sub.path}/etc/machine-id`);
    }
  } finally {
    if (sub.readOnly)
      await must(setReadOnly(runner, top, sub.path, { readOnly: true, force: true }));
  }
}

async function patchFat(
  runner: CommandRunner,
  device: string,
  ids: ReadonlyMap<string, string>,
): Promise<string[]> {
  const env = { MTOOLS_SKIP_CHECK: "1" };
  const listing = await must(runner.run("mdir", ["-i", device, "-/", "-b", "::"], { env }));
  const files = listing.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("::/") && !l.endsWith("/"));
  const work = await mkdtemp(path.join(tmpdir(), "lifeboat-esp-"));
  const out: string[] = [];
  try {
    for (const file of files) {
      const local = path.join(work, "f");
      await must(runner.run("mcopy", ["-n", "-o", "-i", device, file, local], { env }));
      if (await patchFile(local, ids)) {
        await must(runner.run("mcopy", ["-o", "-i", device, local, file], { env }));
        out.push(file.slice(2));
      }
      await rm(local, { force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return out;
}

function unwrap<T>(r: Result<T, GptError>): T {
  if (r.isErr()) throw new Fail(r.error);
  return r.value;
}
