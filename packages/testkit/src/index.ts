/**
 * Test harness for Lifeboat's packages: loop-backed disk images that are
 * always torn down. Test tooling throws (a failed set-up is a failed test);
 * it never skips.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type CommandRunner, createExecaRunner, formatError, installHint } from "@lifeboat/core";

const runner: CommandRunner = createExecaRunner();

/** Run a program; throw with its stderr when it fails. Test set-up only. */
export async function sh(
  command: string,
  args: readonly string[],
  options: { stdin?: string | Uint8Array } = {},
): Promise<string> {
  const r = await runner.run(
    command,
    args,
    options.stdin === undefined ? {} : { stdin: options.stdin },
  );
  if (r.isErr()) throw new Error(formatError(r.error));
  return r.value.stdout;
}

/** Throw unless the process runs as root. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error("These tests need root (loop devices, mounts): run them as root.");
}

/** Throw, naming the install command, unless every program is on PATH. */
export function requireTools(...programs: string[]): void {
  for (const program of programs) {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", program], { stdio: "ignore" });
    } catch {
      const hint = installHint(program);
      throw new Error(
        `${program} is missing; install it with: ${hint ?? `(package providing ${program})`}`,
      );
    }
  }
}

/**
 * A temporary directory plus a stack of clean-up actions run in reverse
 * order by {@link Scratch.cleanup}, whatever happened before.
 */
export class Scratch {
  readonly #undo: Array<() => Promise<unknown>> = [];
  private constructor(readonly dir: string) {}

  /** Make a scratch directory under the system temp directory. */
  static async create(prefix = "lifeboat-test-"): Promise<Scratch> {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    const scratch = new Scratch(dir);
    scratch.defer(() => rm(dir, { recursive: true, force: true }));
    return scratch;
  }

  /** Register an action for clean-up. */
  defer(action: () => Promise<unknown>): void {
    this.#undo.push(action);
  }

