/**
 * Benchmark: system reset keeping /home (factory snapshot + atomic exchange)
 * against an rsync restore of the same tree (`rsync -aHAX --delete`, what
 * Timeshift's rsync mode does), on a 0.5 GiB and a 4 GiB root.
 *
 * Run: pnpm exec tsx bench/reset-keep-home.ts [--runs 3] [--sizes 0.5,4] [--cache cold,warm]
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type CommandRunner, createExecaRunner } from "@lifeboat/core";
import { executeReset, inspect, plan, provision, stampOf } from "@lifeboat/reset";

const runner = createExecaRunner();

/** The runner, counting the programs it starts (to show the reset's fixed overhead). */
function countingRunner(base: CommandRunner, runs: string[]): CommandRunner {
  return {
    run: (c, a, o) => {
      runs.push(`${c} ${a.slice(0, 2).join(" ")}`);
      return base.run(c, a, o);
    },
    runBytes: (c, a, o) => {
      runs.push(`${c} ${a.slice(0, 2).join(" ")}`);
      return base.runBytes(c, a, o);
    },
    spawn: (c, a, o) => {
      runs.push(`${c} ${a.slice(0, 2).join(" ")}`);
      return base.spawn(c, a, o);
    },
  };
}

/** How the page cache is set before each timed run (the same for both sides). */
export type CacheState = "cold" | "warm";

interface Mounted {
  readonly top: string;
  readonly dev: string;
  readonly boot: string;
  readonly bootDev: string;
}

/**
 * Treat the page cache the same way for both sides before each timed run:
 * wait for deleted subvolumes to be cleaned and write back what is dirty on
 * the filesystem; then
 * - `cold`: unmount and mount again the Btrfs and /boot, which drops their
 *   cached pages, inodes and trees (and nothing of other jobs, unlike
 *   `drop_caches`; the Btrfs image is attached with direct I/O, so no copy
 *   of its blocks stays cached as pages of the image file): the state after
 *   a reboot into the recovery environment or the live system where a
 *   restore runs;
 * - `warm`: read the metadata of both trees (the factory snapshot and the
 *   damaged root) with `du`, so both start warm. Warm metadata favours
 *   rsync, which must stat every file; the reset reads none of them.
 */
async function settle(m: Mounted, cache: CacheState): Promise<void> {
  // The previous run's deleted old root is dropped by Btrfs in the background; wait for that
  // first, so neither side competes with the cleaner.
  await sh("btrfs", ["subvolume", "sync", m.top]);
  await sh("sync", ["-f", m.top]);
  if (cache === "cold") {
    for (const [dev, dir] of [
      [m.dev, m.top],
      [m.bootDev, m.boot],
    ] as const) {
      await sh("umount", [dir]);
      await sh("mount", [dev, dir]);
    }
  } else {
    await sh("du", ["-s", path.join(m.top, ".lifeboat/factory/root"), path.join(m.top, "root")]);
  }
}
const GiB = 1024 ** 3;

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await runner.run(cmd, args);
  if (r.isErr()) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return r.value.stdout;
}

