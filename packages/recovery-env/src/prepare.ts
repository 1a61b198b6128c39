import { chmod, copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildAgentHelper, buildExchangeHelper } from "@lifeboat/btrfs";
import { type CommandRunner, ioError } from "@lifeboat/core";
import { ResultAsync } from "neverthrow";
import {
  type BuildRecoveryEnvironmentOptions,
  buildRecoveryEnvironment,
  type RecoveryEnvProgress,
} from "./build.js";
import { inputMissing, type RecoveryEnvError } from "./errors.js";
import { RECOVERY_ENVIRONMENT_FILES, RECOVERY_ENVIRONMENT_RECORD } from "./layout.js";
import {
  type RecoveryEnvironmentRecord,
  renderRecord,
  sha256File,
  type VerifiedRecoveryEnvironment,
  verifyRecoveryEnvironment,
} from "./record.js";

/** Progress of {@link prepareRecoveryEnvironment}: the build's steps, then the helpers. */
export type PrepareRecoveryEnvProgress = RecoveryEnvProgress | { readonly step: "helpers" };

/** Options of {@link prepareRecoveryEnvironment}: those of the build, and the C compiler for the helpers. */
export interface PrepareRecoveryEnvironmentOptions
  extends Omit<BuildRecoveryEnvironmentOptions, "onProgress"> {
  /** The C compiler of the helpers (default `cc`); a helper already built from the same source is reused. */
  readonly compiler?: string;
  readonly onProgress?: (event: PrepareRecoveryEnvProgress) => void;
}

class Failure {
  constructor(readonly error: RecoveryEnvError) {}
}

async function must<T>(r: ResultAsync<T, RecoveryEnvError>): Promise<T> {
  const v = await r;
  if (v.isErr()) throw new Failure(v.error);
  return v.value;
}

async function prepare(
  runner: CommandRunner,
  o: PrepareRecoveryEnvironmentOptions,
): Promise<VerifiedRecoveryEnvironment> {
  const { onProgress, compiler, ...build } = o;
  const env = await must(
    buildRecoveryEnvironment(runner, { ...build, ...(onProgress ? { onProgress } : {}) }),
  );
  const compiled = (r: Awaited<ReturnType<typeof buildExchangeHelper>>) => {
    if (r.isOk()) return r.value.path;
    const e = r.error;
    if (e.code === "COMMAND_NOT_FOUND")
      throw new Failure(
        inputMissing(
          "compiler",
          compiler ?? "cc",
          "apt-get install -y gcc libc6-dev (dnf install -y gcc glibc-static): the static helpers lifeboat-exch and lifeboat-btrfs-agent are compiled from C",
        ),
      );
    throw new Failure(e);
  };
  const helperOptions = compiler === undefined ? {} : { compiler };
  const exch = compiled(await buildExchangeHelper(runner, helperOptions));
  const agent = compiled(await buildAgentHelper(runner, helperOptions));
  for (const [from, name] of [
    [exch, RECOVERY_ENVIRONMENT_FILES.exchangeHelper],
    [agent, RECOVERY_ENVIRONMENT_FILES.agentHelper],
  ] as const) {
    const to = path.join(o.outDir, name);
    try {
      await copyFile(from, to);
      await chmod(to, 0o755);
    } catch (e) {
      throw new Failure(ioError(e, to, "write"));
    }
  }
  onProgress?.({ step: "helpers" });
  const files: Record<string, { sha256: string; bytes: number }> = {};
  for (const name of Object.values(RECOVERY_ENVIRONMENT_FILES))
    files[name] = await sha256File(path.join(o.outDir, name));
  const record: RecoveryEnvironmentRecord = {
    version: 1,
    kernelVersion: env.kernelVersion,
    files,
  };
  const recordFile = path.join(o.outDir, RECOVERY_ENVIRONMENT_RECORD);
  try {
    await writeFile(recordFile, renderRecord(record));
  } catch (e) {
    throw new Failure(ioError(e, recordFile, "write"));
  }
  return must(verifyRecoveryEnvironment(o.outDir));
}

/**
 * Build a complete recovery environment into `outDir`, ready to install on
 * the recovery partition: the kernel and initramfs
 * ({@link buildRecoveryEnvironment}; by default the target system's newest
 * kernel whose modules it has, with `boot` and `systemRoot`), the static
 * helpers `lifeboat-exch` and `lifeboat-btrfs-agent` (compiled with `cc`;
 * the initramfs has no compiler), and `environment.json` recording each
 * file's SHA-256. Equal inputs give equal bytes, so the same environment has
 * the same digest. Writes nothing but `outDir`.
 *
 * @example
 * ```ts
 * import { createExecaRunner } from "@lifeboat/core";
 * import { prepareRecoveryEnvironment } from "@lifeboat/recovery-env";
 * const env = await prepareRecoveryEnvironment(createExecaRunner(), {
 *   cliBundle: "node_modules/lifeboat/dist/lifeboat-standalone.js",
 *   outDir: "/tmp/recovery-env",
 *   boot: "/mnt/target/boot",
 *   systemRoot: "/mnt/target",
 * });
 * if (env.isOk()) console.log(env.value.digest, env.value.record.kernelVersion);
 * ```
 */
export function prepareRecoveryEnvironment(
  runner: CommandRunner,
  options: PrepareRecoveryEnvironmentOptions,
): ResultAsync<VerifiedRecoveryEnvironment, RecoveryEnvError> {
  return ResultAsync.fromPromise(
    mkdir(options.outDir, { recursive: true }).then(() => prepare(runner, options)),
    (e): RecoveryEnvError => {
      if (e instanceof Failure) return e.error;
      return ioError(e, options.outDir, "prepare the recovery environment in");
    },
  );
}
