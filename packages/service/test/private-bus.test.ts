// The tests' private mount namespace (polkitd's view) drops its copies of the host's loop-backed
// mounts: a copy held it for a whole test file kept another test's disk mounted and its loop
// devices busy after that test had unmounted it (a fresh-clone run: across-processes 7/7 failed).
// Needs root, loop devices, mkfs.ext4, unshare, nsenter.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import { dropLoopMounts } from "./private-bus.js";

test("a namespace made after a loop mount lets go of it: the host unmounts and detaches", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-private-ns-"));
  const image = path.join(dir, "disk.img");
  const target = path.join(dir, "mnt with space");
  let loop = "";
  let holder: ChildProcess | undefined;
  try {
    execFileSync("truncate", ["-s", "16M", image]);
    execFileSync("mkfs.ext4", ["-q", image]);
    loop = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
    await mkdir(target);
    execFileSync("mount", [loop, target]);

    holder = spawn("unshare", ["--mount", "--propagation", "private", "sleep", "infinity"], {
      stdio: "ignore",
    });
    const pid = String(holder.pid);
    for (let i = 0; i < 100; i++) {
      if (readlinkSync(`/proc/${pid}/ns/mnt`) !== readlinkSync("/proc/self/ns/mnt")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const held = () => readFileSync(`/proc/${pid}/mountinfo`, "utf8").includes(` - ext4 ${loop} `);
    expect(held()).toBe(true); // the copy, as unshare makes it
    dropLoopMounts(pid);
    expect(held()).toBe(false);

    execFileSync("umount", [target]);
    execFileSync("losetup", ["-d", loop]);
    loop = "";
    // The loop device is free (no mount left anywhere keeps it).
    expect(execFileSync("losetup", ["-j", image], { encoding: "utf8" }).trim()).toBe("");
  } finally {
    holder?.kill("SIGKILL");
    if (loop !== "") {
      for (const args of [
        ["umount", "-l", target],
        ["losetup", "-d", loop],
      ] as const)
        try {
          execFileSync(args[0], args.slice(1), { stdio: "ignore" });
        } catch {
          // best effort: the rest still runs
        }
    }
    await rm(dir, { recursive: true, force: true });
  }
});
