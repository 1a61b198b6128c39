import { createPublicKey } from "node:crypto";
import { constants } from "node:fs";
import {
  access,
  chmod,
  copyFile,
  lutimes,
  mkdir,
  readdir,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, installHint, ioError, lifeboatError } from "@lifeboat/core";
import { TRUSTED_KEYS_DIR } from "@lifeboat/core/layout";
import { ResultAsync } from "neverthrow";
import { moduleLoadOrder } from "./_internal/closure.js";
import { renderInit } from "./_internal/init-script.js";
import { inputMissing, type RecoveryEnvError } from "./errors.js";
import { installProgram } from "./install-program.js";

/** Kernel modules put into the initramfs by default (with their dependencies). */
export const DEFAULT_MODULES: readonly string[] = [
  "virtio_pci",
  "virtio_blk",
  "virtio_scsi",
  "virtio_rng",
  "sd_mod",
  "nvme",
  "ahci",
  "usb_storage",
  "xhci_pci",
  "crc32c_generic",
  "btrfs",
  "ext4",
  "vfat",
  "nls_cp437",
  "nls_iso8859_1",
  "squashfs",
  "erofs",
  "overlay",
  "loop",
  // LUKS: device-mapper, dm-crypt and the ciphers of LUKS2's default aes-xts-plain64;
  // algif_skcipher lets cryptsetup decrypt key slots through the kernel's crypto API.
  "dm_mod",
  "dm_crypt",
  "xts",
  "aesni_intel",
  "algif_skcipher",
  "efivarfs",
];

/** The modules a LUKS container needs opened (part of {@link DEFAULT_MODULES}; keep them when you pass `modules`). */
export const LUKS_MODULES: readonly string[] = [
  "dm_mod",
  "dm_crypt",
  "xts",
  "aesni_intel",
  "algif_skcipher",
];

/** Programs (from this machine, with their libraries) put into the initramfs by default, besides busybox and node. */
export const DEFAULT_TOOLS: readonly string[] = [
  "btrfs",
  "mkfs.btrfs",
  "lsblk",
  "findmnt",
  "blkid",
  "mount",
  "umount",
  "losetup",
  // util-linux's: openMachine holds the disk lock with `flock -E` (busybox's has no -E).
  "flock",
  // util-linux's: busybox's blockdev takes one option per call (@lifeboat/gpt passes two).
  "blockdev",
  "sfdisk",
  "sgdisk",
  // Opens the LUKS container the system's Btrfs may sit in (with libcryptsetup, libdevmapper, libargon2...).
  "cryptsetup",
  "unsquashfs",
];

/**
 * Arguments given to `node /lifeboat/cli.js` in each mode (`lifeboat.mode=`
 * on the kernel command line); `{request}`, `{digest}`, `{disk}`,
 * `{recovery}` are filled in at boot.
 */
export interface RecoveryCliArguments {
  /** `lifeboat.mode=interactive` (the default; GRUB's "Recovery" entry): the guided front end. */
  readonly interactive: readonly string[];
  /** `lifeboat.mode=unattended`: a reset request written beforehand, checked against its digest. */
  readonly unattended: readonly string[];
  /**
   * `lifeboat.mode=factory-reset` (GRUB's "Reset to factory settings"
   * entry): the guided front end opened on the "reset, keep my files"
   * confirmation. Default {@link DEFAULT_CLI_ARGUMENTS}' entry.
   */
  readonly "factory-reset"?: readonly string[];
}

/** The modes the recovery environment's `/init` accepts (`lifeboat.mode=`); anything else is `interactive`. */
export const RECOVERY_MODES = ["interactive", "unattended", "factory-reset"] as const;

/**
 * The default {@link RecoveryCliArguments}: the CLI's real commands.
 *
 * @example
 * ```ts
 * DEFAULT_CLI_ARGUMENTS["factory-reset"]; // ["recovery", "--factory-reset", "--disk", "{disk}"]
 * ```
 */
