/**
 * Peak memory (max RSS) of @lifeboat/casync `makeIndex` against `casync make`
 * on inputs of growing size, both writing a fresh zstd chunk store and a
 * .caibx index: the goal (issue #19) is that makeIndex stays within 150 MiB
 * whatever the input's size. Each tool runs in a process of its own under
 * `/usr/bin/time -f %M`; medians of N runs per size. makeIndex is loaded
 * from the built package (`pnpm build` first).
 *
 *   pnpm exec tsx bench/casync-memory.ts [--sizes-mib 64,300,1024] [--runs 3] [--random | --mixed] [--no-casync] [--dist <index.js>]
 *
 * Inputs are the first N MiB of a tar of /usr (or random bytes with --random;
 * with --mixed the first 2 GiB of the tar followed by random bytes, for sizes
 * beyond the tar's). `--no-casync` measures makeIndex only (casync make's
 * peak is 7 MiB at every size measured, and it doubles a long run's time).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The built package under test; `--dist <index.js>` measures another build (e.g. an older one, side by side). */
const casyncDist = path.resolve(arg("dist", path.join(here, "../packages/casync/dist/index.js")));

export interface MemoryRow {
  readonly inputMiB: number;
  readonly casyncMiB: number[];
  readonly lifeboatMiB: number[];
  readonly casyncMedian: number;
  readonly lifeboatMedian: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Max RSS in MiB of `argv` run to completion under /usr/bin/time. */
function peakMiB(argv: readonly string[]): number {
  const r = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr}`);
  const kib = Number(r.stderr.trim().split("\n").pop());
  return kib / 1024;
}

function lifeboatArgv(input: string, dir: string): string[] {
  const script = [
    `import { makeIndex } from ${JSON.stringify(pathToFileURL(casyncDist).href)};`,
    `const r = await makeIndex(${JSON.stringify(input)}, { indexPath: ${JSON.stringify(path.join(dir, "lifeboat.caibx"))}, store: ${JSON.stringify(path.join(dir, "lifeboat.castr"))} });`,
    "if (r.isErr()) { console.error(r.error.message); process.exit(1); }",
  ].join("\n");
  return [process.execPath, "--input-type=module", "-e", script];
}

/** Both tools `runs` times on `input`, alternating which goes first. */
export function benchMemory(input: string, runs: number, withCasync = true): MemoryRow {
  const dir = mkdtempSync(path.join(tmpdir(), "lifeboat-casync-mem-"));
  try {
    const casync: number[] = [];
    const lifeboat: number[] = [];
    for (let i = 0; i < runs; i++) {
      rmSync(path.join(dir, "casync.castr"), { recursive: true, force: true });
      rmSync(path.join(dir, "lifeboat.castr"), { recursive: true, force: true });
      const c = () =>
        casync.push(
          peakMiB([
            "casync",
            "make",
            `--store=${path.join(dir, "casync.castr")}`,
            path.join(dir, "casync.caibx"),
            input,
          ]),
        );
      const l = () => lifeboat.push(peakMiB(lifeboatArgv(input, dir)));
      if (!withCasync) {
        l();
      } else if (i % 2 === 0) {
        c();
        l();
      } else {
        l();
        c();
      }
    }
    return {
      inputMiB: statSync(input).size / 2 ** 20,
      casyncMiB: casync,
      lifeboatMiB: lifeboat,
      casyncMedian: casync.length > 0 ? median(casync) : Number.NaN,
      lifeboatMedian: median(lifeboat),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first `mib` MiB of a tar of /usr (or random bytes; or the tar's first 2 GiB then random bytes) in `file`. */
export function makeInput(
  file: string,
  mib: number,
  how: boolean | "tar" | "random" | "mixed",
): void {
  const kind = how === true ? "random" : how === false ? "tar" : how;
  const bytes = String(mib * 1024 * 1024);
  const tarMiB = Math.min(mib, 2048);
  const rest = String((mib - tarMiB) * 1024 * 1024);
  const source =
    kind === "random"
      ? 'head -c "$1" /dev/urandom'
      : kind === "mixed"
        ? `{ tar -cf - -C / usr 2>/dev/null | head -c ${tarMiB * 1024 * 1024}; head -c "$3" /dev/urandom; }`
        : 'tar -cf - -C / usr 2>/dev/null | head -c "$1"';
  spawnSync("sh", ["-c", `${source} > "$2"`, "sh", bytes, file, rest]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(arg("runs", "3"));
  const sizes = arg("sizes-mib", "64,300,1024").split(",").map(Number);
  const kind = process.argv.includes("--random")
    ? "random"
    : process.argv.includes("--mixed")
      ? "mixed"
      : "tar";
  const withCasync = !process.argv.includes("--no-casync");
  const made = mkdtempSync(path.join(tmpdir(), "lifeboat-casync-mem-input-"));
  try {
    const what = {
      random: "random",
      mixed: "tar of /usr, then random bytes past 2 GiB,",
      tar: "tar of /usr",
    };
    console.log(`${what[kind]} inputs, ${runs} runs each, max RSS in MiB`);
    console.log("| input (MiB) | casync make | median | makeIndex | median | ratio |");
    console.log("|---|---|---|---|---|---|");
    for (const mib of sizes) {
      const input = path.join(made, `in-${mib}.bin`);
      makeInput(input, mib, kind);
      const r = benchMemory(input, runs, withCasync);
      rmSync(input, { force: true });
      const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
      console.log(
        `| ${r.inputMiB.toFixed(0)} | ${f(r.casyncMiB)} | ${r.casyncMedian.toFixed(0)} | ${f(r.lifeboatMiB)} | ${r.lifeboatMedian.toFixed(0)} | ${(r.lifeboatMedian / r.casyncMedian).toFixed(1)}x |`,
      );
    }
  } finally {
    rmSync(made, { recursive: true, force: true });
  }
}
