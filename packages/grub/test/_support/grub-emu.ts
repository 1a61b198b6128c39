/**
 * Run GRUB scripts in grub-emu (Debian's `grub-emu`) headless: the script
 * is the emulator's grub.cfg, read from a host directory (`-d`), it ends
 * with `halt`, and the console output is captured from stdout.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** Run `script` as grub-emu's grub.cfg; resolve with everything it printed. */
export async function runGrubEmu(
  script: string,
  timeoutMs = 60_000,
  options: { epilogue?: string } = {},
): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-grub-emu-"));
  try {
    // A wide terminal: GRUB wraps lines at the terminal width, which would insert "\n\r".
    const cfg = `terminfo -u -g 4000x100 console\n${script}${options.epilogue ?? "halt\n"}`;
    await writeFile(path.join(dir, "grub.cfg"), cfg);
    return await new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        "grub-emu",
        ["-d", dir],
        { encoding: "buffer", timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 256 << 20 },
        (error, stdout) => {
          if (error) reject(new Error(`grub-emu failed: ${error.message}`));
          else resolve(stdout);
        },
      );
      child.stdin?.end();
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What GRUB's console prints for `value` echoed at the start of a line:
 * "\n" comes out as "\n\r"; a TAB is expanded to spaces up to the next
 * tab stop, which depends on the width GRUB gives each character before
 * it, so a TAB matches 1 to 8 spaces. Everything else must match byte for byte.
 */
export function expectedEchoPattern(value: string): RegExp {
  const esc = (s: string) =>
    [...Buffer.from(s, "utf8")].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
  const body = value
    .split("\t")
    .map((piece) => esc(piece.replaceAll("\n", "\n\r")))
    .join(" {1,8}");
  return new RegExp(`^${body}$`);
}
