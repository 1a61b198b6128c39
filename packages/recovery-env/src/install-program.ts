/** Copy a program of this machine into another root tree together with the shared libraries it loads. */
import { chmod, copyFile, mkdir, readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { type CommandRunner, type CoreError, ioError, joinInside } from "@lifeboat/core";
import { err, ok, type Result, ResultAsync } from "neverthrow";
import { sharedLibraries } from "./_internal/closure.js";

/** Options for {@link installProgram}. */
export interface InstallProgramOptions {
  /** The program on this machine (symlinks are followed: the real file is copied). */
  readonly program: string;
  /** The root of the tree it goes into: an initramfs being staged, a mounted system root. */
  readonly sysroot: string;
  /**
   * Its path as seen from inside `sysroot`, e.g. `/usr/lib/lifeboat/node`
   * (default: the program's own path). No `..` segment.
   */
  readonly as?: string;
  /** Mode of the copied program (default `0o755`). */
  readonly mode?: number;
  readonly signal?: AbortSignal;
}

/** What {@link installProgram} copied. */
export interface InstalledProgram {
  /** The program's path on this machine's file system, under `sysroot`. */
  readonly path: string;
  /**
   * The libraries (and the loader) it needs that `sysroot` lacked, now
   * copied to the same paths there; empty for a static binary or a root
   * that has them all.
   */
  readonly librariesAdded: readonly string[];
}

/**
 * Copy `program` into `sysroot` (overwriting what is at its target path),
 * then each shared library it loads (from `ldd`, the dynamic loader
 * included) that `sysroot` does not already have, at the same path as on
 * this machine. Libraries already in `sysroot` are kept as they are: a
 * system root's own libraries win. What a program loads at run time rather
 * than through `ldd` comes too where it is known: glibc's converter for code
 * page 850 (`gconv/IBM850.so` and the gconv module lists beside libc) for the
 * mtools programs (`mcopy`, `mdir`), which cannot open a FAT filesystem
 * without it ("Error converting to codepage 850"). Used for the recovery initramfs and to
 * preload the Lifeboat package (Node.js and its helpers) into a system root.
 *
 * @example
 * ```ts
 * const r = await installProgram(runner, {
 *   program: process.execPath,
 *   sysroot: "/mnt/top/root",
 *   as: "/usr/lib/lifeboat/node",
 * });
 * if (r.isOk()) console.log(r.value.path, r.value.librariesAdded);
 * ```
 */
export function installProgram(
  runner: CommandRunner,
  options: InstallProgramOptions,
): ResultAsync<InstalledProgram, CoreError> {
  return new ResultAsync(install(runner, options));
}

/** `file` (a path as seen from inside `root`) joined under `root`; refuses `..`. */
function inside(root: string, file: string): Result<string, CoreError> {
  return joinInside(root, file.replace(/^\/+/, ""));
}

async function copyReal(from: string, to: string, mode: number): Promise<Result<void, CoreError>> {
  let step = "find";
  let file = from;
  try {
    const real = await realpath(from);
    step = "create the folder of";
    file = to;
    await mkdir(path.dirname(to), { recursive: true });
    step = "copy";
    file = real;
    await copyFile(real, to);
    step = "chmod";
    file = to;
    await chmod(to, mode);
    return ok(undefined);
  } catch (e) {
    return err(ioError(e, file, step));
  }
}

async function install(
  runner: CommandRunner,
  o: InstallProgramOptions,
): Promise<Result<InstalledProgram, CoreError>> {
  const target = inside(o.sysroot, o.as ?? o.program);
  if (target.isErr()) return err(target.error);
  const copied = await copyReal(o.program, target.value, o.mode ?? 0o755);
  if (copied.isErr()) return err(copied.error);
  const libraries = await sharedLibraries(runner, o.program, o.signal);
  if (libraries.isErr()) return err(libraries.error);
  const added: string[] = [];
  // The libraries (executable), then what the program loads at run time (data).
  const wanted = [
    ...libraries.value.map((file) => ({ file, mode: 0o755 })),
    ...(await runtimeFiles(o.program, libraries.value)).map((file) => ({ file, mode: 0o644 })),
  ];
  for (const { file, mode } of wanted) {
    const dest = inside(o.sysroot, file);
    if (dest.isErr()) return err(dest.error);
    if (await exists(dest.value)) continue;
    const c = await copyReal(file, dest.value, mode);
    if (c.isErr()) return err(c.error);
    added.push(file);
  }
  return ok({ path: target.value, librariesAdded: added });
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/** Files under glibc's gconv folder that programs load at run time (not listed by `ldd`). */
const GCONV_FILES: Readonly<Record<string, readonly string[]>> = {
  // mtools sets its code page (850 by default) through iconv before it reads a FAT.
  mtools: ["IBM850.so", "gconv-modules", "gconv-modules.cache"],
};

/** The run-time files `program` needs beside its libraries, as paths on this machine. */
async function runtimeFiles(program: string, libraries: readonly string[]): Promise<string[]> {
  const real = await realpath(program).catch(() => program);
  const names = GCONV_FILES[path.basename(real)];
  const libc = libraries.find((l) => /\/libc\.so\.\d+$/.test(l));
  if (names === undefined || libc === undefined) return [];
  // glibc looks in its compiled-in folder (/usr/lib/<triplet>/gconv), which ldd's /lib path
  // reaches only through the merged-/usr link: take the real folder.
  const libDir = await realpath(path.dirname(libc)).catch(() => path.dirname(libc));
  const gconv = path.join(libDir, "gconv");
  const files = names.map((n) => path.join(gconv, n));
  // Debian and Fedora list most converters in gconv-modules.d/*.conf.
  const confDir = path.join(gconv, "gconv-modules.d");
  for (const n of await readdir(confDir).catch(() => [] as string[]))
    if (n.endsWith(".conf")) files.push(path.join(confDir, n));
  const present: string[] = [];
  for (const f of files) if (await exists(f)) present.push(f);
  return present;
}