export const DEFAULT_CLI_ARGUMENTS = {
  interactive: ["recovery", "--disk", "{disk}"],
  unattended: ["recovery", "--request", "{request}", "--digest", "{digest}", "--disk", "{disk}"],
  "factory-reset": ["recovery", "--factory-reset", "--disk", "{disk}"],
} as const satisfies Required<RecoveryCliArguments>;

/**
 * The argument file of each mode (`/lifeboat/args.<mode>`, one argument a
 * line) for {@link RecoveryCliArguments}; a mode they leave out gets the default.
 *
 * @example
 * ```ts
 * renderCliArgumentFiles(DEFAULT_CLI_ARGUMENTS)["factory-reset"]; // "recovery\n--factory-reset\n--disk\n{disk}\n"
 * ```
 */
export function renderCliArgumentFiles(
  args: RecoveryCliArguments,
): Record<(typeof RECOVERY_MODES)[number], string> {
  const lines = (a: readonly string[]) => a.map((x) => `${x}\n`).join("");
  return {
    interactive: lines(args.interactive),
    unattended: lines(args.unattended),
    "factory-reset": lines(args["factory-reset"] ?? DEFAULT_CLI_ARGUMENTS["factory-reset"]),
  };
}

/** Progress of {@link buildRecoveryEnvironment}. */
export type RecoveryEnvProgress =
  | { readonly step: "inputs"; readonly kernelVersion: string }
  | { readonly step: "modules"; readonly count: number }
  | { readonly step: "programs"; readonly count: number }
  | { readonly step: "archive"; readonly uncompressedBytes: number }
  | { readonly step: "compress"; readonly initrdBytes: number };

/** Options for {@link buildRecoveryEnvironment}. */
export interface BuildRecoveryEnvironmentOptions {
  /** The Lifeboat CLI as one JavaScript file (installed as `/lifeboat/cli.js`). */
  readonly cliBundle: string;
  /** Where `vmlinuz` and `initrd.img` are written (created if missing). */
  readonly outDir: string;
  /** The kernel image (default: the newest `vmlinuz-*` in `boot` whose modules are in `systemRoot`). */
  readonly kernel?: string;
  /** The /boot the default kernel is taken from (default `/boot`). */
  readonly boot?: string;
  /**
   * The root file system whose `lib/modules/<version>` holds the kernel's
   * modules (default `/`, the build host): the target system's root, so the
   * environment runs the distribution's own (signed) kernel with its modules.
   */
  readonly systemRoot?: string;
  /** Time stamp of every file in the initramfs, seconds since the epoch (default 2026-01-01), so equal inputs give equal bytes. */
  readonly sourceDateEpoch?: number;
  /** Kernel modules to include (default {@link DEFAULT_MODULES}); dependencies are added. */
  readonly modules?: readonly string[];
  /** Programs to include (default {@link DEFAULT_TOOLS}), looked up on PATH. */
  readonly tools?: readonly string[];
  /** The Node.js binary (default: the one running this code). */
  readonly node?: string;
  /** busybox, statically linked (default `/bin/busybox` from busybox-static). */
  readonly busybox?: string;
  readonly cliArguments?: RecoveryCliArguments;
  /**
   * Public keys (PEM) the recovery environment trusts, written to
   * `TRUSTED_KEYS_DIR` (`/etc/lifeboat/trusted-keys/key-<n>.pem`) in the
   * initramfs: the CLI there verifies the recovery image with them. Without
   * them it can reset from the factory snapshot only. Each is the key's
   * text (`await readFile("keys/public.pem", "utf8")`), not its path: anything
   * but an Ed25519 public key is `INVALID_ARGUMENT` before anything is built.
   */
  readonly trustedKeys?: readonly string[];
  /**
   * The folder of the native `@mongodb-js/zstd` addon that `lifeboat update`
   * loads (every other command runs from the bundle alone). Default: the one
   * Node would load for `cliBundle` where it is, resolved from the bundle's
   * real folder, as `lifeboat provision` and an installed `lifeboat` package
   * have it. It goes to `/lifeboat/node_modules/@mongodb-js/` with its
   * platform package (`zstd-linux-x64-gnu`) and the shared libraries it links
   * that the environment lacks (`librt.so.1`). `false` builds without it:
   * `lifeboat update` then fails there with `CASYNC_DECOMPRESS_FAILED`. A
   * folder that is not there, or a default that cannot be resolved, is
   * `RECOVERY_ENV_INPUT_MISSING` (`input: "zstd-addon"`) before anything is built.
   */
  readonly zstdAddon?: string | false;
  /** zstd level (default 10). */
  readonly compressionLevel?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: RecoveryEnvProgress) => void;
}