  /** A path inside the scratch directory. */
  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** Run every clean-up action (last registered first); report all failures together. */
  async cleanup(): Promise<void> {
    const failures: unknown[] = [];
    while (this.#undo.length > 0) {
      const action = this.#undo.pop()!;
      try {
        await action();
      } catch (e) {
        failures.push(e);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, "scratch clean-up failed");
  }
}

/** Make a sparse image file of `bytes` bytes. */
export async function createImageFile(
  scratch: Scratch,
  name: string,
  bytes: number | bigint,
): Promise<string> {
  const file = scratch.path(name);
  await sh("truncate", ["-s", String(bytes), file]);
  return file;
}

/** Options for {@link attachLoop}. */
export interface LoopOptions {
  readonly offset?: number | bigint;
  readonly sizeLimit?: number | bigint;
  readonly sectorSize?: 512 | 4096;
  readonly readOnly?: boolean;
}

/**
 * Attach a file (or a byte range of it: a partition, since this kernel does
 * not scan partition tables) as a loop device, detached at clean-up.
 */
export async function attachLoop(
  scratch: Scratch,
  file: string,
  options: LoopOptions = {},
): Promise<string> {
  const args = ["--find", "--show"];
  if (options.offset !== undefined) args.push("--offset", String(options.offset));
  if (options.sizeLimit !== undefined) args.push("--sizelimit", String(options.sizeLimit));
  if (options.sectorSize !== undefined) args.push("--sector-size", String(options.sectorSize));
  if (options.readOnly) args.push("--read-only");
  args.push(file);
  const device = (await sh("losetup", args)).trim();
  scratch.defer(() => detachLoop(device));
  return device;
}

async function detachLoop(device: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await runner.run("losetup", ["-d", device]);
    if (r.isOk()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await sh("losetup", ["-d", device]);
}

/** Options for {@link mountTemp}. */
export interface MountOptions {
  readonly type?: string;
  readonly options?: string;
}

/** Mount a device on a new directory inside the scratch area; unmounted at clean-up. */
export async function mountTemp(
  scratch: Scratch,
  device: string,
  options: MountOptions = {},
): Promise<string> {
  const { mkdir } = await import("node:fs/promises");
  const target = await mkdtemp(path.join(scratch.dir, "mnt-"));
  await mkdir(target, { recursive: true });
  const args: string[] = [];
  if (options.type) args.push("-t", options.type);
  if (options.options) args.push("-o", options.options);
  await sh("mount", [...args, device, target]);
  scratch.defer(() => unmount(target));
  return target;
}

/** Unmount, retrying while busy, falling back to a lazy unmount. */
export async function unmount(target: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = await runner.run("umount", [target]);
    if (r.isOk()) return;
    if (r.error.code === "COMMAND_FAILED" && /not mounted/.test(r.error.stderrTail)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await sh("umount", ["-l", target]);
}

/** A partition as `sfdisk -J` reports it, with byte offsets for {@link attachLoop}. */
export interface PartitionSlice {
  readonly number: number;
  readonly start: bigint;
  readonly size: bigint;
  readonly type: string;
  readonly name: string | undefined;
  readonly offsetBytes: bigint;
  readonly sizeBytes: bigint;
}

/** Read a disk image's partitions with `sfdisk -J` (the second opinion, not our codec). */
export async function partitionsOf(image: string): Promise<PartitionSlice[]> {
  const table = JSON.parse(await sh("sfdisk", ["-J", image])) as {
    partitiontable: {
      sectorsize?: number;
      partitions?: Array<{
        node: string;
        start: number;
        size: number;
        type: string;
        name?: string;
      }>;
    };
  };
  const sector = BigInt(table.partitiontable.sectorsize ?? 512);
  return (table.partitiontable.partitions ?? []).map((p) => {
    const number = Number(/(\d+)$/.exec(p.node)?.[1] ?? "0");
    return {
      number,
      start: BigInt(p.start),
      size: BigInt(p.size),
      type: p.type.toLowerCase(),
      name: p.name,
      offsetBytes: BigInt(p.start) * sector,
      sizeBytes: BigInt(p.size) * sector,
    };
  });
}

/** A Btrfs filesystem on a loop device, mounted at its top level. */
export interface BtrfsFixture {
  readonly image: string;
  readonly device: string;
  readonly mountpoint: string;
}

/** Make, attach and mount a fresh Btrfs of `bytes` bytes (default 1 GiB). */
export async function createBtrfs(
  scratch: Scratch,
  options: { bytes?: number; label?: string; name?: string } = {},
): Promise<BtrfsFixture> {
  requireRoot();
  requireTools("mkfs.btrfs", "losetup", "mount");
  const image = await createImageFile(
    scratch,
    options.name ?? "btrfs.img",
    options.bytes ?? 1024 ** 3,
  );
  const device = await attachLoop(scratch, image);
  await sh("mkfs.btrfs", ["-q", "-f", ...(options.label ? ["-L", options.label] : []), device]);
  const mountpoint = await mountTemp(scratch, device, { type: "btrfs" });
  return { image, device, mountpoint };
}
export { repositoryRoot, stamp, testOutputPath } from "./_internal/output-dir.js";
export {
  type BlsEntry,
  parseBlsEntry,
  renderBlsEntry,
  renderBlsMenu,
  syncBlsMenu,
} from "./bls-menu.js";
export {
  type CrashPlanOptions,
  type CrashState,
  CrashStateBuilder,
  planCrashStates,
} from "./crash-states.js";
export {
  DEBIAN_FIXTURE_RECIPE,
  type DebianFixture,
  type DebianFixtureInfo,
  debianFixture,
  debianFixtureKey,
  ensureDebianFixture,
} from "./debian-fixture.js";
export {
  DEFAULT_GRUB_MODULES,
  type FatFile,
  type FatImage,
  type FatImageOptions,
  type GrubEfi,
  type GrubEfiOptions,
  makeFatImage,
  makeGrubEfi,
  readFatFile,
  writeAtOffset,
} from "./esp.js";
export {
  ensureFedoraFixture,
  FEDORA_FIXTURE_RECIPE,
  type FedoraFixture,
  type FedoraFixtureInfo,
  type FedoraFixtureOptions,
  FIXTURE_CACHE_DIR,
  type FixturePartition,
  fedoraFixture,
  fedoraFixtureKey,
} from "./fedora-fixture.js";
export {
  ensureFedoraMkconfigFixture,
  FEDORA_MKCONFIG_FIXTURE_RECIPE,
  type FedoraMkconfigFixture,
  type FedoraMkconfigFixtureInfo,
  fedoraMkconfigFixture,
  fedoraMkconfigFixtureKey,
} from "./fedora-mkconfig-fixture.js";
export { fingerprintFunction } from "./fingerprint-script.js";
export {
  fixtureFingerprints,
  type MountedFixture,
  mountFixture,
} from "./fixture-mount.js";
export {
  type ChooseGrubEntryOptions,
  chooseGrubEntry,
  type GrubChoice,
  type MenuTitle,
  typeKeys,
} from "./grub-menu.js";
export {
  type BootOptions,
  boot,
  Keys,
  kernelSecureBootStates,
  OVMF_CODE,
  OVMF_VARS,
  type QemuDisk,
  type QemuExit,
  type QemuHandle,
  qemuArgs,
  secureBootMismatch,
  secureBootOf,
} from "./qemu.js";
export {
  copyEspOut,
  installSignedBootChain,
  replaceEspFile,
  SECURE_BOOT_OVMF_CODE,
  SECURE_BOOT_OVMF_VARS,
  SECURE_BOOT_QEMU_ARGS,
  SIGNED_GRUB,
  SIGNED_SHIM,
  type SignedBootChainOptions,
  signedGrubStubConfig,
} from "./secure-boot.js";
export {
  applyEntries,
  exportWithWriteLog,
  isDataWrite,
  isFlush,
  readWriteLog,
  WRITE_LOG_MAGIC,
  type WriteLog,
  type WriteLogEntry,
  WriteLogFlag,
  writeLogBlockdevArgs,
} from "./write-log.js";
