// Smoke demo of @lifeboat/core on a loop-backed image: discovery, then a
// three-step plan run by the journaled executor. Nothing outside a temp
// directory is touched; everything is undone on success, failure or Ctrl-C.
// Run: sudo bash scripts/demo.sh
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
// The repository root does not depend on neverthrow; take core's copy (same instance core uses).
import { okAsync, ResultAsync } from "../packages/core/node_modules/neverthrow/dist/index.es.js";
import {
  type CommandRunner,
  createExecaRunner,
  createPlan,
  type ExecutorEvent,
  execute,
  formatError,
  ioError,
  joinInside,
  listBlockDevices,
  listMounts,
  type StepHandlers,
} from "../packages/core/src/index.js";

const runner: CommandRunner = createExecaRunner();
const undo: Array<{ what: string; run: () => Promise<unknown> }> = [];
const abort = new AbortController();
const MiB = 1024 ** 2;

async function cleanup(): Promise<void> {
  while (undo.length > 0) {
    const step = undo.pop()!;
    try {
      await step.run();
      console.log(`  cleaned up: ${step.what}`);
    } catch (e) {
      console.error(`  clean-up failed (${step.what}): ${e instanceof Error ? e.message : e}`);
    }
  }
}

/** Run a program for clean-up: it must run even after Ctrl-C. */
async function always(command: string, args: string[]): Promise<string> {
  const r = await runner.run(command, args);
  if (r.isErr()) throw new Error(formatError(r.error));
  return r.value.stdout.trim();
}

/** Run a program for the demo itself: not once Ctrl-C was pressed. */
async function must(command: string, args: string[]): Promise<string> {
  if (abort.signal.aborted) throw new Error("interrupted");
  const r = await runner.run(command, args);
  if (r.isErr()) throw new Error(formatError(r.error));
  return r.value.stdout.trim();
}

let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) return;
  interrupted = true;
  console.log("\nInterrupted: cancelling and cleaning up…");
  abort.abort();
});