/** A built recovery environment. */
export interface RecoveryEnvironment {
  /** Path of the kernel image in `outDir`. */
  readonly kernel: string;
  /** Path of the zstd-compressed cpio initramfs in `outDir`. */
  readonly initrd: string;
  readonly kernelVersion: string;
  /** Kernel plus initramfs, the space they take on the recovery partition. */
  readonly sizeBytes: number;
  readonly initrdBytes: number;
  /** The initramfs before compression. */
  readonly uncompressedBytes: number;
  /** Module files included, relative to `/lib/modules/<version>`, in load order. */
  readonly modules: readonly string[];
}

const DEFAULT_SOURCE_DATE_EPOCH = 1767225600;

class Failure {
  constructor(readonly error: RecoveryEnvError) {}
}

async function must<T>(r: ResultAsync<T, RecoveryEnvError>): Promise<T> {
  const v = await r;
  if (v.isErr()) throw new Failure(v.error);
  return v.value;
}

async function io<T>(p: Promise<T>, file: string, operation: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw new Failure(ioError(e, file, operation));
  }
}

const exists = (p: string) =>
  access(p, constants.F_OK).then(
    () => true,
    () => false,
  );

/**
 * Build the recovery environment Lifeboat installs on the recovery
 * partition: this machine's kernel and an initramfs (zstd-compressed cpio)
 * holding busybox, Node.js with its libraries, the storage and filesystem
 * modules, the tools the CLI runs (btrfs, lsblk, cryptsetup...), the CLI
 * bundle and an `/init` that finds the disk holding the recovery
 * partition, reads `lifeboat.mode=interactive|unattended`,
 * `lifeboat.request=<path on the recovery partition>` and
 * `lifeboat.digest=sha256:<hex>` from the kernel command line (an
 * unattended request whose digest does not match falls back to
 * interactive), runs the CLI, syncs and powers off.
 *
 * @example
 * ```ts
 * import { createExecaRunner } from "@lifeboat/core";
 * import { buildRecoveryEnvironment } from "@lifeboat/recovery-env";
 * const r = await buildRecoveryEnvironment(createExecaRunner(), {
 *   cliBundle: "dist/lifeboat-cli.js",
 *   outDir: "/tmp/recovery",
 * });
 * if (r.isOk()) console.log(r.value.initrd, r.value.sizeBytes);
 * ```
 */
export function buildRecoveryEnvironment(
  runner: CommandRunner,
  options: BuildRecoveryEnvironmentOptions,
): ResultAsync<RecoveryEnvironment, RecoveryEnvError> {
  return ResultAsync.fromPromise(build(runner, options), (e): RecoveryEnvError => {
    if (e instanceof Failure) return e.error;
    return ioError(e, options.outDir, "build the recovery environment in");
  });
}

const KERNEL_HINT =
  "install the distribution's kernel in the system (apt-get install -y linux-image-amd64, dnf install -y kernel), or give the kernel (--recovery-kernel)";

/** `<systemRoot>/lib/modules/<version>`, or `usr/lib/modules` where /lib is not there. */
async function modulesDirOf(systemRoot: string, version: string): Promise<string | undefined> {
  for (const dir of ["lib/modules", "usr/lib/modules"]) {
    const candidate = path.join(systemRoot, dir, version);
    if (await exists(path.join(candidate, "modules.dep"))) return candidate;
  }
  return undefined;
}

