import { execFileSync } from "node:child_process";
import { installHint } from "@lifeboat/core";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, succeed } from "../context.js";
import { ExitCode } from "../exit-codes.js";
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

interface ToolStatus {
  readonly tool: string;
  readonly found: boolean;
  readonly installHint: string | null;
}

async function doctor(ctx: CliContext): Promise<0 | 1> {
  const tools: ToolStatus[] = TOOLS.map((tool) => {
    let found = true;
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", tool], { stdio: "ignore" });
    } catch {
      found = false;
    }
    return { tool, found, installHint: found ? null : (installHint(tool) ?? null) };
  });
  const data = { root: process.getuid?.() === 0, node: process.version, tools };
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
    ].join("\n"),
  );
  return tools.every((t) => t.found) ? ExitCode.Ok : ExitCode.Failed;
}

/** `lifeboat doctor`: are the programs Lifeboat runs installed? */
export function registerDoctor(program: Command, wrap: Wrap): void {
  program
    .command("doctor")
    .description("check that the programs Lifeboat uses are installed")
    .action(wrap(doctor));
}