async function timed(work: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Fill `root` with about `bytes` of real files (about 220 MiB copied once from /usr, then reflinked). */
const SEED_SOURCES = ["/usr/lib/python3.11", "/usr/share/doc", "/usr/share/perl"];

async function fillRoot(top: string, bytes: number, sources: readonly string[]): Promise<void> {
  const seed = path.join(top, "seed");
  await sh("btrfs", ["subvolume", "create", seed]);
  await mkdir(path.join(seed, "lib"));
  for (const src of sources)
    await sh("cp", ["-a", src, path.join(seed, "lib", path.basename(src))]);
  const seedBytes = Number((await sh("du", ["-sb", seed])).split(/\s/)[0]);
  const root = path.join(top, "root");
  await sh("btrfs", ["subvolume", "create", root]);
  let have = 0;
  for (let i = 0; have < bytes; i++) {
    const dest = path.join(root, `usr/lib${i}`);
    await mkdir(path.dirname(dest), { recursive: true });
    if (bytes - have >= seedBytes) {
      await sh("cp", ["-a", "--reflink=always", path.join(seed, "lib"), dest]);
      have += seedBytes;
    } else {
      // the remainder: the largest files of the seed, reflinked, until the size is reached
      await mkdir(dest, { recursive: true });
      const list = (await sh("find", [path.join(seed, "lib"), "-type", "f", "-size", "+1M"]))
        .trim()
        .split("\n")
        .filter(Boolean);
      if (list.length === 0) break; // a small seed: close enough
      for (const f of list) {
        if (have >= bytes) break;
        await sh("cp", ["-a", "--reflink=always", f, dest]);
        have += Number((await sh("stat", ["-c", "%s", f])).trim());
      }
    }
  }
  await sh("btrfs", ["subvolume", "delete", seed]);
  await mkdir(path.join(root, "etc"), { recursive: true });
  // Every Fedora root has /var/lib (where the reset writes its marker).
  await mkdir(path.join(root, "var/lib"), { recursive: true });
  await writeFile(path.join(root, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n");
  await writeFile(path.join(root, "etc/hostname"), "bench\n");
}

async function damage(root: string): Promise<void> {
  await rm(path.join(root, "etc"), { recursive: true, force: true });
  const victims = (await sh("sh", ["-c", `find ${root}/usr -type f -name '*.so*' | head -20`]))
    .trim()
    .split("\n")
    .filter(Boolean);
  for (const f of victims) await writeFile(f, "broken by an update\n");
  await mkdir(path.join(root, "opt/junk"), { recursive: true });
  await writeFile(path.join(root, "opt/junk/blob"), Buffer.alloc(8 * 1024 * 1024, 7));
}

export interface BenchRow {
  readonly sizeGiB: number;
  readonly cache: CacheState;
  readonly files: number;
  /** inspect + plan + execute, then `sync -f`. */
  readonly resetMs: number[];
  /** execute alone. */
  readonly executeMs: number[];
  /** Per step of the plan, its duration in each run (from the executor's step-finished events). */
  readonly stepMs: Record<string, number[]>;
  /** Programs started by one reset (inspect + execute). */
  readonly programs: number;
  readonly rsyncMs: number[];
}

/** Run the benchmark for each root size; returns the raw timings. */
export async function runResetBench(
  sizesGiB: readonly number[],
  runs: number,
  options: { readonly sources?: readonly string[]; readonly caches?: readonly CacheState[] } = {},
): Promise<BenchRow[]> {
  const work = await (await import("node:fs/promises")).mkdtemp(
    path.join(tmpdir(), "lifeboat-bench-reset-"),
  );
  const loops: string[] = [];
  const mounts: string[] = [];
  const rows: BenchRow[] = [];
  try {
    for (const size of sizesGiB) {
      const img = path.join(work, `btrfs-${size}.img`);
      const bootImg = path.join(work, `boot-${size}.img`);
      await sh("truncate", ["-s", String(Math.ceil(size * 2 + 3) * GiB), img]);
      await sh("truncate", ["-s", String(128 * 1024 * 1024), bootImg]);
      // Direct I/O: the loop device reads the image file past this kernel's page cache, as a
      // disk would; otherwise a "cold" remount would still find every block cached a second
      // time as pages of the image file.
      const dev = (await sh("losetup", ["--find", "--show", "--direct-io=on", img])).trim();
      loops.push(dev);
      const bootDev = (await sh("losetup", ["--find", "--show", bootImg])).trim();
      loops.push(bootDev);
      await sh("mkfs.btrfs", ["-q", "-f", dev]);
      await sh("mkfs.ext4", ["-q", bootDev]);
      const top = path.join(work, `top-${size}`);
      const boot = path.join(work, `boot-${size}`);
      await mkdir(top);
      await mkdir(boot);
      await sh("mount", [dev, top]);
      mounts.push(top);
      await sh("mount", [bootDev, boot]);
      mounts.push(boot);
      await fillRoot(top, size * GiB, options.sources ?? SEED_SOURCES);
      await sh("btrfs", ["subvolume", "create", path.join(top, "home")]);
      await writeFile(path.join(top, "home/notes.txt"), "keep me\n");
      await writeFile(path.join(boot, "vmlinuz-6.8.5"), Buffer.alloc(8 * 1024 * 1024, 1));
      await mkdir(path.join(boot, "loader/entries"), { recursive: true });
      await writeFile(
        path.join(boot, "loader/entries/a-6.8.5.conf"),
        "title F\nlinux /vmlinuz-6.8.5\noptions rootflags=subvol=root\n",
      );
      const p = await provision(runner, { top, boot, product: "bench", build: "1" });
      if (p.isErr()) throw new Error(p.error.message);
      const files = Number((await sh("sh", ["-c", `find ${top}/root | wc -l`])).trim());
      const m: Mounted = { top, dev, boot, bootDev };
      for (const cache of options.caches ?? ["cold", "warm"]) {
        const resetMs: number[] = [];
        const executeMs: number[] = [];
        const rsyncMs: number[] = [];
        const stepMs: Record<string, number[]> = {};
        let programs = 0;
        for (let r = 0; r < runs; r++) {
          await damage(path.join(top, "root"));
          await settle(m, cache);
          const stamp = stampOf(new Date(Date.UTC(2026, 0, 1, 0, cache === "cold" ? 0 : 1, r)));
          const started: string[] = [];
          const counted = countingRunner(runner, started);
          resetMs.push(
            await timed(async () => {
              const state = (
                await inspect(counted, { top, boot, disks: [], measureSizes: false })
              )._unsafeUnwrap();
              const pl = plan(state, { kind: "reset-keep-home", stamp })._unsafeUnwrap();
              executeMs.push(
                await timed(async () => {
                  (
                    await executeReset({ runner: counted, top, boot }, pl, {
                      confirm: pl.digest,
                      onProgress: (e) => {
                        if (e.type !== "step-finished") return;
                        const list = stepMs[e.stepId] ?? [];
                        list.push(e.durationMs);
                        stepMs[e.stepId] = list;
                      },
                    })
                  )._unsafeUnwrap();
                }),
              );
              await sh("sync", ["-f", top]);
            }),
          );
          programs = started.length;
          await sh("btrfs", ["subvolume", "delete", path.join(top, `root.old-${stamp}`)]);
          await damage(path.join(top, "root"));
          await settle(m, cache);
          rsyncMs.push(
            await timed(async () => {
              await sh("rsync", [
                "-aHAX",
                "--delete",
                `${path.join(top, ".lifeboat/factory/root")}/`,
                `${path.join(top, "root")}/`,
              ]);
              await sh("sync", ["-f", top]);
            }),
          );
        }
        rows.push({ sizeGiB: size, cache, files, resetMs, executeMs, stepMs, programs, rsyncMs });
      }
    }
  } finally {
    for (const m of mounts.reverse()) await runner.run("umount", [m]);
    for (const l of loops) await runner.run("losetup", ["-d", l]);
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}

function table(rows: readonly BenchRow[], runs: number): string {
  const lines = [
    `| root | cache | files | reset keeping /home (median of ${runs}) | rsync -aHAX --delete (median of ${runs}) | speedup |`,
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const reset = median(r.resetMs);
    const rsync = median(r.rsyncMs);
    lines.push(
      `| ${r.sizeGiB} GiB | ${r.cache} | ${r.files} | ${(reset / 1000).toFixed(2)} s (${r.resetMs.map((x) => (x / 1000).toFixed(2)).join(", ")}) | ${(rsync / 1000).toFixed(2)} s (${r.rsyncMs.map((x) => (x / 1000).toFixed(2)).join(", ")}) | ${(rsync / reset).toFixed(1)}x |`,
    );
  }
  lines.push(
    "",
    `| root | cache | execute only (median) | programs run per reset | ${Object.keys(rows[0]?.stepMs ?? {}).join(" | ")} |`,
    `|---|---|---|---|${Object.keys(rows[0]?.stepMs ?? {})
      .map(() => "---")
      .join("|")}|`,
  );
  for (const r of rows)
    lines.push(
      `| ${r.sizeGiB} GiB | ${r.cache} | ${(median(r.executeMs) / 1000).toFixed(3)} s | ${r.programs} | ${Object.values(
        r.stepMs,
      )
        .map((v) => `${median(v)} ms`)
        .join(" | ")} |`,
    );
  for (const cache of ["cold", "warm"] as const) {
    const of = rows.filter((r) => r.cache === cache);
    const small = of[0];
    const big = of.at(-1);
    if (small && big && small !== big)
      lines.push(
        "",
        `Flatness, ${cache} (reset ${big.sizeGiB} GiB / ${small.sizeGiB} GiB): ${(median(big.resetMs) / median(small.resetMs)).toFixed(2)}x`,
      );
  }
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const runs = Number(arg("--runs") ?? 3);
  const sizes = (arg("--sizes") ?? "0.5,4").split(",").map(Number);
  const caches = (arg("--cache") ?? "cold,warm").split(",") as CacheState[];
  const rows = await runResetBench(sizes, runs, { caches });
  console.log(table(rows, runs));
}