async function findKernel(
  kernel: string | undefined,
  boot: string,
  systemRoot: string,
): Promise<{ kernel: string; version: string }> {
  if (kernel !== undefined) {
    if (!(await exists(kernel))) throw new Failure(inputMissing("kernel", kernel, KERNEL_HINT));
    const version = /vmlinuz-(.+)$/.exec(path.basename(kernel))?.[1];
    if (version === undefined)
      throw new Failure(inputMissing("kernel", `${kernel} (named vmlinuz-<version>)`));
    return { kernel, version };
  }
  const names = (await readdir(boot).catch(() => [] as string[])).filter((n) =>
    n.startsWith("vmlinuz-"),
  );
  const versions = names
    .map((n) => n.slice("vmlinuz-".length))
    .sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
  for (const version of versions)
    if ((await modulesDirOf(systemRoot, version)) !== undefined)
      return { kernel: path.join(boot, `vmlinuz-${version}`), version };
  throw new Failure(
    inputMissing(
      "kernel",
      versions.length === 0
        ? `${path.join(boot, "vmlinuz-*")}`
        : `${path.join(boot, "vmlinuz-*")} with its modules in ${path.join(systemRoot, "lib/modules")} (found ${versions.join(", ")} without modules)`,
      KERNEL_HINT,
    ),
  );
}

async function which(program: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    const candidate = path.join(dir, program);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  for (const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    const candidate = path.join(dir, program);
    if (await exists(candidate)) return candidate;
  }
  return undefined;
}

/**
 * A trusted key must be an Ed25519 public key in PEM, the text itself: a path
 * or another kind of key would be written into the initramfs and refused
 * there, at the first verification (`IMAGE_KEY_INVALID`), long after the build.
 */
function checkTrustedKey(pem: string, index: number): void {
  let type: string | undefined;
  try {
    type = createPublicKey(pem).asymmetricKeyType;
  } catch {
    type = undefined;
  }
  if (type === "ed25519") return;
  const shown = pem.length > 60 ? `${pem.slice(0, 60)}…` : pem;
  throw new Failure(
    lifeboatError(
      "INVALID_ARGUMENT",
      `trustedKeys[${index}] is not an Ed25519 public key in PEM (${type === undefined ? `got ${JSON.stringify(shown)}` : `a ${type} key`}): give the key's text (readFile(path, "utf8")), not its path. Nothing was built.`,
      { argument: `trustedKeys[${index}]` },
    ),
  );
}

/** What the build takes from the machine, found and checked before anything is written. */
interface Inputs {
  readonly kernel: string;
  readonly version: string;
  readonly systemRoot: string;
  readonly modulesDir: string;
  readonly node: string;
  readonly busybox: string;
  /** The addon's package folder and its platform package's (the `.node` file's) folder, or none. */
  readonly zstdAddon: { readonly main: string; readonly platform: string } | undefined;
}

/** Folders every initramfs has. */
const SKELETON = [
  "bin",
  "sbin",
  "usr/bin",
  "usr/sbin",
  "etc",
  "proc",
  "sys",
  "dev",
  "run",
  "tmp",
  "root",
  "lifeboat",
];

/** A file whose content the options alone decide. */
interface PlannedFile {
  readonly path: string;
  readonly content: string;
  readonly mode?: number;
}

/**
 * Pure: the initramfs files written from the options — the trusted keys,
 * each mode's argument file, `/init` — without touching anything.
 */
function plannedFiles(o: BuildRecoveryEnvironmentOptions, kernelVersion: string): PlannedFile[] {
  const files: PlannedFile[] = [];
  for (const [i, pem] of (o.trustedKeys ?? []).entries())
    files.push({
      path: path.join(TRUSTED_KEYS_DIR, `key-${i + 1}.pem`),
      content: pem,
      mode: 0o644,
    });
  const argFiles = renderCliArgumentFiles(o.cliArguments ?? DEFAULT_CLI_ARGUMENTS);
  for (const mode of RECOVERY_MODES)
    files.push({ path: `lifeboat/args.${mode}`, content: argFiles[mode] });
  files.push({ path: "init", content: renderInit({ kernelVersion }), mode: 0o755 });
  return files;
}

