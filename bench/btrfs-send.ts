/**
 * Benchmark: @lifeboat/btrfs send->receive (progress events on) against a raw
 * `btrfs send | btrfs receive` shell pipeline on the same real tree, and
 * snapshot creation time on a 0.5 GiB vs a 4 GiB subvolume.
 *
 * Run as root: pnpm exec tsx bench/btrfs-send.ts [--runs 3] [--small] [--send-only]
 * (--small: a ~100 MiB tree and 64/256 MiB subvolumes, for a quick check).
 */
import { performance } from "node:perf_hooks";
import { createSubvolume, deleteSubvolume, sendReceive, snapshot } from "@lifeboat/btrfs";
import { createExecaRunner } from "@lifeboat/core";
import { createBtrfs, Scratch, sh } from "@lifeboat/testkit";

const runner = createExecaRunner();

export interface SendBenchOptions {
  /** Real directories copied onto the sending filesystem. */
  readonly sources: readonly string[];
  /** Runs of each contender (medians are reported). */
  readonly runs: number;
  /** Real directories copied (as many times as needed) to fill the snapshot-timing subvolumes. */
  readonly fillSources?: readonly string[];
  /** Sizes (bytes) of the two subvolumes for the snapshot timing. */
  readonly snapshotSizes: readonly number[];
  readonly imageBytes: { readonly a: number; readonly b: number };
  readonly log?: (line: string) => void;
}

export interface SendBenchResult {
  readonly treeBytes: number;
  readonly streamBytes: number;
  readonly sdkMs: readonly number[];
  readonly rawMs: readonly number[];
  readonly sdkMedianMs: number;
  readonly rawMedianMs: number;
  /** SDK median / raw median. */
  readonly ratio: number;
  readonly progressEvents: number;
  readonly snapshot: ReadonlyArray<{
    readonly bytes: number;
    readonly sdkMs: readonly number[];
    readonly rawMs: readonly number[];
    readonly sdkMedianMs: number;
    readonly rawMedianMs: number;
  }>;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function fillTo(dir: string, sources: readonly string[], bytes: number): Promise<number> {
  // Copies the real sources (again and again, as plain copies, never reflinks) until `bytes` are written.
  let written = 0;
  for (let round = 0; written < bytes; round++) {
    for (const src of sources) {
      if (written >= bytes) break;
      const dest = `${dir}/r${round}${src.replaceAll("/", "_")}`;
      await sh("cp", ["-a", "--reflink=never", src, dest]);
      written += Number((await sh("du", ["-sb", dest])).split("\t")[0]);
    }
  }
  return written;
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await action();
  return performance.now() - t;
}

export async function runSendBench(options: SendBenchOptions): Promise<SendBenchResult> {
  const log = options.log ?? (() => {});
  const scratch = await Scratch.create("lifeboat-bench-btrfs-");
  try {
    const { mountpoint: a } = await createBtrfs(scratch, {
      bytes: options.imageBytes.a,
      name: "a.img",
    });
    const { mountpoint: b } = await createBtrfs(scratch, {
      bytes: options.imageBytes.b,
      name: "b.img",
    });
    (await createSubvolume(runner, a, "data"))._unsafeUnwrap();
    let treeBytes = 0;
    for (const src of options.sources) {
      await sh("cp", ["-a", src, `${a}/data/${src.replaceAll("/", "_")}`]);
    }
    treeBytes = Number((await sh("du", ["-sb", `${a}/data`])).split("\t")[0]);
    (await snapshot(runner, a, "data", "snap", { readOnly: true }))._unsafeUnwrap();
    await sh("sync", []);
    log(`tree: ${(treeBytes / 1024 ** 2).toFixed(0)} MiB from ${options.sources.join(", ")}`);
    // Warm the page cache for both contenders alike.
    await sh("sh", ["-c", 'btrfs send -q "$1" > /dev/null', "sh", `${a}/snap`]);

    const sdkMs: number[] = [];
    const rawMs: number[] = [];
    let streamBytes = 0;
    let progressEvents = 0;
    const clear = async () => {
      (await deleteSubvolume(runner, b, "snap", { commit: true }))._unsafeUnwrap();
      await sh("sync", []);
    };
    for (let i = 0; i < options.runs; i++) {
      // Alternate who goes first, so neither always gets the warmer machine.
      const order = i % 2 === 0 ? ["sdk", "raw"] : ["raw", "sdk"];
      for (const who of order) {
        if (who === "sdk") {
          let events = 0;
          const ms = await timed(async () => {
            const r = await sendReceive(
              runner,
              { topLevel: a, subvolume: "snap" },
              { topLevel: b, directory: "." },
              { onProgress: () => events++ },
            );
            streamBytes = r._unsafeUnwrap().bytes;
          });
          progressEvents = events;
          sdkMs.push(ms);
          log(`run ${i + 1} sdk: ${ms.toFixed(0)} ms (${events} progress events)`);
        } else {
          const ms = await timed(() =>
            sh("sh", ["-c", 'btrfs send -q "$1" | btrfs receive "$2"', "sh", `${a}/snap`, b]),
          );
          rawMs.push(ms);
          log(`run ${i + 1} raw: ${ms.toFixed(0)} ms`);
        }
        await clear();
      }
    }

    const snapshotResults = [];
    for (const [index, bytes] of options.snapshotSizes.entries()) {
      const name = `size${index}`;
      (await createSubvolume(runner, a, name))._unsafeUnwrap();
      const filled = await fillTo(`${a}/${name}`, options.fillSources ?? options.sources, bytes);
      await sh("sync", []);
      const sdk: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < Math.max(options.runs, 5); i++) {
        sdk.push(
          await timed(async () =>
            (await snapshot(runner, a, name, `${name}-s${i}`, { readOnly: true }))._unsafeUnwrap(),
          ),
        );
        raw.push(
          await timed(() =>
            sh("btrfs", ["subvolume", "snapshot", "-r", `${a}/${name}`, `${a}/${name}-r${i}`]),
          ),
        );
      }
      snapshotResults.push({
        bytes: filled,
        sdkMs: sdk,
        rawMs: raw,
        sdkMedianMs: median(sdk),
        rawMedianMs: median(raw),
      });
      log(
        `snapshot of ${(filled / 1024 ** 3).toFixed(2)} GiB: sdk median ${median(sdk).toFixed(1)} ms, raw ${median(raw).toFixed(1)} ms`,
      );
    }
    return {
      treeBytes,
      streamBytes,
      sdkMs,
      rawMs,
      sdkMedianMs: median(sdkMs),
      rawMedianMs: median(rawMs),
      ratio: median(sdkMs) / median(rawMs),
      progressEvents,
      snapshot: snapshotResults,
    };
  } finally {
    await scratch.cleanup();
  }
}

