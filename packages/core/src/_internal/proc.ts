import { readFile } from "node:fs/promises";

/** This boot's id (changes at every boot), or "unknown" where /proc lacks it. */
export async function bootId(): Promise<string> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return "unknown";
  }
}

/** A process's start time (clock ticks since boot) and state, from /proc/<pid>/stat. */
export async function processStat(
  pid: number,
): Promise<{ startTicks: number; state: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces and parentheses: fields start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0] ?? "?";
    const startTicks = Number(fields[19]);
    return { startTicks, state };
  } catch {
    return undefined;
  }
}

/** True when `pid` names a live (not zombie) process. */
export async function isProcessAlive(pid: number, startTicks?: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = await processStat(pid);
  if (stat === undefined) return true; // no /proc: trust kill(0)
  if (stat.state === "Z" || stat.state === "X") return false;
  // Same pid, different start time: the pid was reused by another process.
  return startTicks === undefined || stat.startTicks === startTicks;
}
