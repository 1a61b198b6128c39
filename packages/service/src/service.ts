import { Message, type MessageBus } from "@jellybrick/dbus-next";
import {
  type ExecutorEvent,
  isLifeboatError,
  type LifeboatError,
  type LockHeldError,
  lifeboatError,
  type Plan,
} from "@lifeboat/core";
import {
  abandonReset,
  createCheckpoint,
  executeReset,
  plan as makePlan,
  openMachine,
  planPrune,
  resumeReset,
} from "@lifeboat/reset";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { dbusErrorName } from "./errors.js";
import { Job } from "./job.js";
import { type MachineAccess, type OpenedMachine, openAndInspect, withMachine } from "./machine.js";
import { ManagerInterface } from "./manager.js";
import {
  JOBS_PATH,
  MANAGER_INTERFACE,
  OBJECT_PATH,
  POLKIT_ACTIONS,
  type PolkitAction,
} from "./names.js";
import { planValue } from "./plan-value.js";
import { ALLOW_INTERACTIVE_AUTHORIZATION, checkAuthorization } from "./polkit.js";
import { parseRequest, resolveDisk, type ServiceRequest } from "./request.js";
import {
  type MountedTarget,
  mountTarget,
  parseRescueOptions,
  planRescueOn,
  resolveTargetDevice,
} from "./rescue.js";
import {
  parseScheduleRequest,
  scheduledOnDisk,
  scheduleOnDisk,
  unscheduleOnDisk,
} from "./schedule.js";
import { checkUpdateArguments, updateRecovery } from "./update.js";
import { verifyRecovery } from "./verify.js";

/** Options of {@link startService}. */
export interface ServiceOptions extends MachineAccess {
  /** A connection to the system bus (see `systemBus()` of `@jellybrick/dbus-next`). */
  readonly bus: MessageBus;
  /** The most bytes an image set given to `Update` may have (default 8 GiB; it is staged in the run directory). */
  readonly updateMaxBytes?: number;
  /** Finished jobs kept on the bus for late readers (default 16); the oldest go first. */
  readonly keepFinishedJobs?: number;
}

/** A running service: its jobs, and how to stop it. */
export interface RunningService {
  /** The job objects on the bus, by object path. */
  readonly jobs: ReadonlyMap<string, Job>;
  /** Resolves when no job is running. */
  idle(): Promise<void>;
  /** Take the objects off the bus (running jobs run on; await {@link RunningService.idle}). */
  stop(): void;
}

type Reply = { readonly signature: string; readonly body: unknown[] };

interface MethodSpec {
  readonly inSignature: string;
  readonly action: PolkitAction;
  readonly run: (args: string[]) => ResultAsync<Reply, LifeboatError>;
}

const MAX_TEXT = 4096;

function badArgument(argument: string, message: string): LifeboatError {
  return lifeboatError("INVALID_ARGUMENT", `${message} Nothing was changed.`, { argument });
}

function busy(disk: string, what: string): LockHeldError {
  return {
    code: "LOCK_HELD",
    message: `${disk} is busy (${what} is running on it): one action at a time per disk. Nothing was changed.`,
    lockPath: disk,
    holderPid: process.pid,
  };
}

function asLifeboatError(e: unknown): LifeboatError {
  if (isLifeboatError(e)) return e;
  return lifeboatError("SERVICE_FAILED", e instanceof Error ? e.message : String(e), {});
}