const GiB = 1024 ** 3;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const small = args.includes("--small");
  const sendOnly = args.includes("--send-only");
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
  const result = await runSendBench(
    small
      ? {
          sources: ["/usr/share/vim", "/usr/lib/gcc"],
          runs,
          snapshotSizes: [64 * 1024 ** 2, 256 * 1024 ** 2],
          imageBytes: { a: 2 * GiB, b: 1 * GiB },
          log: (l) => console.error(l),
        }
      : {
          sources: ["/usr/lib/x86_64-linux-gnu", "/usr/lib/gcc", "/usr/share/doc"],
          runs,
          fillSources: [
            "/usr/lib/gcc",
            "/usr/share/doc",
            "/usr/share/locale",
            "/usr/share/man",
            "/usr/lib/llvm-14",
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/jvm",
          ],
          snapshotSizes: sendOnly ? [] : [0.5 * GiB, 4 * GiB],
          imageBytes: { a: 9 * GiB, b: 4 * GiB },
          log: (l) => console.error(l),
        },
  );
  const mib = (n: number) => (n / 1024 ** 2).toFixed(0);
  const rate = (ms: number) => ((result.streamBytes / 1024 ** 2 / ms) * 1000).toFixed(0);
  console.log(
    `tree ${mib(result.treeBytes)} MiB, stream ${mib(result.streamBytes)} MiB, ${runs} runs each`,
  );
  console.log("| contender | runs (ms) | median (ms) | MiB/s |");
  console.log("|---|---|---|---|");
  console.log(
    `| SDK sendReceive, progress on (${result.progressEvents} events) | ${result.sdkMs.map((m) => m.toFixed(0)).join(", ")} | ${result.sdkMedianMs.toFixed(0)} | ${rate(result.sdkMedianMs)} |`,
  );
  console.log(
    `| raw \`btrfs send \\| btrfs receive\` | ${result.rawMs.map((m) => m.toFixed(0)).join(", ")} | ${result.rawMedianMs.toFixed(0)} | ${rate(result.rawMedianMs)} |`,
  );
  console.log(`ratio SDK / raw: ${result.ratio.toFixed(3)} (goal <= 1.1)`);
  console.log("");
  console.log(
    "| subvolume size | SDK snapshot() median (ms) | raw `btrfs subvolume snapshot -r` median (ms) |",
  );
  console.log("|---|---|---|");
  for (const s of result.snapshot) {
    console.log(
      `| ${(s.bytes / GiB).toFixed(2)} GiB | ${s.sdkMedianMs.toFixed(1)} | ${s.rawMedianMs.toFixed(1)} |`,
    );
  }
  const [x, y] = result.snapshot;
  if (x && y)
    console.log(
      `snapshot time ratio (large / small): SDK ${(y.sdkMedianMs / x.sdkMedianMs).toFixed(2)}, raw ${(y.rawMedianMs / x.rawMedianMs).toFixed(2)}`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
