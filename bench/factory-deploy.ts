/**
 * Writing a golden disk image: @lifeboat/factory `deployImage` against
 * `dd bs=4M conv=fsync` on the same image, and against `dd conv=sparse` for
 * a mostly-empty image. Targets are fresh files on the same filesystem;
 * medians of N runs each, side by side, with the ratio (throughput, higher
 * is better).
 *
 *   pnpm exec tsx bench/factory-deploy.ts [--runs 3] [--dir /var/tmp] [--mib 1024]
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createExecaRunner } from "../packages/core/src/index.js";
import { deployImage } from "../packages/factory/src/index.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MiB = 1024 * 1024;

/** Make an image of `mib` MiB whose first `dataPercent` % is random data and the rest zeros. */
function makeImage(file: string, mib: number, dataPercent: number): void {
  const fd = openSync(file, "w");
  const chunk = randomBytes(4 * MiB);
  const zero = Buffer.alloc(4 * MiB);
  for (let i = 0; i < mib / 4; i++) writeSync(fd, (i * 4 * 100) / mib < dataPercent ? chunk : zero);
  closeSync(fd);
}

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  execFileSync("sync");
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export interface DeployBenchRow {
  readonly image: string;
  readonly method: string;
  readonly medianMs: number;
  readonly mibPerSecond: number;
}

/** Run the comparison; returns one row per (image, method). */
export async function runDeployBench(options: {
  runs: number;
  dir: string;
  mib: number;
}): Promise<DeployBenchRow[]> {
  const runner = createExecaRunner();
  const work = mkdtempSync(path.join(options.dir, "lifeboat-deploy-bench-"));
  const rows: DeployBenchRow[] = [];
  try {
    for (const [label, dataPercent] of [
      ["full (100% data)", 100],
      ["mostly empty (10% data)", 10],
    ] as const) {
      const image = path.join(work, "golden.img");
      makeImage(image, options.mib, dataPercent);
      const target = path.join(work, "target.img");
      const methods: Record<string, () => Promise<unknown> | unknown> = {
        "lifeboat deployImage (no read-back)": async () =>
          (await deployImage(runner, { source: image, target, verify: false }))._unsafeUnwrap(),
        "lifeboat deployImage + read-back verify": async () =>
          (await deployImage(runner, { source: image, target }))._unsafeUnwrap(),
        "dd bs=4M conv=fsync": () =>
          execFileSync("dd", [`if=${image}`, `of=${target}`, "bs=4M", "conv=fsync", "status=none"]),
        "dd bs=4M conv=sparse,fsync": () =>
          execFileSync("dd", [
            `if=${image}`,
            `of=${target}`,
            "bs=4M",
            "conv=sparse,fsync",
            "status=none",
          ]),
      };
      const times: Record<string, number[]> = {};
      for (let run = 0; run < options.runs; run++) {
        for (const [name, fn] of Object.entries(methods)) {
          rmSync(target, { force: true });
          const list = times[name] ?? [];
          list.push(await time(fn));
          times[name] = list;
        }
      }
      for (const [name, ms] of Object.entries(times)) {
        const m = median(ms);
        rows.push({
          image: label,
          method: name,
          medianMs: m,
          mibPerSecond: options.mib / (m / 1000),
        });
      }
      rmSync(image, { force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
  };
  const rows = await runDeployBench({
    runs: Number(arg("runs", "3")),
    dir: arg("dir", "/var/tmp"),
    mib: Number(arg("mib", "1024")),
  });
  for (const image of new Set(rows.map((r) => r.image))) {
    const group = rows.filter((r) => r.image === image);
    const dd = group.find((r) => r.method === "dd bs=4M conv=fsync")!;
    const sparse = group.find((r) => r.method === "dd bs=4M conv=sparse,fsync")!;
    console.log(`\n${image}`);
    console.log("| method | median (ms) | MiB/s | vs dd conv=fsync | vs dd conv=sparse |");
    console.log("|---|---:|---:|---:|---:|");
    for (const r of group) {
      console.log(
        `| ${r.method} | ${r.medianMs.toFixed(0)} | ${r.mibPerSecond.toFixed(0)} | ${(r.mibPerSecond / dd.mibPerSecond).toFixed(2)}x | ${(r.mibPerSecond / sparse.mibPerSecond).toFixed(2)}x |`,
      );
    }
  }
}
