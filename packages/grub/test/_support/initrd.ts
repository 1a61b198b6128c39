import { spawn } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { requireTools, sh } from "@lifeboat/testkit";

/**
 * A tiny initrd from Debian's busybox-static: its /init prints `marker`
 * and the kernel command line to ttyS0, then powers off.
 */
export async function markerInitrd(dir: string, output: string, marker: string): Promise<void> {
  requireTools("busybox", "cpio");
  await mkdir(path.join(dir, "bin"), { recursive: true });
  for (const d of ["dev", "proc"]) await mkdir(path.join(dir, d), { recursive: true });
  await sh("cp", ["/usr/bin/busybox", path.join(dir, "bin", "busybox")]);
  await writeFile(
    path.join(dir, "init"),
    `#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t proc proc /proc
echo "${marker} cmdline=[$(/bin/busybox cat /proc/cmdline)]" > /dev/ttyS0
/bin/busybox sync
/bin/busybox poweroff -f
`,
  );
  await chmod(path.join(dir, "init"), 0o755);
  const list = (await sh("sh", ["-c", 'cd "$1" && find . | sort', "sh", dir])).trim();
  const cpio = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn("cpio", ["-o", "-H", "newc", "--quiet"], { cwd: dir });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`cpio exit ${code}`)),
    );
    child.stdin.end(`${list}\n`);
  });
  await writeFile(output, cpio);
}
