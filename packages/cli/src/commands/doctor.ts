import { execFileSync } from "node:child_process";
import { installHint, lifeboatError } from "@lifeboat/core";
import { checkSecureBoot, type SecureBootKernel, type SecureBootReport } from "@lifeboat/factory";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, fail, succeed } from "../context.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { table } from "../ui/format.js";
import type { Wrap } from "./index.js";

const TOOLS = [
  "btrfs",
  "sgdisk",
  "sfdisk",
  "lsblk",
  "findmnt",
  "losetup",
  "mksquashfs",
  "mkfs.erofs",
  "grub-script-check",
  "veritysetup",
  "cryptsetup",
  "zstd",
];

interface DoctorOpts {
  readonly esp?: string;
  readonly kernel?: readonly string[];
}

/** `role=path` (or a bare path, role `system`) of `--kernel`. */
function parseKernel(value: string): SecureBootKernel {
  const eq = value.indexOf("=");
  return eq > 0
    ? { role: value.slice(0, eq), path: value.slice(eq + 1) }
    : { role: "system", path: value };
}

function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

function secureBootText(report: SecureBootReport): string {
  const signer = (f: SecureBootReport["shim"]) =>
    !f.present
      ? pc.red("missing")
      : f.signatures.length === 0
        ? pc.red("not signed")
        : `signed by ${f.signatures.flatMap((s) => s.issuers).join(", ")}`;
  const lines = [
    `Secure Boot (ESP ${report.esp}): ${report.bootable ? pc.green("every path can boot") : pc.red("some paths cannot boot")}`,
    `  shim ${report.shim.path}: ${signer(report.shim)}`,
    `  GRUB ${report.grub.path}: ${signer(report.grub)}`,
    ...(report.shimTrust
      ? [
          `  GRUB against the shim's certificate (${report.shimTrust.shimCertificate}): ${report.shimTrust.trusted ? pc.green("verifies") : pc.red("does not verify")}`,
        ]
      : []),
  ];
  for (const p of report.paths) {
    lines.push(
      `  ${p.role} (kernel ${p.kernel.path}, ${signer(p.kernel)}): ${p.bootable ? pc.green("can boot") : pc.red("cannot boot")}`,
    );
    for (const x of p.problems) lines.push(`    ${pc.red(x.code)} ${x.message}`);
  }
  return lines.join("\n");
}

interface ToolStatus {
  readonly tool: string;
  readonly found: boolean;
  readonly installHint: string | null;
}

async function doctor(ctx: CliContext, opts: DoctorOpts): Promise<ExitCodeValue> {
  const kernels = (opts.kernel ?? []).map(parseKernel);
  if (opts.esp === undefined && kernels.length > 0)
    return fail(
      ctx,
      "doctor",
      lifeboatError("CLI_USAGE", "--kernel needs --esp (the ESP the kernels are booted from)", {}),
    );
  const tools: ToolStatus[] = TOOLS.map((tool) => {
    let found = true;
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", tool], { stdio: "ignore" });
    } catch {
      found = false;
    }
    return { tool, found, installHint: found ? null : (installHint(tool) ?? null) };
  });
  let secureBoot: SecureBootReport | null = null;
  if (opts.esp !== undefined) {
    const r = await checkSecureBoot({ runner: ctx.runner, esp: opts.esp, kernels });
    if (r.isErr()) return fail(ctx, "doctor", r.error);
    secureBoot = r.value;
  }
  const data = { root: process.getuid?.() === 0, node: process.version, tools, secureBoot };
  succeed(ctx, "doctor", data, (d) =>
    [
      `root: ${d.root ? pc.green("yes") : pc.yellow("no (most operations need root)")}   node: ${d.node}`,
      table(
        ["tool", "status"],
        d.tools.map((t) => [
          t.tool,
          t.found ? pc.green("found") : pc.red(`missing — ${t.installHint ?? "install it"}`),
        ]),
      ),
      ...(d.secureBoot ? [secureBootText(d.secureBoot)] : []),
    ].join("\n"),
  );
  return tools.every((t) => t.found) && (secureBoot?.bootable ?? true)
    ? ExitCode.Ok
    : ExitCode.Failed;
}

/** `lifeboat doctor`: are the programs Lifeboat runs installed; with `--esp`, can each boot path boot under Secure Boot? */
export function registerDoctor(program: Command, wrap: Wrap): void {
  program
    .command("doctor")
    .description(
      "check that the programs Lifeboat uses are installed; with --esp, whether each boot path can boot with Secure Boot on",
    )
    .option(
      "--esp <dir>",
      "the ESP (mounted, or a copy of its files): is BOOTX64.EFI a Microsoft-signed shim with a signed grubx64.efi beside it?",
    )
    .option(
      "--kernel <role=path>",
      "a kernel a boot path loads, e.g. system=/boot/vmlinuz-6.1.0-57-amd64 or recovery=/mnt/recovery/environment/vmlinuz (repeatable): is it signed?",
      collect,
    )
    .action(wrap(doctor));
}