/** JSON of SDK values (sizes may be bigints). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

/**
 * Put Lifeboat on the bus: `org.lifeboat.Lifeboat1.Manager` at
 * `/org/lifeboat/Lifeboat1` (call `bus.requestName("org.lifeboat.Lifeboat1")`
 * after it). Every call is authorized with polkit first, with the caller's
 * bus name as the subject, before anything is read or opened: `Inspect` needs
 * `org.lifeboat.Lifeboat1.read`, `Plan` `…plan`, `Apply` and `Resume` `…act`,
 * `Abandon` (give up a run left unfinished before it replaced anything) `…act`,
 * `Schedule` and `Unschedule` (a reset at the disk's next boot) `…schedule`,
 * `ScheduledReset` `…read`, `PlanRescue` `…plan` and `Rescue` (home copied
 * to a device the service mounts) `…act`, `Update` (a new recovery image set,
 * staged into the service's own directory before it is verified) `…update`. `Apply`
 * plans the request again on the disk and runs it only when the plan's digest
 * is the one the caller gives; it answers with a job object at once and the
 * job runs on without the caller. `Resume` finishes the plan a killed run left
 * unfinished, from its journal on the disk, as a job too; `Abandon` instead
 * removes what such a run made, when it had not yet passed its point of no
 * return (else `RESET_CANNOT_ABANDON`). One action at a time per disk: another gets
 * `org.lifeboat.Lifeboat1.Error.LOCK_HELD`. Every error is a D-Bus error named
 * `org.lifeboat.Lifeboat1.Error.<Lifeboat code>`.
 *
 * @example
 * ```ts
 * import { systemBus } from "@jellybrick/dbus-next";
 * const bus = systemBus();
 * const service = startService({ bus, runner: createExecaRunner(), trustedKeys: [oemKey] });
 * await bus.requestName(BUS_NAME, 0x4); // DBUS_NAME_FLAG_DO_NOT_QUEUE
 * process.on("SIGTERM", async () => { service.stop(); await service.idle(); bus.disconnect(); });
 * ```
 */
