/**
 * `lifeboat --via-service …`: the commands that lifeboatd offers, run through
 * it instead of in this process, with the same text and `--json` documents
 * and exit codes. The service opens whole-disk block devices only
 * (`--disk /dev/…`) and authorizes every call with polkit, so these work
 * without root.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ExecutionSummary, ExecutorEvent, LifeboatError, Plan } from "@lifeboat/core";
import { type CheckpointManifest, type SystemState, stampOf } from "@lifeboat/reset";
import type { ResultAsync } from "neverthrow";
import pc from "picocolors";
import { checkpointCreated } from "./checkpoint-created.js";
import { renderState } from "./commands/inspect.js";
import { type CliContext, fail, succeed } from "./context.js";
import type { ExitCodeValue } from "./exit-codes.js";
import { executorProgress, runPlan } from "./run-plan.js";
import { formatDuration } from "./ui/format.js";
import { renderPlan } from "./ui/plan-render.js";
import {
  type JobOutcome,
  jobResult,
  progressAdapter,
  type ServiceConnection,
  withService,
} from "./via-service.js";

/** The options the routed commands share. */
export interface ViaServiceOptions {
  readonly disk?: string;
  readonly top?: string;
  readonly boot?: string;
  readonly recoveryRoot?: string;
  readonly mode?: string;
  readonly stamp?: string;
  readonly checkpoint?: string;
  readonly out?: string;
  readonly yes?: boolean;
  readonly confirm?: string;
  readonly dryRun?: boolean;
  readonly name?: string;
  readonly reason?: string;
  readonly trustedKey?: string[];
  readonly allowRollback?: string;
  readonly to?: string;
  readonly path?: string[];
  readonly format?: "tree" | "send-stream";
}

/** The commands `--via-service` routes to lifeboatd; any other is refused with `CLI_USAGE`. */
export const VIA_SERVICE_COMMANDS: ReadonlySet<string> = new Set([
  "inspect",
  "plan",
  "apply",
  "resume",
  "abandon",
  "checkpoint create",
  "checkpoint rollback",
  "reset schedule",
  "reset unschedule",
  "rescue",
  "image install",
]);

/** The request modes lifeboatd plans and applies. */
const SERVICE_MODES = [
  "reset-keep-home",
  "reset-from-recovery",
  "full-restore",
  "cleanup",
  "rollback",
  "undo-reset",
] as const;

function usage(ctx: CliContext, command: string, message: string): ExitCodeValue {
  return fail(ctx, command, { code: "CLI_USAGE", message });
}

/** The disk to name to the service, or a usage failure: the service opens block devices only. */
function diskOf(ctx: CliContext, command: string, opts: ViaServiceOptions): string | ExitCodeValue {
  if (opts.top || opts.boot || opts.recoveryRoot)
    return usage(
      ctx,
      command,
      "--via-service takes --disk <block device> (lifeboatd mounts it itself), not --top/--boot/--recovery-root",
    );
  if (opts.trustedKey?.length)
    return usage(
      ctx,
      command,
      "--via-service uses lifeboatd's trusted keys (its --trusted-key), not the caller's",
    );
  if (!opts.disk) return usage(ctx, command, "give --disk <block device>");
  return opts.disk;
}

/** The request JSON of `--mode`/`--stamp`/`--checkpoint`, or a usage failure. */
function requestOf(
  ctx: CliContext,
  command: string,
  opts: ViaServiceOptions,
): string | ExitCodeValue {
  const kind = opts.mode ?? "reset-keep-home";
  if (!(SERVICE_MODES as readonly string[]).includes(kind))
    return usage(
      ctx,
      command,
      `--via-service offers --mode ${SERVICE_MODES.join(", ")} (rescue and --allow-rollback need this process's mounts: run without --via-service)`,
    );
  if (opts.allowRollback !== undefined || opts.to)
    return usage(ctx, command, "--allow-rollback and --to are not offered with --via-service");
  const stamp = opts.stamp ?? stampOf(new Date());
  if (kind === "cleanup") return JSON.stringify({ kind });
  if (kind === "rollback")
    return JSON.stringify({ kind, stamp, checkpoint: opts.checkpoint ?? "" });
  return JSON.stringify({ kind, stamp });
}

/**
 * Follow a job to its end; Ctrl-C (`signal`) asks lifeboatd to `Cancel` it,
 * as an in-process run stops, and the job then ends with `ABORTED`.
 */
