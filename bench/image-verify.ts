/**
 * Full verification throughput of @lifeboat/image against `veritysetup format`
 * and `sha256sum` on the same file, medians of N runs, and peak RSS.
 *
 *   pnpm exec tsx bench/image-verify.ts [--size-mib 1024] [--runs 3] [--dir /dev/shm]
 *
 * Each of our runs is a fresh plain `node` child process running the built
 * package (packages/image/dist, built first), as an application would, so its
 * peak RSS (process.resourceUsage().maxRSS, worker threads included) is its
 * own and carries no TypeScript loader.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  createImageSet,
  exportPublicKeyPem,
  generateKeyPair,
  type PrivateKey,
  signImageSet,
  verifyImageSet,
} from "../packages/image/src/index.js";

export interface BenchRow {
  readonly name: string;
  readonly seconds: number[];
  readonly median: number;
  readonly mibPerSecond: number;
  readonly cpuSeconds: number[];
  readonly peakRssMiB?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall seconds and CPU seconds (user + system, from GNU time) of one command. */
function timeCommand(cmd: string, args: string[]): { seconds: number; cpu: number } {
  const t = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", cmd, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [user, sys] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { seconds, cpu: (user ?? 0) + (sys ?? 0) };
}

const CHILD = `
const [dist, dir] = process.argv.slice(1);
const { loadPublicKey, verifyImageSet } = await import(dist);
let pem = "";
for await (const c of process.stdin) pem += c;
const key = loadPublicKey(pem)._unsafeUnwrap();
const c0 = process.cpuUsage();
const t = process.hrtime.bigint();
const v = await verifyImageSet(dir, { trustedKeys: [key] });
const seconds = Number(process.hrtime.bigint() - t) / 1e9;
const c = process.cpuUsage(c0);
if (v.isErr()) throw new Error(v.error.message);
const cpu = (c.user + c.system) / 1e6;
process.stdout.write(JSON.stringify({ seconds, cpu, maxRssKiB: process.resourceUsage().maxRSS }) + "\\n");
`;

async function verifyHere(dir: string, key: PrivateKey): Promise<string> {
  const c0 = process.cpuUsage();
  const t = process.hrtime.bigint();
  const v = await verifyImageSet(dir, { trustedKeys: [key.publicKey] });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const c = process.cpuUsage(c0);
  if (v.isErr()) throw new Error(v.error.message);
  const cpu = (c.user + c.system) / 1e6;
  return JSON.stringify({ seconds, cpu, maxRssKiB: process.resourceUsage().maxRSS });
}

/** Run the benchmark; returns the table rows (used by a tiny test on small input). */
export async function runImageVerifyBench(options: {
  readonly sizeBytes: number;
  readonly runs: number;
  readonly dir: string;
  /** `child` (default): built package in a fresh node per run; `in-process`: source, this process (for the smoke test). */
  readonly ours?: "child" | "in-process";
}): Promise<BenchRow[]> {
  const work = mkdtempSync(path.join(options.dir, "lifeboat-image-bench-"));
  try {
    const set = path.join(work, "set");
    mkdirSync(set);
    const data = path.join(set, "payload.img");
    const fd = openSync(data, "w");
    const chunk = randomBytes(16 * 1024 * 1024);
    for (let done = 0; done < options.sizeBytes; done += chunk.length)
      writeSync(fd, chunk, 0, Math.min(chunk.length, options.sizeBytes - done));
    closeSync(fd);
    const key = generateKeyPair();
    (
      await createImageSet({
        dir: set,
        product: "bench",
        version: "1",
        sourceDateEpoch: 0,
        files: [{ path: "payload.img", kind: "file" }],
      })
    )._unsafeUnwrap();
    (await signImageSet(set, key))._unsafeUnwrap();
    const pub = exportPublicKeyPem(key.publicKey);
    const dist = new URL("../packages/image/dist/index.js", import.meta.url).href;
    const inProcess = options.ours === "in-process";
    if (!inProcess)
      execFileSync("pnpm", ["--filter", "@lifeboat/image", "build"], { stdio: "ignore" });
    const ours: Array<{ seconds: number; cpu: number }> = [];
    const rss: number[] = [];
    const vs: Array<{ seconds: number; cpu: number }> = [];
    const sums: Array<{ seconds: number; cpu: number }> = [];
    execFileSync("cat", [data], { stdio: ["ignore", "ignore", "inherit"] }); // warm the page cache
    for (let i = 0; i < options.runs; i++) {
      // Interleaved so that load from other processes hits all three alike.
      const out = inProcess
        ? await verifyHere(set, key)
        : execFileSync(process.execPath, ["--input-type=module", "-e", CHILD, dist, set], {
            input: pub,
            encoding: "utf8",
          });
      const r = JSON.parse(out.trim().split("\n").pop()!) as {
        seconds: number;
        cpu: number;
        maxRssKiB: number;
      };
      ours.push(r);
      rss.push(r.maxRssKiB / 1024);
      vs.push(timeCommand("veritysetup", ["format", data, path.join(work, "ref.verity")]));
      sums.push(timeCommand("sha256sum", [data]));
    }
    const mib = options.sizeBytes / 1024 / 1024;
    const row = (
      name: string,
      runs: Array<{ seconds: number; cpu: number }>,
      peak?: number,
    ): BenchRow => ({
      name,
      seconds: runs.map((r) => r.seconds),
      cpuSeconds: runs.map((r) => r.cpu),
      median: median(runs.map((r) => r.seconds)),
      mibPerSecond: mib / median(runs.map((r) => r.seconds)),
      ...(peak === undefined ? {} : { peakRssMiB: peak }),
    });
    return [
      row("lifeboat verifyImageSet (full)", ours, Math.max(...rss)),
      row("veritysetup format", vs),
      row("sha256sum", sums),
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const sizeMiB = Number(arg("--size-mib", "1024"));
  const rows = await runImageVerifyBench({
    sizeBytes: sizeMiB * 1024 * 1024,
    runs: Number(arg("--runs", "3")),
    dir: arg("--dir", "/dev/shm"),
  });
  const ours = rows[0]!;
  console.log(
    `file: ${sizeMiB} MiB random data, page cache warm; medians of ${ours.seconds.length} runs`,
  );
  console.log(
    "| tool | wall per run (s) | median wall (s) | MiB/s | ours is faster by | median CPU (s) | peak RSS |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.seconds.map((s) => s.toFixed(2)).join(", ")} | ${r.median.toFixed(2)} | ${r.mibPerSecond.toFixed(0)} | ${(r.median / ours.median).toFixed(2)}x | ${median(r.cpuSeconds).toFixed(2)} | ${r.peakRssMiB === undefined ? "" : `${r.peakRssMiB.toFixed(0)} MiB`} |`,
    );
  }
}