async function build(
  runner: CommandRunner,
  o: BuildRecoveryEnvironmentOptions,
): Promise<RecoveryEnvironment> {
  const inputs = await resolveInputs(o);
  o.onProgress?.({ step: "inputs", kernelVersion: inputs.version });

  await io(mkdir(o.outDir, { recursive: true }), o.outDir, "create");
  const staging = path.join(o.outDir, `.staging-${process.pid}`);
  const cpio = path.join(o.outDir, `.initrd-${process.pid}.cpio`);
  await rm(staging, { recursive: true, force: true });
  try {
    for (const d of SKELETON)
      await io(mkdir(path.join(staging, d), { recursive: true }), d, "create");

    const modules = await stageModules(runner, staging, inputs, o);
    o.onProgress?.({ step: "modules", count: modules.length });

    // Programs with their libraries: node, then the tools; busybox fills in the rest.
    const programs = await stagePrograms(runner, staging, inputs.node, o);
    o.onProgress?.({ step: "programs", count: programs });
    await stageBusybox(runner, staging, inputs.busybox, o.signal);

    // The CLI, the zstd addon beside it, the keys it trusts, its arguments, and /init.
    await put(staging, o.cliBundle, "/lifeboat/cli.js", 0o644);
    if (inputs.zstdAddon !== undefined) await stageZstdAddon(runner, staging, inputs.zstdAddon, o);
    for (const f of plannedFiles(o, inputs.version)) {
      const dest = path.join(staging, f.path);
      await io(mkdir(path.dirname(dest), { recursive: true }), dest, "create the folder of");
      await io(
        writeFile(dest, f.content, f.mode === undefined ? {} : { mode: f.mode }),
        f.path,
        "write",
      );
    }

    const uncompressedBytes = await writeCpio(runner, staging, cpio, o);
    o.onProgress?.({ step: "archive", uncompressedBytes });
    const initrd = path.join(o.outDir, "initrd.img");
    await must(
      runner.run(
        "zstd",
        ["-q", "-f", "-T0", `-${o.compressionLevel ?? 10}`, "--rm", cpio, "-o", initrd],
        o.signal ? { signal: o.signal } : {},
      ),
    );
    const initrdBytes = (await io(stat(initrd), initrd, "stat")).size;
    o.onProgress?.({ step: "compress", initrdBytes });
    const kernelOut = path.join(o.outDir, "vmlinuz");
    await io(copyFile(inputs.kernel, kernelOut), inputs.kernel, "copy");
    const kernelBytes = (await io(stat(kernelOut), kernelOut, "stat")).size;
    return {
      kernel: kernelOut,
      initrd,
      kernelVersion: inputs.version,
      sizeBytes: kernelBytes + initrdBytes,
      initrdBytes,
      uncompressedBytes,
      modules,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(cpio, { force: true });
  }
}

/** Check every input (keys, CLI bundle, kernel and its modules, node, busybox) before anything is built. */
async function resolveInputs(o: BuildRecoveryEnvironmentOptions): Promise<Inputs> {
  for (const [i, pem] of (o.trustedKeys ?? []).entries()) checkTrustedKey(pem, i);
  if (!(await exists(o.cliBundle)))
    throw new Failure(
      inputMissing(
        "cli-bundle",
        o.cliBundle,
        "build it with `pnpm --filter lifeboat build` (dist/lifeboat-standalone.js), or give it (--cli-bundle)",
      ),
    );
  const systemRoot = o.systemRoot ?? "/";
  const { kernel, version } = await findKernel(o.kernel, o.boot ?? "/boot", systemRoot);
  const modulesDir = await modulesDirOf(systemRoot, version);
  if (modulesDir === undefined)
    throw new Failure(
      inputMissing(
        "modules",
        path.join(systemRoot, "lib/modules", version),
        "install the kernel's modules in that system, or give the root holding them (--recovery-modules-root)",
      ),
    );
  const node = await io(
    realpath(o.node ?? process.execPath),
    o.node ?? process.execPath,
    "find node at",
  );
  const busybox = o.busybox ?? "/bin/busybox";
  if (!(await exists(busybox)))
    throw new Failure(inputMissing("busybox", busybox, "apt-get install -y busybox-static"));
  const zstdAddon = o.zstdAddon === false ? undefined : await findZstdAddon(o);
  return { kernel, version, systemRoot, modulesDir, node, busybox, zstdAddon };
}

const ZSTD = "@mongodb-js/zstd";
/** The addon's platform package for the glibc Node the environment runs. */
const ZSTD_PLATFORM = `${ZSTD}-${process.platform}-${process.arch}-gnu`;

/** The zstd addon's folders: `o.zstdAddon`, else what Node resolves from the CLI bundle's real folder. */
async function findZstdAddon(
  o: BuildRecoveryEnvironmentOptions,
): Promise<{ main: string; platform: string }> {
  const given = typeof o.zstdAddon === "string";
  const hint = given
    ? "give the folder of the @mongodb-js/zstd package (its index.js and package.json)"
    : `install the lifeboat package's dependencies beside the bundle (\`npm install ${ZSTD}@1.2.2\` in its folder), or give the folder of ${ZSTD} (zstdAddon, --zstd-addon); zstdAddon: false builds without it (\`lifeboat update\` cannot run there then)`;
  const lookedFor = given ? (o.zstdAddon as string) : `${ZSTD} beside ${o.cliBundle}`;
  try {
    const main = given
      ? await realpath(o.zstdAddon as string)
      : await packageUp(path.dirname(await realpath(o.cliBundle)), ZSTD);
    await access(path.join(main, "index.js"), constants.R_OK);
    return { main, platform: await packageUp(main, ZSTD_PLATFORM) };
  } catch {
    throw new Failure(inputMissing("zstd-addon", lookedFor, hint));
  }
}

/**
 * The real folder of package `name` in the first `node_modules` from `dir`
 * up, as Node looks for it from a file in `dir` (NODE_PATH aside: the
 * environment has none).
 */
async function packageUp(dir: string, name: string): Promise<string> {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, "node_modules", name);
    if (await exists(path.join(candidate, "package.json"))) return realpath(candidate);
    if (path.dirname(d) === d) throw new Error(`${name} not found from ${dir}`);
  }
}

