/**
 * The recovery side of a test disk, made on the host as an OEM would: the
 * recovery partition carved from the free space and formatted, the factory
 * snapshot and signed image set written by `lifeboat provision`, the
 * recovery environment (kernel + initramfs) and the exchange helper built
 * and copied onto the partition.
 */
import { chmod, copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { buildAgentHelper, buildExchangeHelper } from "@lifeboat/btrfs";
import type { CommandRunner } from "@lifeboat/core";
import {
  attachPartition,
  type GptPartition,
  MiB,
  planRecoveryPartition,
  type RecoveryLayout,
  readGpt,
  writeGpt,
} from "@lifeboat/gpt";
import { buildRecoveryEnvironment, type RecoveryEnvironment } from "@lifeboat/recovery-env";
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
 * `lifeboat provision --disk <image> --no-grub` from the host: the factory
 * snapshot of root and the /boot payload; with `keysDir`, a key pair made
 * there first (`lifeboat image keygen`) and the signed recovery image set
 * written to the recovery partition. Returns the command's JSON output.
 */
export async function provisionFixture(
  bundle: string,
  image: string,
  options: { build: string; keysDir?: string },
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
    "--no-grub",
    "--product",
    "Fedora-shaped fixture",
    "--build",
    options.build,
    "--json",
  ]);
}

/** The recovery environment and the `lifeboat-exch` and `lifeboat-btrfs-agent` helpers, ready to copy. */
export interface RecoveryKit {
  readonly env: RecoveryEnvironment;
  /** The compiled exchange helper (the initramfs has no compiler). */
  readonly helper: string;
  /** The compiled Btrfs agent. */
  readonly agent: string;
}

/** Build the recovery environment around `bundle` (with its default commands, the CLI's real ones) into `outDir`, and the exchange helper. */
export async function buildRecoveryKit(
  runner: CommandRunner,
  bundle: string,
  outDir: string,
): Promise<RecoveryKit> {
  const env = await must(
    buildRecoveryEnvironment(runner, {
      cliBundle: bundle,
      outDir,
    }),
  );
  const helper = await must(buildExchangeHelper(runner));
  const agent = await must(buildAgentHelper(runner));
  return { env, helper: helper.path, agent: agent.path };
}

/**
 * Copy the kit onto the recovery partition (`vmlinuz`, `initrd.img`,
 * `lifeboat-exch`, `lifeboat-btrfs-agent`, an empty `requests/`); returns the partition's file
 * system UUID.
 */
export async function installRecoveryKit(
  runner: CommandRunner,
  image: string,
  partition: Pick<GptPartition, "firstLba" | "lastLba">,
  kit: RecoveryKit,
  mountpoint: string,
): Promise<string> {
  return withPartitionMounted(runner, image, partition, mountpoint, async (device) => {
    await copyFile(kit.env.kernel, path.join(mountpoint, "vmlinuz"));
    await copyFile(kit.env.initrd, path.join(mountpoint, "initrd.img"));
    for (const [file, name] of [
      [kit.helper, "lifeboat-exch"],
      [kit.agent, "lifeboat-btrfs-agent"],
    ] as const) {
      await copyFile(file, path.join(mountpoint, name));
      await chmod(path.join(mountpoint, name), 0o755);
    }
    await mkdir(path.join(mountpoint, "requests"), { recursive: true });
    return (await sh("blkid", ["-o", "value", "-s", "UUID", device])).trim();
  });
}