function followCancellable(
  c: ServiceConnection,
  job: string,
  signal: AbortSignal,
  onProgress: (e: ExecutorEvent) => void,
  plan?: Plan,
): ResultAsync<JobOutcome, LifeboatError> {
  const cancel = () => void c.call("Cancel", "o", [job]);
  if (signal.aborted) cancel();
  else signal.addEventListener("abort", cancel, { once: true });
  return c
    .followJob(job, progressAdapter(onProgress, plan))
    .map((o) => {
      signal.removeEventListener("abort", cancel);
      return o;
    })
    .mapErr((e) => {
      signal.removeEventListener("abort", cancel);
      return e;
    });
}

/** `lifeboat --via-service inspect --disk /dev/…`. */
export async function inspectViaService(
  ctx: CliContext,
  opts: ViaServiceOptions,
): Promise<ExitCodeValue> {
  const disk = diskOf(ctx, "inspect", opts);
  if (typeof disk !== "string") return disk;
  const r = await withService((c) => c.call("Inspect", "s", [disk]));
  if (r.isErr()) return fail(ctx, "inspect", r.error);
  const state = JSON.parse(String(r.value[0])) as SystemState;
  // The service answers with the state; the disk's drawing needs the GPT read here, as root.
  return succeed(ctx, "inspect", { disk: null, state }, (d) => renderState(d.state, undefined));
}

/** `lifeboat --via-service plan --disk /dev/… [--mode …] [--stamp …]`. */
export async function planViaService(
  ctx: CliContext,
  opts: ViaServiceOptions,
): Promise<ExitCodeValue> {
  const disk = diskOf(ctx, "plan", opts);
  if (typeof disk !== "string") return disk;
  const request = requestOf(ctx, "plan", opts);
  if (typeof request !== "string") return request;
  const r = await withService((c) => c.call("Plan", "ss", [disk, request]));
  if (r.isErr()) return fail(ctx, "plan", r.error);
  const plan = JSON.parse(String(r.value[0])) as Plan;
  if (opts.out) await writeFile(opts.out, `${JSON.stringify(plan, null, 2)}\n`);
  const stamp = (JSON.parse(request) as { stamp?: string }).stamp ?? "<stamp>";
  return succeed(ctx, "plan", { plan, digest: plan.digest, savedTo: opts.out ?? null }, (d) =>
    [
      renderPlan(d.plan),
      "",
      `Digest: ${pc.bold(d.digest)}`,
      pc.dim(
        `Run it: lifeboat --via-service apply --disk ${disk} --mode ${plan.kind} --stamp ${stamp} (type the word, or --yes --confirm ${d.digest})`,
      ),
    ].join("\n"),
  );
}

/**
 * `lifeboat --via-service apply --disk /dev/… --mode … --stamp …`: the plan
 * is made by lifeboatd, confirmed here as in-process (typed word, or `--yes
 * --confirm <digest>`), and applied by lifeboatd, which plans again and runs
 * only the plan with that digest.
 */
export async function applyViaService(
  ctx: CliContext,
  planFile: string | undefined,
  opts: ViaServiceOptions,
): Promise<ExitCodeValue> {
  if (planFile)
    return usage(
      ctx,
      "apply",
      "--via-service applies --mode/--stamp (lifeboatd plans them again), not a plan file",
    );
  const disk = diskOf(ctx, "apply", opts);
  if (typeof disk !== "string") return disk;
  const request = requestOf(ctx, "apply", opts);
  if (typeof request !== "string") return request;
  return applyRequest(ctx, "apply", disk, request, opts, (kind) =>
    kind === "full-restore" ? "ERASE" : "RESET",
  );
}

/** Plan `request` in lifeboatd, confirm it here as in process, apply it in lifeboatd with the digest. */
function applyRequest(
  ctx: CliContext,
  command: string,
  disk: string,
  request: string,
  opts: ViaServiceOptions,
  wordFor: (kind: string) => string,
): Promise<ExitCodeValue> {
  return planAndRun(ctx, command, disk, opts, {
    plan: ["Plan", "ss", [disk, request]],
    run: ["Apply", "sss", [disk, request]],
    word: wordFor,
  });
}

/** A lifeboatd method and its arguments: `[member, signature, body]`. */
type ServiceCall = readonly [member: string, signature: string, body: readonly string[]];

