/** What a binary or a kernel module drags along: shared libraries (ldd) and module dependencies (modprobe). */
import path from "node:path";
import type { CommandRunner, CoreError } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { RecoveryEnvModuleNotFoundError } from "../errors.js";

/** Parse `ldd` output into the absolute paths of the libraries and the loader. */
export function parseLdd(stdout: string): string[] {
  const paths: string[] = [];
  for (const line of stdout.split("\n")) {
    const arrow = /=>\s+(\/\S+)\s+\(/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const p = arrow?.[1] ?? bare?.[1];
    if (p !== undefined && !paths.includes(p)) paths.push(p);
  }
  return paths;
}

/** The shared libraries `file` loads (empty for a static binary). */
export function sharedLibraries(
  runner: CommandRunner,
  file: string,
  signal?: AbortSignal,
): ResultAsync<string[], CoreError> {
  return runner
    .run("ldd", [file], { okExitCodes: [1], ...(signal ? { signal } : {}) })
    .map((r) => (r.exitCode === 0 ? parseLdd(r.stdout) : []));
}

/** Parse `modprobe --show-depends` output into module files in load order (built-ins dropped). */
export function parseShowDepends(stdout: string): string[] {
  const files: string[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^insmod\s+(\S+)/.exec(line.trim());
    if (m?.[1] !== undefined) files.push(m[1]);
  }
  return files;
}

/**
 * Module files (absolute paths) for `modules` and their dependencies, in an
 * order that loads each after what it needs, without duplicates.
 */
export function moduleLoadOrder(
  runner: CommandRunner,
  kernelVersion: string,
  modules: readonly string[],
  options: { readonly systemRoot?: string; readonly signal?: AbortSignal } = {},
): ResultAsync<string[], CoreError | RecoveryEnvModuleNotFoundError> {
  const signal = options.signal;
  const root = options.systemRoot && options.systemRoot !== "/" ? ["-d", options.systemRoot] : [];
  let chain: ResultAsync<string[], CoreError | RecoveryEnvModuleNotFoundError> = okAsync([]);
  for (const module of modules) {
    chain = chain.andThen((acc) =>
      runner
        .run(
          "modprobe",
          ["--show-depends", ...root, "-S", kernelVersion, module],
          signal ? { signal } : {},
        )
        .orElse((e) =>
          e.code === "COMMAND_FAILED" && /not found/i.test(e.stderrTail)
            ? errAsync<never, RecoveryEnvModuleNotFoundError>({
                code: "RECOVERY_ENV_MODULE_NOT_FOUND",
                message: `Kernel module ${module} is not available for kernel ${kernelVersion} (neither a module in ${path.join(options.systemRoot ?? "/", "lib/modules", kernelVersion)} nor built in): give a kernel that has it (--recovery-kernel, --recovery-modules-root). Nothing was changed.`,
                module,
                kernelVersion,
                cause: e,
              })
            : errAsync(e),
        )
        .map((r) => {
          for (const f of parseShowDepends(r.stdout)) if (!acc.includes(f)) acc.push(f);
          return acc;
        }),
    );
  }
  return chain;
}
