import { execFile } from "node:child_process";

/** Run grub-script-check on a script given on stdin; resolve with exit code and stderr. */
export function grubScriptCheck(script: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile("grub-script-check", [], { timeout: 60_000 }, (error, _out, stderr) => {
      if (error && typeof error.code !== "number") reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stderr: String(stderr) });
    });
    child.stdin?.end(script);
  });
}
