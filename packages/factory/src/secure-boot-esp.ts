import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CommandRunner, ErrorBase } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import {
  type CheckSecureBootOptions,
  checkSecureBoot,
  type SecureBootCheckError,
  type SecureBootKernel,
  type SecureBootProblem,
  type SecureBootReport,
} from "./secure-boot.js";

/** A pre-flight refusal: a boot path of the machine cannot boot with Secure Boot enforced. */
export interface SecureBootUnbootableError extends ErrorBase<"SECURE_BOOT_UNBOOTABLE"> {
  /** Every reason, per boot path (see {@link SecureBootReport}). */
  readonly problems: readonly SecureBootProblem[];
}

/** Options of {@link checkEspSecureBoot}. */
export interface CheckEspSecureBootOptions {
  /** Runs `mcopy` and `sbverify`. */
  readonly runner: CommandRunner;
  /** The ESP as a block device or FAT image (read with mtools, never mounted). */
  readonly device: string;
  /** The kernels the boot paths load (the system's, the recovery environment's). */
  readonly kernels: readonly SecureBootKernel[];
  /** GRUB configurations the paths run (see {@link CheckSecureBootOptions}). */
  readonly grubConfigs?: CheckSecureBootOptions["grubConfigs"];
  readonly signal?: AbortSignal;
}

const MTOOLS = { env: { MTOOLS_SKIP_CHECK: "1" } };

/**
 * {@link checkSecureBoot} on an ESP that is not mounted (a disk image's, or one the kernel
 * cannot mount): `EFI/BOOT/BOOTX64.EFI` and the `grubx64.efi` beside it are read with mtools
 * into a temporary folder and checked there. `null` when the ESP has no `EFI/BOOT/BOOTX64.EFI`
 * (or is not FAT): a machine that boots through its own firmware entry (`EFI/<vendor>/shimx64.efi`)
 * is not checked here. An ESP that cannot be read at all (mtools not installed:
 * `COMMAND_NOT_FOUND`; a device that cannot be opened: `COMMAND_FAILED`) is an error, never `null`.
 *
 * @example
 * ```ts
 * import { createExecaRunner } from "@lifeboat/core";
 * import { checkEspSecureBoot, secureBootRefusal } from "@lifeboat/factory";
 * const r = await checkEspSecureBoot({
 *   runner: createExecaRunner(),
 *   device: "/dev/loop0p1",
 *   kernels: [{ role: "system", path: "/mnt/boot/vmlinuz-6.1.0-57-amd64" }],
 * });
 * if (r.isOk() && r.value !== null) console.log(secureBootRefusal(r.value)?.message ?? "bootable");
 * ```
 */
export function checkEspSecureBoot(
  options: CheckEspSecureBootOptions,
): ResultAsync<SecureBootReport | null, SecureBootCheckError> {
  const { runner, device } = options;
  const run = { ...MTOOLS, ...(options.signal ? { signal: options.signal } : {}) };
  return ResultAsync.fromSafePromise(
    mkdtemp(path.join(tmpdir(), "lifeboat-esp-check-")).then(async (dir) => {
      await mkdir(path.join(dir, "EFI/BOOT"), { recursive: true });
      return dir;
    }),
  ).andThen((dir) => {
    // Copied when there (true), absent or not FAT (false); any other failure (mtools missing,
    // a device it cannot open) is an error: a check that cannot read the ESP must not pass as
    // "no loader".
    const copy = (name: string) =>
      runner
        .run(
          "mcopy",
          ["-n", "-i", device, `::/EFI/BOOT/${name}`, path.join(dir, "EFI/BOOT", name)],
          run,
        )
        .map(() => true)
        .orElse((e) =>
          e.code === "COMMAND_FAILED" && /File "[^"]*" not found|non DOS media/.test(e.stderrTail)
            ? okAsync<boolean, SecureBootCheckError>(false)
            : errAsync<boolean, SecureBootCheckError>(e),
        );
    const checked = copy("BOOTX64.EFI").andThen((hasLoader) =>
      hasLoader
        ? copy("grubx64.efi").andThen(() =>
            checkSecureBoot({
              runner,
              esp: dir,
              kernels: options.kernels,
              ...(options.grubConfigs ? { grubConfigs: options.grubConfigs } : {}),
              ...(options.signal ? { signal: options.signal } : {}),
            }).map((report) => relabel(report, dir, device)),
          )
        : okAsync<SecureBootReport | null, SecureBootCheckError>(null),
    );
    return checked
      .andThen((r) =>
        ResultAsync.fromSafePromise(rm(dir, { recursive: true, force: true })).map(() => r),
      )
      .orElse((e) =>
        ResultAsync.fromSafePromise(rm(dir, { recursive: true, force: true })).andThen(() =>
          errAsync<SecureBootReport | null, SecureBootCheckError>(e),
        ),
      );
  });
}

/** The report with the temporary folder's paths shown as `<device>:/EFI/...`. */
function relabel(report: SecureBootReport, dir: string, device: string): SecureBootReport {
  return JSON.parse(JSON.stringify(report).replaceAll(dir, `${device}:`)) as SecureBootReport;
}

/**
 * The refusal a pre-flight check gives for `report` (undefined: every path can boot).
 *
 * @example
 * ```ts
 * import { secureBootRefusal, type SecureBootReport } from "@lifeboat/factory";
 * declare const report: SecureBootReport;
 * const refused = secureBootRefusal(report);
 * if (refused) console.error(refused.code, refused.message);
 * ```
 */
export function secureBootRefusal(report: SecureBootReport): SecureBootUnbootableError | undefined {
  if (report.bootable) return undefined;
  const problems = [
    ...new Map(report.paths.flatMap((p) => p.problems).map((x) => [x.message, x])).values(),
  ];
  return {
    code: "SECURE_BOOT_UNBOOTABLE",
    message: `This machine cannot boot with Secure Boot on: ${problems.map((p) => p.message).join("; ")}. Fix it, or pass --secure-boot-off when the machine ships with Secure Boot off.`,
    problems,
  };
}