/**
 * Make the plan with `calls.plan` in lifeboatd, show and confirm it here as
 * in process (typed word, or `--yes --confirm <digest>`), then start
 * `calls.run` with the confirmed digest as its last argument and follow its
 * job (Ctrl-C cancels it).
 */
async function planAndRun(
  ctx: CliContext,
  command: string,
  disk: string,
  opts: ViaServiceOptions,
  calls: {
    readonly plan: ServiceCall;
    readonly run: ServiceCall;
    readonly word: (kind: string) => string;
  },
): Promise<ExitCodeValue> {
  const planned = await withService((c) => c.call(...calls.plan));
  if (planned.isErr()) return fail(ctx, command, planned.error);
  const plan = JSON.parse(String(planned.value[0])) as Plan;
  const [member, signature, body] = calls.run;
  return runPlan(
    ctx,
    plan,
    {},
    {
      command,
      journalPath: `the Btrfs of ${disk} (kept by lifeboatd)`,
      word: calls.word(plan.kind),
      target: {
        args: `--via-service --disk ${disk}`,
        journalWhere: `on the Btrfs of ${disk}`,
      },
      ...(opts.yes ? { yes: true } : {}),
      ...(opts.confirm ? { confirm: opts.confirm } : {}),
      ...(opts.dryRun ? { dryRun: true } : {}),
      executeWith: ({ confirm, onProgress, signal }) =>
        withService((c) =>
          c
            .call(member, signature, [...body, confirm ?? plan.digest])
            .andThen(([job]) => followCancellable(c, String(job), signal, onProgress, plan))
            .andThen((o) => jobResult<ExecutionSummary>(o)),
        ),
    },
  );
}

/** `lifeboat --via-service checkpoint rollback <id> --disk /dev/… [--stamp …]`: the `rollback` request. */
export async function checkpointRollbackViaService(
  ctx: CliContext,
  id: string,
  opts: ViaServiceOptions,
): Promise<ExitCodeValue> {
  const command = "checkpoint rollback";
  const disk = diskOf(ctx, command, opts);
  if (typeof disk !== "string") return disk;
  const request = JSON.stringify({
    kind: "rollback",
    stamp: opts.stamp ?? stampOf(new Date()),
    checkpoint: id,
  });
  return applyRequest(ctx, command, disk, request, opts, () => "ROLLBACK");
}

/** `lifeboat --via-service resume --disk /dev/…`. */
export async function resumeViaService(
  ctx: CliContext,
  opts: ViaServiceOptions,
): Promise<ExitCodeValue> {
  const disk = diskOf(ctx, "resume", opts);
  if (typeof disk !== "string") return disk;
  const progress = executorProgress(ctx);
  const started = Date.now();
  const r = await withService((c) =>
    c
      .call("Resume", "s", [disk])
      .andThen(([job]) => followCancellable(c, String(job), ctx.signal, progress.onProgress))
      .andThen((o) => jobResult<ExecutionSummary>(o)),
  );
  progress.stop();
  if (r.isErr()) return fail(ctx, "resume", r.error);
  return succeed(ctx, "resume", { summary: r.value, durationMs: Date.now() - started }, (d) =>
    d.summary.alreadyDone
      ? "Nothing to resume: the last plan had finished."
      : pc.green(`Resumed and finished in ${formatDuration(d.durationMs)}.`),
  );
}

/** What `abandon` prints: the document of {@link abandonViaService}, as in process. */
export interface AbandonedData {
  readonly planDigest?: string;
  readonly removed: readonly string[];
  readonly archivedAs?: string;
}

/**
 * `lifeboat --via-service abandon --disk /dev/…`: lifeboatd's `Abandon`, the
 * same document as in process (`RESET_CANNOT_ABANDON` past the swap).
 */
export async function abandonViaService(
  ctx: CliContext,
  opts: ViaServiceOptions,
  human: (d: AbandonedData) => string,
): Promise<ExitCodeValue> {
  const disk = diskOf(ctx, "abandon", opts);
  if (typeof disk !== "string") return disk;
  const r = await withService((c) => c.call("Abandon", "s", [disk]));
  if (r.isErr()) return fail(ctx, "abandon", r.error);
  const a = JSON.parse(String(r.value[0])) as {
    planDigest: string | null;
    removed: string[];
    archivedAs: string | null;
  };
  const data: AbandonedData = {
    ...(a.planDigest === null ? {} : { planDigest: a.planDigest }),
    removed: a.removed,
    ...(a.archivedAs === null ? {} : { archivedAs: a.archivedAs }),
  };
  return succeed(ctx, "abandon", data, human);
}

