/**
 * A custom reset front end on the SDK: inspect -> plan -> show -> confirm
 * -> execute with progress events -> (after a crash) resume. Replace the
 * `ui` object with your GTK, web or text UI.
 *
 * Run: sudo pnpm exec tsx examples/custom-reset-ui.ts /mnt/top /mnt/boot
 * (the Btrfs top level, subvolid=5, and /boot, both mounted)
 */
import {
  type CommandRunner,
  createExecaRunner,
  type ExecutorEvent,
  formatError,
  type Plan,
  planDataLoss,
} from "@lifeboat/core";
import { executeReset, inspect, plan, resumeReset, stampOf } from "@lifeboat/reset";

/** What a reset UI provides. */
export interface ResetUi {
  /** Show the plan; resolve to the digest the user accepted, or undefined to cancel. */
  confirm(plan: Plan, lines: string[]): Promise<string | undefined>;
  progress(event: ExecutorEvent): void;
}

/** Run "reset keeping /home" on the machine whose Btrfs top level and /boot are mounted. */
export async function resetWithUi(
  runner: CommandRunner,
  where: { top: string; boot: string },
  ui: ResetUi,
) {
  const state = await inspect(runner, { top: where.top, boot: where.boot, measureSizes: false });
  if (state.isErr()) return { done: false, error: formatError(state.error) };
  const p = plan(state.value, { kind: "reset-keep-home", stamp: stampOf(new Date()) });
  // RESET_NO_FACTORY_SNAPSHOT, RESET_TARGET_BUSY, … : explain and offer the recovery partition instead
  if (p.isErr()) return { done: false, error: `${p.error.code}: ${p.error.message}` };
  const lines = [
    ...p.value.steps.map((s, i) => `${i + 1}. ${s.title}`),
    ...planDataLoss(p.value).map((l) => `DESTROYS ${l.what}`),
  ];
  const accepted = await ui.confirm(p.value, lines);
  if (accepted === undefined) return { done: false, error: "cancelled" };
  const env = { runner, top: where.top, boot: where.boot };
  const run = await executeReset(env, p.value, { confirm: accepted, onProgress: ui.progress });
  if (run.isOk()) return { done: true, steps: run.value.ranStepIds.length };
  // Power loss or a crash mid-way: the journal on the target says where; resume finishes it.
  const resumed = await resumeReset(env, { onProgress: ui.progress });
  return resumed.isOk()
    ? { done: true, steps: resumed.value.ranStepIds.length }
    : { done: false, error: formatError(run.error) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [top, boot] = process.argv.slice(2);
  if (!top || !boot) {
    console.error("usage: custom-reset-ui.ts <top> <boot>");
    process.exit(2);
  }
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const r = await resetWithUi(
    createExecaRunner(),
    { top, boot },
    {
      async confirm(p, lines) {
        console.log(`${p.title}\n${lines.join("\n")}`);
        return (await rl.question("Type RESET to continue: ")) === "RESET" ? p.digest : undefined;
      },
      progress: (e) =>
        e.type === "step-started" && console.log(`[${e.stepIndex + 1}/${e.totalSteps}] ${e.title}`),
    },
  );
  rl.close();
  console.log(r.done ? "reset done" : `not done: ${r.error}`);
}
