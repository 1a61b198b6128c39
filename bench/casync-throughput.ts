/**
 * Chunking + indexing + storing throughput of @lifeboat/casync `makeIndex`
 * against `casync make` on the same input with the same chunk sizes
 * (16/64/256 KiB), both writing a fresh zstd chunk store and a .caibx index.
 * Medians of N alternating runs; checks both indexes are byte-identical.
 *
 *   pnpm exec tsx bench/casync-throughput.ts [--input FILE] [--size-mib 1200] [--runs 3]
 *
 * Without --input it builds a real-data input: the first --size-mib MiB of a tar of /usr.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeIndex } from "../packages/casync/src/index.js";

export interface ThroughputRow {
  readonly name: string;
  readonly seconds: number[];
  readonly median: number;
  readonly mbPerSecond: number;
  readonly cpuSeconds: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function casyncMake(input: string, dir: string): { seconds: number; cpu: number } {
  rmSync(path.join(dir, "casync.castr"), { recursive: true, force: true });
  const t = process.hrtime.bigint();
  const r = spawnSync(
    "/usr/bin/time",
    [
      "-f",
      "%U %S",
      "casync",
      "make",
      `--store=${path.join(dir, "casync.castr")}`,
      path.join(dir, "casync.caibx"),
      input,
    ],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" },
  );
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`casync make failed: ${r.stderr}`);
  const [user, sys] = (r.stderr.trim().split("\n").pop() ?? "0 0").split(" ").map(Number);
  return { seconds, cpu: (user ?? 0) + (sys ?? 0) };
}

async function lifeboatMake(input: string, dir: string): Promise<{ seconds: number; cpu: number }> {
  rmSync(path.join(dir, "lifeboat.castr"), { recursive: true, force: true });
  const c0 = process.cpuUsage();
  const t = process.hrtime.bigint();
  const r = await makeIndex(input, {
    indexPath: path.join(dir, "lifeboat.caibx"),
    store: path.join(dir, "lifeboat.castr"),
  });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const c = process.cpuUsage(c0);
  if (r.isErr()) throw new Error(r.error.message);
  return { seconds, cpu: (c.user + c.system) / 1e6 };
}

/** Run both tools `runs` times, alternating which goes first; throws if the indexes differ. */
export async function benchThroughput(input: string, runs: number): Promise<ThroughputRow[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "lifeboat-casync-bench-"));
  try {
    const size = statSync(input).size;
    const times = { casync: [] as number[], lifeboat: [] as number[] };
    const cpus = { casync: [] as number[], lifeboat: [] as number[] };
    for (let i = 0; i < runs; i++) {
      const order =
        i % 2 === 0 ? (["casync", "lifeboat"] as const) : (["lifeboat", "casync"] as const);
      for (const name of order) {
        const r = name === "casync" ? casyncMake(input, dir) : await lifeboatMake(input, dir);
        times[name].push(r.seconds);
        cpus[name].push(r.cpu);
      }
      if (
        !readFileSync(path.join(dir, "casync.caibx")).equals(
          readFileSync(path.join(dir, "lifeboat.caibx")),
        )
      ) {
        throw new Error("the two indexes differ");
      }
    }
    return (["casync", "lifeboat"] as const).map((name) => ({
      name: name === "casync" ? "casync make" : "@lifeboat/casync makeIndex",
      seconds: times[name],
      median: median(times[name]),
      mbPerSecond: size / 1e6 / median(times[name]),
      cpuSeconds: cpus[name],
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(arg("runs", "3"));
  let input = arg("input", "");
  let made = "";
  if (input === "") {
    made = mkdtempSync(path.join(tmpdir(), "lifeboat-casync-input-"));
    input = path.join(made, "usr-prefix.tar");
    const bytes = Number(arg("size-mib", "1200")) * 1024 * 1024;
    spawnSync("sh", [
      "-c",
      'tar -cf - -C / usr 2>/dev/null | head -c "$1" > "$2"',
      "sh",
      String(bytes),
      input,
    ]);
  }
  try {
    const size = statSync(input).size;
    const rows = await benchThroughput(input, runs);
    console.log(
      `input: ${input} (${(size / 2 ** 20).toFixed(0)} MiB), ${runs} runs, indexes identical`,
    );
    console.log("| tool | runs (s) | median (s) | MB/s | CPU s (user+sys) |");
    console.log("|---|---|---|---|---|");
    for (const r of rows) {
      console.log(
        `| ${r.name} | ${r.seconds.map((s) => s.toFixed(2)).join(", ")} | ${r.median.toFixed(2)} | ${r.mbPerSecond.toFixed(0)} | ${r.cpuSeconds.map((s) => s.toFixed(1)).join(", ")} |`,
      );
    }
    const [ca, lb] = rows as [ThroughputRow, ThroughputRow];
    console.log(`ratio (casync median / lifeboat median): ${(ca.median / lb.median).toFixed(2)}x`);
  } finally {
    if (made !== "") rmSync(made, { recursive: true, force: true });
  }
}
