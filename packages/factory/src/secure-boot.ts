import { access } from "node:fs/promises";
import path from "node:path";
import {
  type CommandError,
  type CommandRunner,
  type ErrorBase,
  type InvalidArgumentError,
  lifeboatError,
  type ParseFailedError,
} from "@lifeboat/core";
import { err, errAsync, ok, okAsync, type Result, ResultAsync } from "neverthrow";
import { z } from "zod";
import { grubBuiltInModules, insmodModules } from "./_internal/grub-modules.js";
import { grubTrustedByShim } from "./_internal/shim-vendor-cert.js";

/** One Authenticode signature of a PE image, as `sbverify --list` reports it. */
export interface PeSignature {
  /** Distinguished names of the signature's issuers, e.g. `/CN=Debian Secure Boot CA`. */
  readonly issuers: readonly string[];
  /** The certificates carried in the signature. */
  readonly certificates: readonly { readonly subject: string; readonly issuer: string }[];
}

const signatureSchema = z.object({
  issuers: z.array(z.string().min(1)),
  certificates: z.array(z.object({ subject: z.string().min(1), issuer: z.string().min(1) })),
});
const signaturesSchema = z.array(signatureSchema);

/**
 * Parse the output of `sbverify --list <image>` into its signatures. Pure. An
 * image without a signature table gives `[]` (sbverify prints nothing on
 * standard output then).
 *
 * @example
 * ```ts
 * import { parseSbverifyList } from "@lifeboat/factory";
 * const r = parseSbverifyList(
 *   "signature 1\nimage signature issuers:\n - /CN=Debian Secure Boot CA\nimage signature certificates:\n",
 * );
 * if (r.isOk()) console.log(r.value[0]?.issuers); // ["/CN=Debian Secure Boot CA"]
 * ```
 */
