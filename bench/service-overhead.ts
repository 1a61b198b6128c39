/**
 * Benchmark (issue #20): the same keep-home apply in process and through
 * lifeboatd on a private system bus; the goal is the service within 1.1× of
 * in process.
 *
 * The disk is a small Fedora-shaped image provisioned by the CLI (as the
 * service tests use), attached as a loop device. Each timed run is what an
 * apply costs its caller from the request to the result:
 * - in process: `openMachine`, `inspectMachine`, `plan`, `executeReset`
 *   with the digest, `close` (what lifeboatd itself does for `Apply`);
 * - through the service: the CLI's own client (`ServiceConnection`) calls
 *   `Apply(disk, request, digest)` (polkit asked, the disk opened, inspected,
 *   planned again and reset in lifeboatd) and follows the job's signals until
 *   `Finished` (after lifeboatd closed the disk).
 * The digest is planned before each timed run (untimed, like a person
 * reviewing the plan). Runs alternate which side goes first; every run has a
 * stamp of its own, and the old roots are deleted, untimed, between runs.
 * lifeboatd runs from source under tsx, as this script does, with no trusted
 * key on either side (the recovery image set is then not hashed by inspect).
 *
 *   pnpm exec tsx bench/service-overhead.ts [--runs 7]
 *
 * Needs root, loop devices, dbus-daemon, polkitd, and the built CLI
 * (`pnpm --filter lifeboat build`; the disk is provisioned with it).
 */
import { mkdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { canonicalJson, type Plan } from "@lifeboat/core";
import {
  executeReset,
  inspectMachine,
  plan as makePlan,
  openMachine,
  type ResetRequest,
  stampOf,
} from "@lifeboat/reset";
import { attachLoop, Scratch } from "@lifeboat/testkit";
import { jobResult, ServiceConnection } from "../packages/cli/src/via-service.js";
import {
  ensureBuilt,
  keygen,
  provisionSmall,
  runner,
  smallDisk,
} from "../packages/cli/test/support.js";
import { startPrivateSystem } from "../packages/service/test/private-bus.js";

/** One side's times (ms), in run order, and their median. */
export interface Side {
  readonly ms: number[];
  readonly median: number;
}

/** What {@link runServiceOverhead} measured. */
export interface OverheadResult {
  readonly runs: number;
  readonly inProcess: Side;
  readonly viaService: Side;
  /** `viaService.median / inProcess.median`. */
  readonly ratio: number;
  /** Median of the per-pair ratios (each service run over the in-process run next to it). */
  readonly pairedRatio: number;
  /** Median of a bare authorized call (`Cancel` of no job: polkit asked, an error back), ms. */
  readonly callMs: number;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const GRANT_ROOT = `polkit.addRule(function (action, subject) {
  if (action.id.indexOf("org.lifeboat.Lifeboat1.") === 0 && subject.user === "root")
    return polkit.Result.YES;
});
`;

function must<T>(r: { isOk(): boolean; value?: T; error?: { message: string } }): T {
  if (!r.isOk()) throw new Error(r.error?.message ?? "failed");
  return r.value as T;
}

/** Time `runs` keep-home applies each way on one provisioned loop disk. */
export async function runServiceOverhead(runs: number): Promise<OverheadResult> {
  ensureBuilt();
  const scratch = await Scratch.create("service-overhead-");
  try {
    const image = await smallDisk(scratch);
    provisionSmall(image, keygen(scratch).privateKey);
    const loop = await attachLoop(scratch, image);
    const runDirectory = scratch.path("run");
    await mkdir(runDirectory);
    // Runs last (clean-up is last in, first out): what a failed run left mounted.
    scratch.defer(async () => {
      const m = await openMachine(runner, { disk: loop, runDirectory });
      if (m.isOk()) await m.value.close();
    });
    const system = await startPrivateSystem(scratch, { runDirectory });
    await system.setRules(GRANT_ROOT);
    process.env.DBUS_SYSTEM_BUS_ADDRESS = system.address;
    delete process.env.LIFEBOAT_BUS_ADDRESS;
    const service = must(await ServiceConnection.open());
    scratch.defer(async () => service.close());

    /** Plan `request` in process (untimed): the digest a person would have reviewed. */
    const review = async (request: ResetRequest): Promise<Plan> => {
      const m = must(await openMachine(runner, { disk: loop, runDirectory }));
      try {
        const { state } = must(await inspectMachine(runner, m, { measureSizes: true }));
        return must(makePlan(state, request));
      } finally {
        await m.close();
      }
    };
    /** Delete what the last reset kept (untimed), so every run starts alike. */
    const cleanup = async () => {
      const m = must(await openMachine(runner, { disk: loop, runDirectory }));
      try {
        const { state, env } = must(await inspectMachine(runner, m, { measureSizes: false }));
        const p = makePlan(state, { kind: "cleanup" });
        // Nothing kept yet (the first run) is the planner's refusal, not a failure.
        if (p.isOk()) must(await executeReset(env, p.value, { confirm: p.value.digest }));
      } finally {
        await m.close();
      }
    };

    const inProcess = async (request: ResetRequest, digest: string) => {
      const m = must(await openMachine(runner, { disk: loop, runDirectory }));
      try {
        const { state, env } = must(await inspectMachine(runner, m, { measureSizes: true }));
        const p = must(makePlan(state, request));
        if (p.digest !== digest) throw new Error("the plan changed under the benchmark");
        must(await executeReset(env, p, { confirm: digest }));
      } finally {
        await m.close();
      }
    };
    const viaService = async (request: ResetRequest, digest: string) => {
      const requestJson = must(canonicalJson(request));
      const outcome = await service
        .call("Apply", "sss", [loop, requestJson, digest])
        .andThen(([job]) => service.followJob(String(job), () => undefined))
        .andThen((o) => jobResult(o));
      must(outcome);
    };

    const sides = { inProcess: [] as number[], viaService: [] as number[] };
    let clock = Date.UTC(2026, 11, 5, 8, 0, 0);
    for (let i = 0; i < runs; i++) {
      const order =
        i % 2 === 0
          ? (["inProcess", "viaService"] as const)
          : (["viaService", "inProcess"] as const);
      for (const side of order) {
        await cleanup();
        clock += 60_000;
        const request: ResetRequest = { kind: "reset-keep-home", stamp: stampOf(new Date(clock)) };
        const { digest } = await review(request);
        await runner.run("sync", []);
        const t0 = performance.now();
        await (side === "inProcess" ? inProcess : viaService)(request, digest);
        sides[side].push(performance.now() - t0);
      }
    }
    await cleanup();
    // The fixed cost of one call: polkit's CheckAuthorization and two bus round trips.
    const calls: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await service.call("Cancel", "o", ["/org/lifeboat/Lifeboat1/jobs/0"]);
      calls.push(performance.now() - t0);
    }
    const paired = sides.viaService.map((v, i) => v / (sides.inProcess[i] ?? v));
    const a = median(sides.inProcess);
    const b = median(sides.viaService);
    return {
      runs,
      inProcess: { ms: sides.inProcess, median: a },
      viaService: { ms: sides.viaService, median: b },
      ratio: b / a,
      pairedRatio: median(paired),
      callMs: median(calls),
    };
  } finally {
    await scratch.cleanup();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
  const runs = Number(values.runs);
  const r = await runServiceOverhead(runs);
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write(
    [
      `keep-home apply, ${runs} runs each (alternating), median:`,
      `  in process        ${f(r.inProcess.median)}   [${r.inProcess.ms.map(f).join(", ")}]`,
      `  through lifeboatd ${f(r.viaService.median)}   [${r.viaService.ms.map(f).join(", ")}]`,
      `  ratio ${r.ratio.toFixed(3)} (median of paired ratios ${r.pairedRatio.toFixed(3)}); goal <= 1.1`,
      `  one authorized call (polkit + bus round trips): ${r.callMs.toFixed(1)} ms median of 30`,
      "",
    ].join("\n"),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
