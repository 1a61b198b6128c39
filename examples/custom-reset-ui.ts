/**
 * A custom reset front end on the SDK: open the machine -> inspect -> plan ->
 * show -> confirm -> execute with progress events -> (after a crash) resume.
 * Replace the `ui` object with your GTK, web or text UI.
 *
 * Run: sudo pnpm exec tsx examples/custom-reset-ui.ts /dev/nvme0n1   (or a disk image file)
 */
import {
  type CommandRunner,
  createExecaRunner,
  type ExecutorEvent,
  formatError,
  type Plan,
  planDataLoss,
} from "@lifeboat/core";
import {
  executeReset,
  inspectMachine,
  openMachine,
  plan,
  resumeReset,
  stampOf,
} from "@lifeboat/reset";

/** What a reset UI provides. */
export interface ResetUi {
  /** Show the plan; resolve to the digest the user accepted, or undefined to cancel. */
  confirm(plan: Plan, lines: string[]): Promise<string | undefined>;
  progress(event: ExecutorEvent): void;
}

/** Run "reset keeping /home" on a disk (a device or a disk image file). */
export async function resetWithUi(runner: CommandRunner, disk: string, ui: ResetUi) {
  // The disk is locked first: another process on it gets LOCK_HELD, never a second mount.
  const opened = await openMachine(runner, { disk });
  if (opened.isErr()) return { done: false, error: formatError(opened.error) };
  const machine = opened.value;
  try {
    const inspected = await inspectMachine(runner, machine, { measureSizes: false });
    if (inspected.isErr()) return { done: false, error: formatError(inspected.error) };
    const { state, env } = inspected.value;
    if (state.unfinishedPlan) {
      // Power loss or a crash mid-way: the journal on the disk says where; resume finishes it.
      const resumed = await resumeReset(env, { onProgress: ui.progress });
      if (resumed.isErr()) return { done: false, error: formatError(resumed.error) };
    }
    const p = plan(state, { kind: "reset-keep-home", stamp: stampOf(new Date()) });
    // RESET_NO_FACTORY_SNAPSHOT, RESET_TARGET_BUSY, … : explain and offer the recovery partition instead
    if (p.isErr()) return { done: false, error: `${p.error.code}: ${p.error.message}` };
    const lines = [
      ...p.value.steps.map((s, i) => `${i + 1}. ${s.title}`),
      ...planDataLoss(p.value).map((l) => `DESTROYS ${l.what}`),
    ];
    const accepted = await ui.confirm(p.value, lines);
    if (accepted === undefined) return { done: false, error: "cancelled" };
    const run = await executeReset(env, p.value, { confirm: accepted, onProgress: ui.progress });
    return run.isOk()
      ? { done: true, steps: run.value.ranStepIds.length }
      : { done: false, error: formatError(run.error) };
  } finally {
    await machine.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [disk] = process.argv.slice(2);
  if (!disk) {
    console.error("usage: custom-reset-ui.ts <disk>");
    process.exit(2);
  }
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const r = await resetWithUi(createExecaRunner(), disk, {
    async confirm(p, lines) {
      console.log(`${p.title}\n${lines.join("\n")}`);
      return (await rl.question("Type RESET to continue: ")) === "RESET" ? p.digest : undefined;
    },
    progress: (e) =>
      e.type === "step-started" && console.log(`[${e.stepIndex + 1}/${e.totalSteps}] ${e.title}`),
  });
  rl.close();
  console.log(r.done ? "reset done" : `not done: ${r.error}`);
}