/** `lifeboat --via-service checkpoint create --disk /dev/… --reason … [--name …]`. */
export async function checkpointCreateViaService(
  ctx: CliContext,
  opts: ViaServiceOptions,
): Promise<ExitCodeValue> {
  const command = "checkpoint create";
  if (!opts.reason) return usage(ctx, command, 'give --reason "<why>"');
  const disk = diskOf(ctx, command, opts);
  if (typeof disk !== "string") return disk;
  const r = await withService((c) =>
    c.call("CheckpointCreate", "sss", [disk, opts.name ?? "", opts.reason ?? ""]),
  );
  if (r.isErr()) return fail(ctx, command, r.error);
  return checkpointCreated(ctx, command, JSON.parse(String(r.value[0])) as CheckpointManifest);
}

/**
 * `lifeboat --via-service rescue --disk /dev/… --to /dev/sdb1 [--path …]
 * [--format …] [--stamp …]`: with lifeboatd, `--to` is the target's block
 * device, which lifeboatd mounts itself (`PlanRescue`); confirmed here as in
 * process, run by `Rescue` with the plan's digest.
 */
export async function rescueViaService(
  ctx: CliContext,
  opts: ViaServiceOptions,
): Promise<ExitCodeValue> {
  const command = "rescue";
  const disk = diskOf(ctx, command, opts);
  if (typeof disk !== "string") return disk;
  if (!opts.to?.startsWith("/dev/"))
    return usage(
      ctx,
      command,
      "with --via-service, --to is the target's block device (/dev/sdb1): lifeboatd mounts it itself",
    );
  const device = opts.to;
  const options = JSON.stringify({
    stamp: opts.stamp ?? stampOf(new Date()),
    ...(opts.path?.length ? { paths: opts.path } : {}),
    ...(opts.format ? { format: opts.format } : {}),
  });
  return planAndRun(ctx, command, disk, opts, {
    plan: ["PlanRescue", "sss", [disk, device, options]],
    run: ["Rescue", "ssss", [disk, device, options]],
    word: () => "RESET",
  });
}

/**
 * `lifeboat --via-service image install <dir> --disk /dev/…`: lifeboatd's
 * `Update` with the SHA-256 of `<dir>/manifest.json` as read here: lifeboatd
 * copies the set into its own staging directory, verifies that copy with its
 * own trusted keys and installs it only when its digest is this one.
 */
export async function imageInstallViaService(
  ctx: CliContext,
  dir: string,
  opts: ViaServiceOptions,
): Promise<ExitCodeValue> {
  const command = "image install";
  const disk = diskOf(ctx, command, opts);
  if (typeof disk !== "string") return disk;
  if (opts.allowRollback !== undefined)
    return usage(ctx, command, "--allow-rollback is not offered with --via-service");
  const directory = path.resolve(dir);
  let manifest: Buffer;
  try {
    manifest = await readFile(path.join(directory, "manifest.json"));
  } catch (e) {
    return fail(ctx, command, {
      code: "IMAGE_FILE_MISSING",
      message: `Cannot read ${path.join(directory, "manifest.json")}: ${(e as Error).message}. Nothing was changed.`,
      file: "manifest.json",
    } as LifeboatError);
  }
  const digest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
  const progress = executorProgress(ctx);
  const r = await withService((c) =>
    c
      .call("Update", "sss", [disk, directory, digest])
      .andThen(([job]) => followCancellable(c, String(job), ctx.signal, progress.onProgress))
      .andThen((o) =>
        jobResult<{ setId: string; previousSetId: string | null; securityEpoch: number }>(o),
      ),
  );
  progress.stop();
  if (r.isErr()) return fail(ctx, command, r.error);
  return succeed(
    ctx,
    command,
    {
      setId: r.value.setId,
      previousSetId: r.value.previousSetId ?? null,
      device: null,
      securityEpoch: r.value.securityEpoch,
      rollback: null,
    },
    (d) =>
      `${pc.green("✓ installed")} ${d.setId} on the recovery partition${d.previousSetId ? ` (replaced ${d.previousSetId})` : ""}`,
  );
}
