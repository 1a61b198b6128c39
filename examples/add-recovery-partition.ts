/**
 * Add a recovery partition to an existing disk: carve it out of free space
 * at the end of the disk (type d999c366-…, attributes no-auto + read-only),
 * write the table (both copies), and make an ext4 filesystem on it.
 *
 * Run: sudo pnpm exec tsx examples/add-recovery-partition.ts disk.img 512
 * (a disk image file; on a real disk give /dev/sdX and re-read the table)
 */
import { type CommandRunner, createExecaRunner, formatError } from "@lifeboat/core";
import { attachPartition, MiB, planRecoveryPartition, readGpt, writeGpt } from "@lifeboat/gpt";

/** Carve a recovery partition of `sizeMiB` from the free space of `disk` and format it. */
export async function addRecoveryPartition(runner: CommandRunner, disk: string, sizeMiB: number) {
  const table = await readGpt(runner, disk);
  if (table.isErr()) throw new Error(formatError(table.error));
  const layout = planRecoveryPartition({
    kind: "carve",
    table: table.value,
    recoveryBytes: BigInt(sizeMiB) * MiB,
  });
  if (layout.isErr()) throw new Error(formatError(layout.error)); // e.g. GPT_NO_SPACE, with the bytes free
  const written = await writeGpt(runner, disk, layout.value.table);
  if (written.isErr()) throw new Error(formatError(written.error));
  const part = layout.value.recovery;
  // This kernel does not scan partition tables: attach the partition at its offset.
  const loop = await attachPartition(runner, disk, part);
  if (loop.isErr()) throw new Error(formatError(loop.error));
  try {
    const mkfs = await runner.run("mkfs.ext4", ["-q", "-L", "lifeboat-rec", loop.value.device]);
    if (mkfs.isErr()) throw new Error(formatError(mkfs.error));
  } finally {
    await loop.value.detach();
  }
  return { slot: part.slot, firstLba: part.firstLba, lastLba: part.lastLba, name: part.name };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [disk, size] = process.argv.slice(2);
  if (!disk || !size) {
    console.error("usage: add-recovery-partition.ts <disk> <size MiB>");
    process.exit(2);
  }
  const p = await addRecoveryPartition(createExecaRunner(), disk, Number(size));
  console.log(`partition ${p.slot} "${p.name}" at LBA ${p.firstLba}-${p.lastLba}, ext4`);
}