/**
 * The zstd addon at `/lifeboat/node_modules/@mongodb-js/`, where the bundle at
 * `/lifeboat/cli.js` loads it: its package's files, then its platform
 * package's, the `.node` file with the libraries it links that the
 * environment lacks.
 */
async function stageZstdAddon(
  runner: CommandRunner,
  staging: string,
  addon: { main: string; platform: string },
  o: BuildRecoveryEnvironmentOptions,
): Promise<void> {
  for (const [from, name] of [
    [addon.main, ZSTD],
    [addon.platform, ZSTD_PLATFORM],
  ] as const) {
    const to = `/lifeboat/node_modules/${name}`;
    for (const e of await io(readdir(from, { withFileTypes: true }), from, "list")) {
      if (!e.isFile()) continue;
      const file = path.join(from, e.name);
      if (e.name.endsWith(".node"))
        await must(
          installProgram(runner, {
            program: file,
            sysroot: staging,
            as: `${to}/${e.name}`,
            mode: 0o644,
            ...(o.signal ? { signal: o.signal } : {}),
          }),
        );
      else await put(staging, file, `${to}/${e.name}`, 0o644);
    }
  }
}

/** Copy `from` (its real file) to `to` in the staging tree, unless something is there already. */
async function put(staging: string, from: string, to: string, mode?: number): Promise<void> {
  const dest = path.join(staging, to);
  await io(mkdir(path.dirname(dest), { recursive: true }), dest, "create the folder of");
  if (await exists(dest)) return;
  await io(copyFile(await realpath(from), dest), from, "copy");
  if (mode !== undefined) await io(chmod(dest, mode), dest, "chmod");
}