export function parseSbverifyList(stdout: string): Result<PeSignature[], ParseFailedError> {
  const raw: { issuers: string[]; certificates: { subject?: string; issuer?: string }[] }[] = [];
  let section: "issuers" | "certificates" | undefined;
  const issues: string[] = [];
  for (const [n, line] of stdout.split("\n").entries()) {
    if (line.trim() === "") continue;
    const current = raw[raw.length - 1];
    if (/^signature \d+$/.test(line)) {
      raw.push({ issuers: [], certificates: [] });
      section = undefined;
    } else if (line === "image signature issuers:") section = "issuers";
    else if (line === "image signature certificates:") section = "certificates";
    else if (current && section === "issuers" && line.startsWith(" - "))
      current.issuers.push(line.slice(3).trim());
    else if (current && section === "certificates" && line.startsWith(" - subject: "))
      current.certificates.push({ subject: line.slice(" - subject: ".length).trim() });
    else if (current && section === "certificates" && /^ {3}issuer: /.test(line)) {
      const last = current.certificates[current.certificates.length - 1];
      if (last) last.issuer = line.replace(/^ {3}issuer: +/, "").trim();
      else issues.push(`line ${n + 1}: issuer without subject`);
    } else issues.push(`line ${n + 1}: unexpected ${JSON.stringify(line)}`);
  }
  const parsed = signaturesSchema.safeParse(raw);
  if (!parsed.success)
    issues.push(...parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  if (issues.length > 0 || !parsed.success)
    return err({
      code: "PARSE_FAILED",
      message: "sbverify --list printed something Lifeboat does not understand",
      source: "sbverify --list",
      issues,
    });
  return ok(parsed.data);
}

/** The Microsoft certificate authorities that sign third-party UEFI binaries such as shim. */
const MICROSOFT_UEFI_CA = [
  /CN=Microsoft Corporation UEFI CA 2011$/,
  /CN=Microsoft UEFI CA 2023$/,
] as const;

/** `BOOTX64.EFI` is not on the ESP: the firmware has nothing to start on the removable-media path. */
export interface SecureBootShimMissing extends ErrorBase<"SECURE_BOOT_SHIM_MISSING"> {
  readonly path: string;
}
/** `BOOTX64.EFI` is not signed by Microsoft's third-party UEFI CA, so firmware with the Microsoft keys refuses it ("Access Denied"). */
export interface SecureBootShimNotMicrosoftSigned
  extends ErrorBase<"SECURE_BOOT_SHIM_NOT_MICROSOFT_SIGNED"> {
  readonly path: string;
  /** The issuers it is signed by (empty: not signed at all). */
  readonly issuers: readonly string[];
}
/** There is no `grubx64.efi` beside the shim: shim has nothing to start. */
export interface SecureBootGrubMissing extends ErrorBase<"SECURE_BOOT_GRUB_MISSING"> {
  readonly path: string;
}
/** The GRUB beside the shim carries no signature (self-built, or stripped): shim refuses it ("Security Violation"). */
export interface SecureBootGrubUnsigned extends ErrorBase<"SECURE_BOOT_GRUB_UNSIGNED"> {
  readonly path: string;
}
/**
 * The GRUB beside the shim is signed, but its signature does not verify against the
 * certificate built into this shim: shim refuses it (unless its signer is in the firmware's
 * `db` or enrolled as a MOK).
 */
export interface SecureBootGrubNotTrusted extends ErrorBase<"SECURE_BOOT_GRUB_NOT_TRUSTED"> {
  readonly path: string;
  /** The subject of the shim's built-in certificate, e.g. `CN = Debian Secure Boot CA`. */
  readonly shimCertificate: string;
}
/**
 * A GRUB configuration the paths use loads a module (`insmod`) that is not built into the
 * signed GRUB: a locked-down GRUB refuses it ("prohibited by secure boot policy") and goes on
 * (`$?` stays 0), so only a command of that module fails, if one is used. A warning
 * ({@link SecureBootReport.warnings}), not a refusal: `grub-mkconfig` writes `insmod` lines
 * for modules most machines never call (the video drivers of `load_video`).
 */
export interface SecureBootGrubModuleMissing extends ErrorBase<"SECURE_BOOT_GRUB_MODULE_MISSING"> {
  readonly path: string;
  readonly module: string;
  /** The configuration that loads it (its name as given in `grubConfigs`). */
  readonly config: string;
}
/** A kernel an entry boots is not there. */
export interface SecureBootKernelMissing extends ErrorBase<"SECURE_BOOT_KERNEL_MISSING"> {
  readonly path: string;
  readonly role: string;
}
/** A kernel an entry boots carries no signature: the locked-down GRUB refuses it ("bad shim signature"). */
export interface SecureBootKernelUnsigned extends ErrorBase<"SECURE_BOOT_KERNEL_UNSIGNED"> {
  readonly path: string;
  readonly role: string;
}

/** A reason a boot path cannot boot with Secure Boot enforced. */
export type SecureBootProblem =
  | SecureBootShimMissing
  | SecureBootShimNotMicrosoftSigned
  | SecureBootGrubMissing
  | SecureBootGrubUnsigned
  | SecureBootGrubNotTrusted
  | SecureBootGrubModuleMissing
  | SecureBootKernelMissing
  | SecureBootKernelUnsigned;

/** What was found about one EFI binary or kernel. */
export interface SignedFile {
  readonly path: string;
  readonly present: boolean;
  /** Its signatures (empty when absent or unsigned). */
  readonly signatures: readonly PeSignature[];
}

/** A kernel an entry boots, and which entry. */
export interface SecureBootKernel {
  /** A name for the boot path, e.g. `"system"` or `"recovery"`. */
  readonly role: string;
  /** The kernel file as the host sees it. */
  readonly path: string;
}

/** Options of {@link checkSecureBoot}. */
export interface CheckSecureBootOptions {
  /** Runs `sbverify`. */
  readonly runner: CommandRunner;
  /** The ESP's root: a mounted ESP, or a directory holding a copy of its files. */
  readonly esp: string;
  /** The loader the firmware starts, relative to the ESP (default `EFI/BOOT/BOOTX64.EFI`). */
  readonly loader?: string;
  /** A shim not on the ESP yet (e.g. the one a recovery stick will carry); replaces `esp` + `loader`. */
  readonly shim?: string;
  /** A GRUB not on the ESP yet; replaces the `grubx64.efi` beside the loader. */
  readonly grub?: string;
  /** The kernels the boot paths load (the system's, the recovery environment's). */
  readonly kernels: readonly SecureBootKernel[];
  /**
   * GRUB configurations the paths run (e.g. `/boot/grub2/grub.cfg`, a stick's `grub.cfg`):
   * each `insmod` must name a module built into the signed GRUB (read from its `mods`
   * section with objcopy; not checked when that cannot be read).
   */
  readonly grubConfigs?: readonly { readonly name: string; readonly text: string }[];
  readonly signal?: AbortSignal;
}

/** One boot path (firmware → shim → GRUB → kernel) and why it cannot boot, if it cannot. */
export interface SecureBootPath {
  readonly role: string;
  readonly kernel: SignedFile;
  /** True when nothing stops this path under Secure Boot. */
  readonly bootable: boolean;
  readonly problems: readonly SecureBootProblem[];
}

/** The answer of {@link checkSecureBoot}. */
export interface SecureBootReport {
  readonly esp: string;
  readonly shim: SignedFile;
  readonly grub: SignedFile;
  /**
   * The certificate built into the shim and whether GRUB's signature verifies against it
   * (objcopy, openssl, `sbverify --cert`); `null` when that could not be told (a tool missing,
   * no single vendor certificate in the shim, GRUB missing or unsigned).
   */
  readonly shimTrust: { readonly shimCertificate: string; readonly trusted: boolean } | null;
  readonly paths: readonly SecureBootPath[];
  /** True when every path can boot. */
  readonly bootable: boolean;
  /**
   * What may still fail under Secure Boot without stopping the boot: `insmod` of modules the
   * signed GRUB lacks (`SECURE_BOOT_GRUB_MODULE_MISSING`), each named with its configuration.
   */
  readonly warnings: readonly SecureBootProblem[];
}

/** Errors of {@link checkSecureBoot} (problems it finds are in the report, not errors). */
export type SecureBootCheckError = CommandError | ParseFailedError | InvalidArgumentError;

function exists(file: string): ResultAsync<boolean, never> {
  return ResultAsync.fromSafePromise(
    access(file).then(
      () => true,
      () => false,
    ),
  );
}

function inspect(
  runner: CommandRunner,
  file: string,
  signal: AbortSignal | undefined,
): ResultAsync<SignedFile, SecureBootCheckError> {
  return exists(file).andThen((present) =>
    present
      ? runner
          .run("sbverify", ["--list", file], signal ? { signal } : {})
          .andThen((r) => parseSbverifyList(r.stdout))
          // Not a PE image at all (sbverify: "Can't open image"): nothing can have signed it.
          .orElse((e) =>
            e.code === "COMMAND_FAILED" && /Can't open image/.test(e.stderrTail)
              ? ok<PeSignature[], SecureBootCheckError>([])
              : err<PeSignature[], SecureBootCheckError>(e),
          )
          .map((signatures): SignedFile => ({ path: file, present, signatures }))
      : okAsync<SignedFile, SecureBootCheckError>({ path: file, present, signatures: [] }),
  );
}

/**
 * Say, before anything is written, whether each boot path of a machine can
 * boot with UEFI Secure Boot enforced: the loader on the ESP
 * (`EFI/BOOT/BOOTX64.EFI`) must be a shim signed by Microsoft's third-party
 * UEFI CA, the `grubx64.efi` beside it must be signed (by the distribution,
 * whose key the shim carries), and every kernel an entry boots must be
 * signed. Signatures are read with `sbverify --list` (package `sbsigntool`);
 * GRUB's signature is also verified against the certificate built into the
 * shim (its `.vendor_cert`, with objcopy and openssl), so a GRUB of another
 * distribution or signed by another key is named; that match is skipped
 * (`shimTrust: null`) when a tool is missing.
 *
 * @example
 * ```ts
 * import { createExecaRunner } from "@lifeboat/core";
 * import { checkSecureBoot } from "@lifeboat/factory";
 * const r = await checkSecureBoot({
 *   runner: createExecaRunner(),
 *   esp: "/boot/efi",
 *   kernels: [
 *     { role: "system", path: "/boot/vmlinuz-6.1.0-57-amd64" },
 *     { role: "recovery", path: "/mnt/recovery/environment/vmlinuz" },
 *   ],
 * });
 * if (r.isOk())
 *   for (const p of r.value.paths)
 *     console.log(p.role, p.bootable ? "ok" : p.problems.map((x) => x.code).join(", "));
 * ```
 */
export function checkSecureBoot(
  options: CheckSecureBootOptions,
): ResultAsync<SecureBootReport, SecureBootCheckError> {
  const { runner, esp, signal } = options;
  const loader = options.loader ?? "EFI/BOOT/BOOTX64.EFI";
  if (path.isAbsolute(loader) || loader.split(/[\\/]/).includes(".."))
    return errAsync(
      lifeboatError("INVALID_ARGUMENT", `the loader ${loader} must be a path inside the ESP`, {
        argument: "loader",
      }),
    );
  const shimPath = options.shim ?? path.join(esp, loader);
  const grubPath = options.grub ?? path.join(path.dirname(path.join(esp, loader)), "grubx64.efi");
  return inspect(runner, shimPath, signal).andThen((shim) =>
    inspect(runner, grubPath, signal).andThen((grub) =>
      ResultAsync.combine([
        ResultAsync.fromSafePromise(
          shim.present && grub.signatures.length > 0
            ? grubTrustedByShim(runner, shimPath, grubPath, signal).catch(() => undefined)
            : Promise.resolve(undefined),
        ),
        ResultAsync.fromSafePromise(
          grub.present && (options.grubConfigs ?? []).length > 0
            ? grubBuiltInModules(runner, grubPath, signal)
            : Promise.resolve(undefined),
        ),
        ResultAsync.combine(options.kernels.map((k) => inspect(runner, k.path, signal))),
      ] as const).map(([trust, modules, kernels]): SecureBootReport => {
        const shimTrust = trust ?? null;
        const chain = chainProblems(shim, grub, shimTrust);
        const warnings = moduleProblems(grubPath, modules, options.grubConfigs ?? []);
        const paths = options.kernels.map((k, i): SecureBootPath => {
          const kernel = kernels[i] as SignedFile;
          const problems = [...chain, ...kernelProblems(kernel, k.role)];
          return { role: k.role, kernel, bootable: problems.length === 0, problems };
        });
        const bootable = chain.length === 0 && paths.every((p) => p.bootable);
        return { esp, shim, grub, shimTrust, paths, bootable, warnings };
      }),
    ),
  );
}

function chainProblems(
  shim: SignedFile,
  grub: SignedFile,
  trust: SecureBootReport["shimTrust"],
): SecureBootProblem[] {
  const problems: SecureBootProblem[] = [];
  if (!shim.present)
    problems.push({
      code: "SECURE_BOOT_SHIM_MISSING",
      message: `${shim.path} is not there: the firmware has no loader to start`,
      path: shim.path,
    });
  else {
    const issuers = shim.signatures.flatMap((s) => s.issuers);
    if (!issuers.some((i) => MICROSOFT_UEFI_CA.some((ca) => ca.test(i))))
      problems.push({
        code: "SECURE_BOOT_SHIM_NOT_MICROSOFT_SIGNED",
        message:
          issuers.length === 0
            ? `${shim.path} is not signed: the firmware refuses it (install the distribution's signed shim)`
            : `${shim.path} is signed by ${issuers.join(", ")}, not by Microsoft's UEFI CA: the firmware refuses it`,
        path: shim.path,
        issuers,
      });
  }
  if (!grub.present)
    problems.push({
      code: "SECURE_BOOT_GRUB_MISSING",
      message: `${grub.path} is not there: shim has no GRUB to start`,
      path: grub.path,
    });
  else if (grub.signatures.length === 0)
    problems.push({
      code: "SECURE_BOOT_GRUB_UNSIGNED",
      message: `${grub.path} is not signed: shim refuses it (Security Violation); use the distribution's signed GRUB`,
      path: grub.path,
    });
  else if (trust !== null && !trust.trusted)
    problems.push({
      code: "SECURE_BOOT_GRUB_NOT_TRUSTED",
      message: `${grub.path} is signed by ${grub.signatures.flatMap((s) => s.issuers).join(", ")}, not by the certificate in the shim (${trust.shimCertificate}): shim refuses it unless that signer is in the firmware's db or enrolled as a MOK; use the GRUB of the shim's distribution`,
      path: grub.path,
      shimCertificate: trust.shimCertificate,
    });
  return problems;
}

function moduleProblems(
  grubPath: string,
  builtIn: readonly string[] | undefined,
  configs: readonly { readonly name: string; readonly text: string }[],
): SecureBootProblem[] {
  if (builtIn === undefined) return [];
  const has = new Set(builtIn);
  return configs.flatMap((c) =>
    insmodModules(c.text)
      .filter((m) => !has.has(m))
      .map(
        (module): SecureBootProblem => ({
          code: "SECURE_BOOT_GRUB_MODULE_MISSING",
          message: `${c.name} loads the GRUB module ${module}, which is not built into the signed ${grubPath}: under Secure Boot GRUB refuses it (prohibited by secure boot policy) and goes on, so only a command of that module would fail`,
          path: grubPath,
          module,
          config: c.name,
        }),
      ),
  );
}

function kernelProblems(kernel: SignedFile, role: string): SecureBootProblem[] {
  if (!kernel.present)
    return [
      {
        code: "SECURE_BOOT_KERNEL_MISSING",
        message: `the ${role} kernel ${kernel.path} is not there`,
        path: kernel.path,
        role,
      },
    ];
  if (kernel.signatures.length === 0)
    return [
      {
        code: "SECURE_BOOT_KERNEL_UNSIGNED",
        message: `the ${role} kernel ${kernel.path} is not signed: GRUB refuses it under Secure Boot (bad shim signature)`,
        path: kernel.path,
        role,
      },
    ];
  return [];
}
