/**
 * Parsing a 128-entry GPT (all 128 slots used) with @lifeboat/gpt against
 * `sfdisk -J` run as a process, the way a caller would otherwise get it.
 * Medians of N runs each, side by side, with the ratio.
 *
 *   pnpm exec tsx bench/gpt-parse.ts [--runs 25] [--dir /dev/shm]
 *
 * Rows: `readGpt` (open the image, read the table's sectors, parse, check
 * both copies), `parseGpt` on sectors already in memory (the pure codec),
 * and `sfdisk -J` (process start, read, JSON out; JSON.parse included).
 */
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createExecaRunner } from "../packages/core/src/index.js";
import {
  addPartition,
  createGptTable,
  LINUX_DATA_TYPE,
  MiB,
  openGptSource,
  parseGpt,
  readGpt,
  writeGpt,
} from "../packages/gpt/src/index.js";

export interface GptBenchRow {
  readonly name: string;
  readonly medianMs: number;
  readonly runs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Make a 128-partition image in `dir`, time the three ways `runs` times, return the rows. */
export async function runGptParseBench(options: {
  runs: number;
  dir: string;
  entries?: number;
}): Promise<GptBenchRow[]> {
  const entries = options.entries ?? 128;
  const work = mkdtempSync(path.join(options.dir, "lifeboat-gpt-bench-"));
  try {
    const image = path.join(work, "disk.img");
    const diskBytes = BigInt(entries + 4) * MiB;
    const fd = openSync(image, "w");
    ftruncateSync(fd, Number(diskBytes));
    closeSync(fd);
    let table = createGptTable({ diskBytes, entryCount: Math.max(128, entries) })._unsafeUnwrap();
    for (let i = 0; i < entries; i++) {
      table = addPartition(table, {
        size: MiB / 2n,
        typeGuid: LINUX_DATA_TYPE,
        name: `part ${i} ü`,
      })._unsafeUnwrap();
    }
    const runner = createExecaRunner();
    (await writeGpt(runner, image, table))._unsafeUnwrap();
    const source = (await openGptSource(runner, image))._unsafeUnwrap();

    const time = async (f: () => unknown | Promise<unknown>) => {
      const ms: number[] = [];
      for (let i = 0; i < options.runs; i++) {
        const t0 = performance.now();
        await f();
        ms.push(performance.now() - t0);
      }
      return median(ms);
    };
    // Warm up the JIT once, as any long-lived caller would be.
    (await readGpt(runner, image))._unsafeUnwrap();
    const rows: GptBenchRow[] = [
      {
        name: "@lifeboat/gpt readGpt (file → checked table)",
        medianMs: await time(async () => (await readGpt(runner, image))._unsafeUnwrap()),
        runs: options.runs,
      },
      {
        name: "@lifeboat/gpt parseGpt (in memory)",
        medianMs: await time(() => parseGpt(source)._unsafeUnwrap()),
        runs: options.runs,
      },
      {
        name: "sfdisk -J (process) + JSON.parse",
        medianMs: await time(() => {
          const json = JSON.parse(execFileSync("sfdisk", ["-J", image], { encoding: "utf8" }));
          if (json.partitiontable.partitions.length !== entries)
            throw new Error("sfdisk saw another table");
        }),
        runs: options.runs,
      },
    ];
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const args = process.argv.slice(2);
  const get = (flag: string, fallback: string) => {
    const i = args.indexOf(flag);
    return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
  };
  const rows = await runGptParseBench({
    runs: Number(get("--runs", "25")),
    dir: get("--dir", "/dev/shm"),
  });
  const sfdisk = rows[2]!.medianMs;
  console.log("| method | median (ms) | vs sfdisk -J |");
  console.log("|---|---:|---:|");
  for (const r of rows)
    console.log(`| ${r.name} | ${r.medianMs.toFixed(3)} | ${(r.medianMs / sfdisk).toFixed(3)}× |`);
  console.log(
    `\n${rows[0]!.runs} runs each, 128 used entries; ratio readGpt / sfdisk -J = ${(rows[0]!.medianMs / sfdisk).toFixed(3)}`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