export function startService(options: ServiceOptions): RunningService {
  const { bus } = options;
  const keep = options.keepFinishedJobs ?? 16;
  const jobs = new Map<string, Job>();
  /** What holds each disk (resolved path): one action at a time. */
  const held = new Map<string, string>();
  const running = new Set<Promise<void>>();
  let nextJob = 1;
  let stopped = false;

  /** Hold `disk` for `what` while `body` runs (checked and taken with no await in between). */
  function holding<T>(
    disk: string,
    what: string,
    body: () => ResultAsync<T, LifeboatError>,
  ): ResultAsync<T, LifeboatError> {
    const holder = held.get(disk);
    if (holder !== undefined) return errAsync(busy(disk, holder));
    held.set(disk, what);
    // A job that started took the disk over (its own entry): left to the job.
    const release = () => {
      if (held.get(disk) === what) held.delete(disk);
    };
    return body()
      .map((v) => {
        release();
        return v;
      })
      .mapErr((e) => {
        release();
        return e;
      });
  }

  function request(args: string[], index: number): ResultAsync<ServiceRequest, LifeboatError> {
    const r = parseRequest(args[index] ?? "");
    return r.isOk() ? okAsync(r.value) : errAsync(r.error);
  }

  function planOn(m: OpenedMachine, req: ServiceRequest): ResultAsync<Plan, LifeboatError> {
    const p =
      req.kind === "checkpoint-prune"
        ? planPrune(m.state, {
            ...(req.keepLast === undefined ? {} : { keepLast: req.keepLast }),
            ...(req.ids === undefined ? {} : { ids: req.ids }),
          }).map((pp) => pp.plan)
        : makePlan(m.state, req);
    return p.isOk() ? okAsync(p.value) : errAsync(p.error);
  }

  /** The caller's disk resolved to a block device, held for `what` while `body` runs. */
  function onDisk<T>(
    disk: string | undefined,
    what: string,
    body: (d: string) => ResultAsync<T, LifeboatError>,
  ): ResultAsync<T, LifeboatError> {
    return resolveDisk(disk ?? "").andThen((d) => holding(d, what, () => body(d)));
  }

  /** `Plan` and `PlanDetails`: the request of `args[1]` planned on the disk of `args[0]`, answered by `reply`. */
  function planned(args: string[], reply: (p: Plan) => Reply): ResultAsync<Reply, LifeboatError> {
    return onDisk(args[0], "Plan", (d) =>
      request(args, 1).andThen((req) =>
        withMachine(options, d, {}, (m) => planOn(m, req).map(reply)),
      ),
    );
  }

  /** The plan, only when its digest is the caller's `digest`. */
  function matching(d: string, digest: string): (p: Plan) => ResultAsync<Plan, LifeboatError> {
    return (p) =>
      p.digest === digest
        ? okAsync(p)
        : errAsync<Plan, LifeboatError>({
            code: "CONFIRMATION_MISMATCH",
            message: `The plan on ${d} now has digest ${p.digest}, not ${digest.slice(0, 100)}: plan again and check what it does. Nothing was changed.`,
            planDigest: p.digest,
            given: digest.slice(0, 100),
          } as LifeboatError);
  }

  /** The plan of `req` on the opened disk, only when its digest is the caller's `digest`. */
  function confirmed(
    m: OpenedMachine,
    d: string,
    req: ServiceRequest,
    digest: string,
  ): ResultAsync<Plan, LifeboatError> {
    return planOn(m, req).andThen(matching(d, digest));
  }

  /**
   * The rescue target named by `device`, mounted while `body` runs on the
   * opened disk; `body` gets a closer that unmounts it and closes the disk
   * (called by `body` on failure, or by the job it starts).
   */
  function withTarget<T>(
    d: string,
    device: string | undefined,
    body: (
      m: OpenedMachine,
      target: MountedTarget,
      opened: { readonly machine: { close(): Promise<void> } },
    ) => ResultAsync<T, LifeboatError>,
  ): ResultAsync<T, LifeboatError> {
    return resolveTargetDevice(device ?? "", d).andThen((dev) =>
      openAndInspect(options, d).andThen((m) =>
        mountTarget(options, dev)
          .orElse(closing<MountedTarget>(m))
          .andThen((target) => {
            const opened = {
              machine: {
                close: async () => {
                  await target.release();
                  await m.machine.close();
                },
              },
            };
            return body(m, target, opened).orElse((e) =>
              ResultAsync.fromSafePromise(opened.machine.close()).andThen(() =>
                errAsync<T, LifeboatError>(e),
              ),
            );
          }),
      ),
    );
  }

  /** Close the opened disk after a failure before the job started, and pass the error on. */
  function closing<T>(m: OpenedMachine): (e: LifeboatError) => ResultAsync<T, LifeboatError> {
    return (e) =>
      ResultAsync.fromSafePromise(m.machine.close()).andThen(() => errAsync<T, LifeboatError>(e));
  }

  function pruneJobs(): void {
    const finished = [...jobs].filter(([, j]) => j.finishedAt !== undefined);
    for (const [path] of finished.slice(0, Math.max(0, finished.length - keep))) {
      bus.unexport(path);
      jobs.delete(path);
    }
  }

  /** Export a job object for `work` on the opened disk and start it right after the reply. */
  function startJob(
    m: { readonly machine: { close(): Promise<void> } },
    disk: string,
    what: { readonly digest: string; readonly kind: string },
    work: (
      onProgress: (e: ExecutorEvent) => void,
      signal: AbortSignal,
    ) => ResultAsync<unknown, LifeboatError>,
  ): string {
    const job = new Job(disk, what.digest, what.kind);
    const path = `${JOBS_PATH}/${nextJob++}`;
    jobs.set(path, job);
    bus.export(path, job);
    held.set(disk, `job ${path}`);
    const run = (async () => {
      // The reply with the job's path goes out first; the caller may subscribe meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
      let outcome: { readonly result: unknown } | { readonly error: LifeboatError };
      try {
        const r = await work((e) => job.report(e), job.abort.signal);
        outcome = r.isOk() ? { result: r.value } : { error: r.error };
      } catch (e) {
        outcome = { error: asLifeboatError(e) };
      }
      // Finished says the disk is free again: closed and released first.
      await m.machine.close().catch(() => undefined);
      held.delete(disk);
      job.finish(outcome);
      pruneJobs();
    })();
    running.add(run);
    void run.finally(() => running.delete(run));
    return path;
  }

  const methods: Record<string, MethodSpec> = {
    Inspect: {
      inSignature: "s",
      action: POLKIT_ACTIONS.read,
      run: ([disk]) =>
        onDisk(disk, "Inspect", (d) =>
          withMachine(options, d, {}, (m) => okAsync({ signature: "s", body: [toJson(m.state)] })),
        ),
    },
    Plan: {
      inSignature: "ss",
      action: POLKIT_ACTIONS.plan,
      run: (args) => planned(args, (p) => ({ signature: "ss", body: [toJson(p), p.digest] })),
    },
    PlanDetails: {
      inSignature: "ss",
      action: POLKIT_ACTIONS.plan,
      run: (args) =>
        planned(args, (p) => ({ signature: "a{sv}ss", body: [planValue(p), toJson(p), p.digest] })),
    },
    Apply: {
      inSignature: "sss",
      action: POLKIT_ACTIONS.act,
      run: (args) => {
        const digest = args[2] ?? "";
        return onDisk(args[0], "Apply", (d) =>
          request(args, 1).andThen((req) =>
            openAndInspect(options, d).andThen((m) =>
              confirmed(m, d, req, digest)
                .orElse(closing<Plan>(m))
                .map((p) => ({
                  signature: "o",
                  body: [
                    startJob(m, d, p, (onProgress, signal) =>
                      executeReset(m.env, p, { confirm: digest, onProgress, signal }),
                    ),
                  ],
                })),
            ),
          ),
        );
      },
    },
    PlanRescue: {
      inSignature: "sss",
      action: POLKIT_ACTIONS.plan,
      run: ([disk, device, text]) => {
        const o = parseRescueOptions(text ?? "");
        if (o.isErr()) return errAsync(o.error);
        return onDisk(disk, "PlanRescue", (d) =>
          withTarget(d, device, (m, target, opened) =>
            planRescueOn(m, target, o.value).andThen((p) =>
              ResultAsync.fromSafePromise(opened.machine.close()).map(() => ({
                signature: "ss",
                body: [toJson(p), p.digest],
              })),
            ),
          ),
        );
      },
    },
    Rescue: {
      inSignature: "ssss",
      action: POLKIT_ACTIONS.act,
      run: ([disk, device, text, digest]) => {
        const o = parseRescueOptions(text ?? "");
        if (o.isErr()) return errAsync(o.error);
        return onDisk(disk, "Rescue", (d) =>
          withTarget(d, device, (m, target, opened) =>
            planRescueOn(m, target, o.value)
              .andThen(matching(d, digest ?? ""))
              .map((p) => ({
                signature: "o",
                body: [
                  startJob(opened, d, p, (onProgress, signal) =>
                    executeReset(m.env, p, { confirm: p.digest, onProgress, signal }),
                  ),
                ],
              })),
          ),
        );
      },
    },
    Update: {
      inSignature: "sss",
      action: POLKIT_ACTIONS.update,
      run: ([disk, directory, digest]) => {
        const bad = checkUpdateArguments(directory ?? "", digest ?? "");
        if (bad !== undefined) return errAsync(bad);
        return onDisk(disk, "Update", (d) =>
          openMachine(options.runner, {
            disk: d,
            recoveryWritable: true,
            ...(options.runDirectory ? { runDirectory: options.runDirectory } : {}),
          }).map((machine) => ({
            signature: "o",
            body: [
              startJob(
                { machine },
                d,
                { digest: digest ?? "", kind: "update" },
                (onProgress, signal) =>
                  updateRecovery(
                    options,
                    machine,
                    directory ?? "",
                    digest ?? "",
                    signal,
                    onProgress,
                  ),
              ),
            ],
          })),
        );
      },
    },
    Resume: {
      inSignature: "s",
      action: POLKIT_ACTIONS.act,
      run: ([disk]) =>
        onDisk(disk, "Resume", (d) =>
          openAndInspect(options, d, { measureSizes: false }).map((m) => {
            const u = m.state.unfinishedPlan;
            const what = { digest: u?.digest ?? "", kind: u?.kind ?? "" };
            return {
              signature: "o",
              body: [
                startJob(m, d, what, (onProgress, signal) =>
                  resumeReset(m.env, { onProgress, signal }),
                ),
              ],
            };
          }),
        ),
    },
    Abandon: {
      inSignature: "s",
      action: POLKIT_ACTIONS.act,
      run: ([disk]) =>
        onDisk(disk, "Abandon", (d) =>
          withMachine(options, d, { measureSizes: false }, (m) =>
            abandonReset(m.env).map((summary) => ({
              signature: "s",
              body: [
                toJson({
                  planDigest: summary.planDigest ?? null,
                  removed: summary.removed,
                  archivedAs: summary.archivedAs ?? null,
                }),
              ],
            })),
          ),
        ),
    },
    Cancel: {
      inSignature: "o",
      action: POLKIT_ACTIONS.act,
      run: ([path]) => {
        const job = jobs.get(path ?? "");
        if (job === undefined)
          return errAsync(
            lifeboatError(
              "SERVICE_NO_SUCH_JOB",
              `There is no job ${JSON.stringify((path ?? "").slice(0, 200))} (finished jobs are kept for a while, then removed). Nothing was changed.`,
              { job: (path ?? "").slice(0, 200) },
            ),
          );
        return okAsync({ signature: "b", body: [job.cancel()] });
      },
    },
    Verify: {
      inSignature: "s",
      action: POLKIT_ACTIONS.read,
      run: ([disk]) =>
        onDisk(disk, "Verify", (d) =>
          openMachine(options.runner, {
            disk: d,
            ...(options.runDirectory ? { runDirectory: options.runDirectory } : {}),
          }).map((machine) => ({
            signature: "o",
            body: [
              startJob({ machine }, d, { digest: "", kind: "verify" }, (onProgress, signal) =>
                verifyRecovery(options, machine, signal, onProgress),
              ),
            ],
          })),
        ),
    },
    CheckpointCreate: {
      inSignature: "sss",
      action: POLKIT_ACTIONS.act,
      run: ([disk, name, reason]) => {
        if ((name ?? "").length > 255)
          return errAsync(badArgument("name", "The name is too long."));
        if ((reason ?? "").length === 0 || (reason ?? "").length > MAX_TEXT)
          return errAsync(badArgument("reason", `Give a reason of 1 to ${MAX_TEXT} characters.`));
        return onDisk(disk, "CheckpointCreate", (d) =>
          withMachine(options, d, { measureSizes: false }, (m) => {
            const { top, boot } = m.machine;
            if (top === undefined || boot === undefined)
              return errAsync<Reply, LifeboatError>({
                code: "PRECONDITION_FAILED",
                message: `${d} has no Btrfs top level and /boot Lifeboat can open. Nothing was changed.`,
              } as LifeboatError);
            return createCheckpoint(
              options.runner,
              { top, boot },
              { reason: reason ?? "", ...(name ? { name } : {}) },
            ).map((cp) => ({ signature: "s", body: [toJson(cp)] }));
          }),
        );
      },
    },
    Schedule: {
      inSignature: "ss",
      action: POLKIT_ACTIONS.schedule,
      run: ([disk, text]) => {
        const req = parseScheduleRequest(text ?? "");
        if (req.isErr()) return errAsync(req.error);
        return onDisk(disk, "Schedule", (d) =>
          scheduleOnDisk(options, d, req.value).map((r) => ({ signature: "s", body: [toJson(r)] })),
        );
      },
    },
    Unschedule: {
      inSignature: "s",
      action: POLKIT_ACTIONS.schedule,
      run: ([disk]) =>
        onDisk(disk, "Unschedule", (d) =>
          unscheduleOnDisk(options, d).map((removed) => ({ signature: "as", body: [removed] })),
        ),
    },
    ScheduledReset: {
      inSignature: "s",
      action: POLKIT_ACTIONS.read,
      run: ([disk]) =>
        onDisk(disk, "ScheduledReset", (d) =>
          scheduledOnDisk(options, d).map((r) => ({ signature: "s", body: [toJson(r)] })),
        ),
    },
  };

  function replyError(msg: Message, e: LifeboatError): void {
    bus.send(Message.newError(msg, dbusErrorName(e), e.message));
  }

  async function dispatch(msg: Message, spec: MethodSpec): Promise<void> {
    try {
      const allowed = await checkAuthorization(bus, {
        sender: msg.sender,
        action: spec.action,
        interactive: (msg.flags & ALLOW_INTERACTIVE_AUTHORIZATION) !== 0,
      });
      if (allowed.isErr()) return replyError(msg, allowed.error);
      const r = await spec.run(msg.body.map((a) => String(a)));
      if (r.isErr()) return replyError(msg, r.error);
      bus.send(Message.newMethodReturn(msg, r.value.signature, r.value.body));
    } catch (e) {
      replyError(msg, asLifeboatError(e));
    }
  }

  const handler = (msg: Message): boolean => {
    if (stopped || msg.path !== OBJECT_PATH) return false;
    if (msg.interface !== undefined && msg.interface !== MANAGER_INTERFACE) return false;
    const spec = Object.hasOwn(methods, msg.member) ? methods[msg.member] : undefined;
    if (spec === undefined) return false;
    if ((msg.signature ?? "") !== spec.inSignature) {
      bus.send(
        Message.newError(
          msg,
          "org.freedesktop.DBus.Error.InvalidArgs",
          `${msg.member} takes (${spec.inSignature}), not (${msg.signature ?? ""})`,
        ),
      );
      return true;
    }
    void dispatch(msg, spec);
    return true;
  };

  bus.addMethodHandler(handler);
  bus.export(OBJECT_PATH, new ManagerInterface());

  return {
    jobs,
    idle: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    stop: () => {
      stopped = true;
      bus.removeMethodHandler(handler);
      bus.unexport(OBJECT_PATH);
    },
  };
}