/** The modules and their dependencies, decompressed, and `lifeboat/modules.load`; returns them in load order. */
async function stageModules(
  runner: CommandRunner,
  staging: string,
  inputs: Inputs,
  o: BuildRecoveryEnvironmentOptions,
): Promise<string[]> {
  const signal = o.signal ? { signal: o.signal } : {};
  const moduleFiles = await must(
    moduleLoadOrder(runner, inputs.version, o.modules ?? DEFAULT_MODULES, {
      systemRoot: inputs.systemRoot,
      ...signal,
    }),
  );
  const base = `${await io(realpath(inputs.modulesDir), inputs.modulesDir, "resolve")}/`;
  const inImage = `/lib/modules/${inputs.version}/`;
  const relative: string[] = [];
  for (const f of moduleFiles) {
    const real = await io(realpath(f), f, "resolve");
    let rel = real.startsWith(base) ? real.slice(base.length) : path.basename(f);
    if (/\.ko\.(xz|zst)$/.test(rel)) {
      const decompressed = await must(
        runner.runBytes(rel.endsWith("xz") ? "xz" : "zstd", ["-dc", f], signal),
      );
      rel = rel.replace(/\.(xz|zst)$/, "");
      const dest = path.join(staging, inImage, rel);
      await io(mkdir(path.dirname(dest), { recursive: true }), dest, "create the folder of");
      await io(writeFile(dest, decompressed.stdout), dest, "write");
    } else {
      await put(staging, f, path.join(inImage, rel));
    }
    relative.push(rel);
  }
  await io(
    writeFile(path.join(staging, "lifeboat/modules.load"), `${relative.join("\n")}\n`),
    "modules.load",
    "write",
  );
  return relative;
}

/** node (as /usr/bin/node) and the tools, each with its libraries; returns how many. */
async function stagePrograms(
  runner: CommandRunner,
  staging: string,
  node: string,
  o: BuildRecoveryEnvironmentOptions,
): Promise<number> {
  const programs: string[] = [node];
  for (const tool of o.tools ?? DEFAULT_TOOLS) {
    const found = await which(tool);
    if (found === undefined) throw new Failure(inputMissing("tool", tool, installHint(tool)));
    programs.push(found);
  }
  for (const program of programs)
    await must(
      installProgram(runner, {
        program,
        sysroot: staging,
        ...(program === node ? { as: "/usr/bin/node" } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      }),
    );
  return programs.length;
}

/** busybox, and a link to it for each of its applets that no real program took. */
async function stageBusybox(
  runner: CommandRunner,
  staging: string,
  busybox: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  await put(staging, busybox, "/bin/busybox", 0o755);
  const applets = (
    await must(runner.run(busybox, ["--list-full"], signal ? { signal } : {}))
  ).stdout
    .split("\n")
    .filter(Boolean);
  for (const applet of applets) {
    const dest = path.join(staging, applet);
    if (await exists(dest)) continue;
    await io(mkdir(path.dirname(dest), { recursive: true }), dest, "create the folder of");
    await io(symlink("/bin/busybox", dest), dest, "link");
  }
}

/**
 * The staging tree as a newc cpio (owned by root, one time stamp, renumbered
 * inodes: equal inputs, equal bytes); returns its size.
 */
async function writeCpio(
  runner: CommandRunner,
  staging: string,
  cpio: string,
  o: BuildRecoveryEnvironmentOptions,
): Promise<number> {
  const entries = await listTree(staging);
  const stamp = o.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  for (const e of entries) await io(lutimes(path.join(staging, e), stamp, stamp), e, "stamp");
  await must(
    runner.run(
      "cpio",
      ["-o", "-H", "newc", "--null", "-R", "0:0", "--reproducible", "--quiet", "-O", cpio],
      {
        cwd: staging,
        stdin: `${entries.join("\0")}\0`,
        ...(o.signal ? { signal: o.signal } : {}),
      },
    ),
  );
  return (await io(stat(cpio), cpio, "stat")).size;
}

/** Every path under `root`, relative and `.`-prefixed, parents before children, sorted. */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const entries = (await readdir(path.join(root, rel), { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const e of entries) {
      const child = rel === "" ? e.name : `${rel}/${e.name}`;
      out.push(child);
      if (e.isDirectory()) await walk(child);
    }
  };
  await walk("");
  return out;
}