const pad = (s: string | number | undefined, n: number) => String(s ?? "-").padEnd(n);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("The demo needs root (loop devices, mounts).");
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-demo-"));
  undo.push({ what: dir, run: () => rm(dir, { recursive: true, force: true }) });

  console.log("1. A 256 MiB image, attached as a loop device, with a fresh btrfs");
  const image = path.join(dir, "disk.img");
  await must("truncate", ["-s", String(256 * MiB), image]);
  const device = await must("losetup", ["--find", "--show", image]);
  undo.push({ what: `loop device ${device}`, run: () => always("losetup", ["-d", device]) });
  await must("mkfs.btrfs", ["-q", "-f", "-L", "lifeboat-demo", device]);
  const mnt = path.join(dir, "mnt");
  await mkdir(mnt);
  await must("mount", ["-t", "btrfs", device, mnt]);
  undo.push({ what: `mount ${mnt}`, run: () => always("umount", [mnt]) });

  console.log("\n2. What discovery sees");
  const devices = await listBlockDevices(runner, { device });
  if (devices.isErr()) throw new Error(formatError(devices.error));
  console.log(
    `   ${pad("DEVICE", 12)}${pad("TYPE", 6)}${pad("SIZE", 12)}${pad("FS", 7)}${pad("LABEL", 15)}UUID`,
  );
  for (const d of devices.value) {
    console.log(
      `   ${pad(d.path, 12)}${pad(d.type, 6)}${pad(d.size, 12)}${pad(d.fsType, 7)}${pad(d.label, 15)}${d.fsUuid ?? "-"}`,
    );
  }
  const mounts = await listMounts(runner);
  if (mounts.isErr()) throw new Error(formatError(mounts.error));
  for (const m of mounts.value.filter((x) => x.device === device)) {
    console.log(`   mounted on ${m.target} (${m.fstype}, subvol ${m.subvol ?? "-"}, ${m.options})`);
  }

  console.log("\n3. A three-step plan, run by the journaled executor");
  const plan = createPlan({
    kind: "demo",
    title: "Make a data subvolume, fill it, snapshot it",
    target: mnt,
    warnings: [],
    steps: [
      {
        id: "subvolume",
        kind: "demo.subvolume",
        title: "Create subvolume data",
        params: { name: "data" },
        destroys: [],
        reversible: true,
        preconditions: ["btrfs mounted at the target"],
      },
      {
        id: "fill",
        kind: "demo.fill",
        title: "Write 64 MiB into data/payload.bin",
        params: { file: "data/payload.bin", bytes: 64 * MiB },
        destroys: [{ kind: "files", what: "data/payload.bin (replaced)" }],
        reversible: false,
        preconditions: [],
      },
      {
        id: "snapshot",
        kind: "demo.snapshot",
        title: "Read-only snapshot data -> data.factory",
        params: { source: "data", snapshot: "data.factory" },
        destroys: [],
        reversible: true,
        preconditions: [],
      },
    ],
  });

  const inside = (rel: unknown) => joinInside(mnt, String(rel));
  const exists = (p: string) =>
    runner
      .run("test", ["-e", p])
      .map(() => true)
      .orElse(() => okAsync(false));
  const btrfs = (args: string[]) => runner.run("btrfs", args).map(() => undefined);
  // Every handler is idempotent: it checks what is done before acting.
  const handlers: StepHandlers = {
    "demo.subvolume": (step) =>
      inside(step.params.name).asyncAndThen((p) =>
        exists(p).andThen((there) =>
          there ? okAsync(undefined) : btrfs(["subvolume", "create", p]),
        ),
      ),
    "demo.fill": (step, ctx) =>
      inside(step.params.file).asyncAndThen((file) =>
        ResultAsync.fromPromise(
          (async () => {
            const total = Number(step.params.bytes);
            const chunk = Buffer.alloc(4 * MiB, 0x5a);
            const handle = await open(file, "w");
            try {
              for (let done = 0; done < total; done += chunk.length) {
                if (ctx.signal.aborted) throw new Error("aborted");
                await handle.write(chunk);
                ctx.reportBytes(done + chunk.length, total);
              }
              await handle.sync();
            } finally {
              await handle.close();
            }
          })(),
          (e) => ioError(e, file, "write"),
        ),
      ),
    "demo.snapshot": (step) =>
      inside(step.params.source).asyncAndThen((src) =>
        inside(step.params.snapshot).asyncAndThen((snap) =>
          exists(snap).andThen((there) =>
            there ? okAsync(undefined) : btrfs(["subvolume", "snapshot", "-r", src, snap]),
          ),
        ),
      ),
  };

  console.log(`   plan digest: ${plan.digest}`);
  console.log("   it replaces data/payload.bin, so it is destructive: first without confirmation…");
  const journalPath = path.join(mnt, ".lifeboat-demo.journal");
  const refused = await execute(plan, handlers, { journalPath });
  console.log(`   -> ${refused.isErr() ? refused.error.code : "ran?!"}`);
  console.log("   …then with the digest the user accepted:");
  let lastPercent = -1;
  const onProgress = (e: ExecutorEvent) => {
    if (e.type === "step-started")
      console.log(`   [${e.stepIndex + 1}/${e.totalSteps}] ${e.title}`);
    else if (e.type === "step-progress" && e.bytesTotal) {
      const percent = Math.floor((e.bytesDone / e.bytesTotal) * 100);
      if (percent % 25 === 0 && percent !== lastPercent) {
        lastPercent = percent;
        console.log(`         ${percent}% (${e.bytesDone / MiB} MiB)`);
      }
    } else if (e.type === "step-finished") console.log(`         done in ${e.durationMs} ms`);
    else if (e.type === "plan-finished") console.log(`   plan finished in ${e.durationMs} ms`);
    else if (e.type === "plan-failed") console.log(`   plan failed: ${e.error.code}`);
  };
  const run = await execute(plan, handlers, {
    confirm: plan.digest,
    journalPath,
    onProgress,
    signal: abort.signal,
  });
  if (run.isErr()) throw new Error(formatError(run.error));
  const again = await execute(plan, handlers, { confirm: plan.digest, journalPath });
  console.log(
    `   run again: ${again.isOk() && again.value.alreadyDone ? "journal says done, nothing re-run" : "?"}`,
  );
  console.log(
    `   subvolumes now: ${(await must("btrfs", ["subvolume", "list", "-o", mnt]))
      .split("\n")
      .map((l) => l.split(" ").at(-1))
      .join(", ")}`,
  );
}

main()
  .then(async () => {
    console.log("\n4. Clean-up");
    await cleanup();
    console.log("Demo finished.");
  })
  .catch(async (e) => {
    console.error(`Demo failed: ${e instanceof Error ? e.message : e}`);
    console.log("Clean-up after failure:");
    await cleanup();
    process.exit(interrupted ? 130 : 1);
  });
