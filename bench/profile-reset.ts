/**
 * Profile: the timeline of a system reset keeping /home on a small
 * loop-backed Btrfs (a copy of /usr/share/doc as root, an 8 MiB kernel in
 * an ext4 /boot): when each program ran and each step ended, in ms from the
 * start of `inspect`. For finding the reset's fixed overhead (issue 7); the
 * numbers to report come from `reset-keep-home.ts`.
 *
 * Run (root): pnpm exec tsx bench/profile-reset.ts [runs, default 5]
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import { executeReset, inspect, plan, provision, stampOf } from "@lifeboat/reset";

const runner = createExecaRunner();

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await runner.run(cmd, args);
  if (r.isErr()) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return r.value.stdout;
}

/** A runner that logs each program's start and end (ms since `t0`). */
function timeline(base: CommandRunner, t0: bigint, log: string[]): CommandRunner {
  const ms = () => (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1);
  return {
    run: (c, a, o) => {
      const start = ms();
      return base.run(c, a, o).map((v) => {
        log.push(`${start}..${ms()} ${c} ${a.slice(0, 3).join(" ")}`);
        return v;
      });
    },
    runBytes: (c, a, o) => {
      const start = ms();
      return base.runBytes(c, a, o).map((v) => {
        log.push(`${start}..${ms()} ${c} ${a.slice(0, 3).join(" ")}`);
        return v;
      });
    },
    spawn: (c, a, o) => {
      log.push(`${ms()} spawn ${c}`);
      return base.spawn(c, a, o);
    },
  };
}

const runs = Number(process.argv[2] ?? 5);
const work = await mkdtemp(path.join(tmpdir(), "lifeboat-profile-reset-"));
const loops: string[] = [];
const mounts: string[] = [];
try {
  const img = path.join(work, "btrfs.img");
  const bootImg = path.join(work, "boot.img");
  await sh("truncate", ["-s", "2G", img]);
  await sh("truncate", ["-s", "128M", bootImg]);
  const dev = (await sh("losetup", ["--find", "--show", img])).trim();
  loops.push(dev);
  const bootDev = (await sh("losetup", ["--find", "--show", bootImg])).trim();
  loops.push(bootDev);
  const top = path.join(work, "top");
  const boot = path.join(work, "boot");
  await sh("mkfs.btrfs", ["-q", "-f", dev]);
  await sh("mkfs.ext4", ["-q", bootDev]);
  await mkdir(top);
  await mkdir(boot);
  await sh("mount", [dev, top]);
  mounts.push(top);
  await sh("mount", [bootDev, boot]);
  mounts.push(boot);
  await sh("btrfs", ["subvolume", "create", path.join(top, "root")]);
  await sh("cp", ["-a", "/usr/share/doc", path.join(top, "root/doc")]);
  await mkdir(path.join(top, "root/etc"));
  await writeFile(path.join(top, "root/etc/machine-id"), "0123456789abcdef0123456789abcdef\n");
  await sh("btrfs", ["subvolume", "create", path.join(top, "home")]);
  await writeFile(path.join(boot, "vmlinuz-6.8.5"), Buffer.alloc(8 * 1024 * 1024, 1));
  await mkdir(path.join(boot, "loader/entries"), { recursive: true });
  await writeFile(
    path.join(boot, "loader/entries/a-6.8.5.conf"),
    "title F\nlinux /vmlinuz-6.8.5\noptions rootflags=subvol=root\n",
  );
  (await provision(runner, { top, boot, product: "profile", build: "1" }))._unsafeUnwrap();
  for (let r = 0; r < runs; r++) {
    await sh("btrfs", ["subvolume", "sync", top]);
    await sh("sync", ["-f", top]);
    await sh("du", ["-s", top]); // warm metadata
    const log: string[] = [];
    const t0 = process.hrtime.bigint();
    const at = () => (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1);
    const timed = timeline(runner, t0, log);
    const stamp = stampOf(new Date(Date.UTC(2026, 0, 1, 0, 0, r)));
    const state = (
      await inspect(timed, { top, boot, disks: [], measureSizes: false })
    )._unsafeUnwrap();
    log.push(`${at()} inspected`);
    const p = plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    log.push(`${at()} planned`);
    (
      await executeReset({ runner: timed, top, boot }, p, {
        confirm: p.digest,
        onProgress: (e) => {
          if (e.type === "step-finished") log.push(`${at()} ${e.stepId} (${e.durationMs} ms)`);
          else if (e.type === "plan-started" || e.type === "plan-finished")
            log.push(`${at()} ${e.type}`);
        },
      })
    )._unsafeUnwrap();
    await sh("sync", ["-f", top]);
    log.push(`${at()} total (after sync -f)`);
    console.log(`--- run ${r + 1}\n${log.join("\n")}`);
    await sh("btrfs", ["subvolume", "delete", path.join(top, `root.old-${stamp}`)]);
  }
} finally {
  for (const m of mounts.reverse()) await runner.run("umount", [m]);
  for (const l of loops) await runner.run("losetup", ["-d", l]);
  await rm(work, { recursive: true, force: true });
}
