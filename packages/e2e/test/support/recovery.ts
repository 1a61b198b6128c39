/**
 * The recovery side of a test disk, made on the host as an OEM would: the
 * recovery partition carved from the free space and formatted, then
 * `lifeboat provision`: the factory snapshot, the signed image set and the
 * recovery environment (kernel + initramfs + helpers) on the partition.
 */
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { CommandRunner } from "@lifeboat/core";
import { RECOVERY_ENVIRONMENT_FILES, RECOVERY_PARTITION_TYPE_GUID } from "@lifeboat/core/layout";
import {
  attachPartition,
  type GptPartition,
  MiB,
  planRecoveryPartition,
  type RecoveryLayout,
  readGpt,
  writeGpt,
} from "@lifeboat/gpt";
import { readInstalledRecoveryEnvironment } from "@lifeboat/recovery-env";
import { sh } from "@lifeboat/testkit";
import { runCli } from "./cli-bundle.js";
import { must } from "./steps.js";

/** The recovery file system's label (the GRUB entry's fallback search). */
export const RECOVERY_LABEL = "LIFEBOAT";

/**
 * Carve a recovery partition of `recoveryBytes` (default 1400 MiB) from the
 * free space at the end of `image`'s GPT with `@lifeboat/gpt`, write both
 * table copies, and make it ext4 labelled {@link RECOVERY_LABEL}.
 */
export async function carveRecoveryPartition(
  runner: CommandRunner,
  image: string,
  recoveryBytes = 1400n * MiB,
): Promise<RecoveryLayout> {
  const table = await must(readGpt(runner, image));
  const layout = await must(planRecoveryPartition({ kind: "carve", table, recoveryBytes }));
  await must(writeGpt(runner, image, layout.table));
  const loop = await must(attachPartition(runner, image, layout.recovery));
  try {
    await sh("mkfs.ext4", ["-q", "-L", RECOVERY_LABEL, loop.device]);
  } finally {
    await loop.detach();
  }
  return layout;
}

/**
 * docs/oem-guide.md step 2 with the CLI bundle: `lifeboat --json gpt
 * add-recovery <image> --size <size> --dry-run` for the plan's digest, then the
 * same with `--yes --confirm <digest>` (the partition and its ext4). Returns the
 * new recovery partition as the table now holds it.
 */
export async function addRecoveryPartition(
  runner: CommandRunner,
  bundle: string,
  image: string,
  size = "1400M",
): Promise<GptPartition> {
  const args = ["gpt", "add-recovery", image, "--size", size];
  const planned = JSON.parse(await runCli(bundle, ["--json", ...args, "--dry-run"])) as {
    data: { plan: { digest: string } };
  };
  await runCli(bundle, [...args, "--yes", "--confirm", planned.data.plan.digest]);
  const table = await must(readGpt(runner, image));
  const recovery = table.partitions.find(
    (p) => p.typeGuid.toLowerCase() === RECOVERY_PARTITION_TYPE_GUID,
  );
  if (recovery === undefined)
    throw new Error(`gpt add-recovery left no recovery partition on ${image}`);
  return recovery;
}

/**
 * Attach `partition` of `image` as its own loop device, mount it on
 * `mountpoint` (created if missing), run `use`, and always unmount and
 * detach again.
 */
export async function withPartitionMounted<T>(
  runner: CommandRunner,
  image: string,
  partition: Pick<GptPartition, "firstLba" | "lastLba">,
  mountpoint: string,
  use: (device: string) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const loop = await must(
    attachPartition(runner, image, partition, options.readOnly ? { readOnly: true } : {}),
  );
  try {
    await mkdir(mountpoint, { recursive: true });
    await sh("mount", [...(options.readOnly ? ["-o", "ro"] : []), loop.device, mountpoint]);
    try {
      return await use(loop.device);
    } finally {
      await sh("umount", [mountpoint]);
    }
  } finally {
    await loop.detach();
  }
}

/**
 * `lifeboat provision --disk <image> --no-grub` (or with its GRUB integration
 * and `--recovery-args`, given `grubRecoveryArgs`) from the host: the factory
 * snapshot of root and the /boot payload; with `keysDir`, a key pair made
 * there first (`lifeboat image keygen`), the signed recovery image set and
 * the recovery environment (around the fixture's own kernel) written to the
 * recovery partition. Returns the command's JSON output.
 */
export async function provisionFixture(
  bundle: string,
  image: string,
  options: {
    build: string;
    keysDir?: string;
    /** Install provision's GRUB integration (instead of `--no-grub`) with these `--recovery-args`. */
    grubRecoveryArgs?: string;
  },
): Promise<string> {
  const key: string[] = [];
  if (options.keysDir !== undefined) {
    await runCli(bundle, ["image", "keygen", "--out", options.keysDir]);
    key.push("--key", path.join(options.keysDir, "private.pem"));
  }
  return runCli(bundle, [
    "provision",
    "--disk",
    image,
    ...key,
    ...(options.grubRecoveryArgs === undefined
      ? ["--no-grub"]
      : ["--recovery-args", options.grubRecoveryArgs]),
    "--product",
    "Fedora-shaped fixture",
    "--build",
    options.build,
    "--json",
  ]);
}

/** The recovery environment `lifeboat provision` installed, verified on the partition and copied out (for a direct kernel boot or recovery media). */
export interface InstalledEnvironment {
  readonly kernel: string;
  readonly initrd: string;
  readonly exchangeHelper: string;
  readonly agentHelper: string;
  /** The recovery partition's file system UUID. */
  readonly fsUuid: string;
  /** `sha256:` of its record, as provision reported it. */
  readonly digest: string;
  readonly kernelVersion: string;
  readonly initrdBytes: number;
}

/**
 * Mount `partition` read-only, verify the installed recovery environment
 * against its record (`readInstalledRecoveryEnvironment`), and copy its
 * files into `outDir`.
 */
export async function copyInstalledEnvironment(
  runner: CommandRunner,
  image: string,
  partition: Pick<GptPartition, "firstLba" | "lastLba">,
  mountpoint: string,
  outDir: string,
): Promise<InstalledEnvironment> {
  await mkdir(outDir, { recursive: true });
  return withPartitionMounted(
    runner,
    image,
    partition,
    mountpoint,
    async (device) => {
      const env = await must(readInstalledRecoveryEnvironment(mountpoint));
      const out = (name: string) => path.join(outDir, name);
      for (const name of Object.values(RECOVERY_ENVIRONMENT_FILES))
        await copyFile(path.join(env.dir, name), out(name));
      const f = RECOVERY_ENVIRONMENT_FILES;
      return {
        kernel: out(f.kernel),
        initrd: out(f.initrd),
        exchangeHelper: out(f.exchangeHelper),
        agentHelper: out(f.agentHelper),
        fsUuid: (await sh("blkid", ["-o", "value", "-s", "UUID", device])).trim(),
        digest: env.digest,
        kernelVersion: env.record.kernelVersion,
        initrdBytes: env.record.files[f.initrd]?.bytes ?? 0,
      };
    },
    { readOnly: true },
  );
}
