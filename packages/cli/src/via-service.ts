/**
 * The client side of `lifeboat --via-service`: one connection to lifeboatd
 * (`org.lifeboat.Lifeboat1` on the system bus, or the bus at
 * `LIFEBOAT_BUS_ADDRESS`), its method calls with D-Bus errors mapped back to
 * Lifeboat errors, and a job followed to its end through its signals.
 */
import { DBusError, Message, type MessageBus, sessionBus, systemBus } from "@jellybrick/dbus-next";
import type { ExecutorEvent, LifeboatError } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";

// The names of @lifeboat/service (packages/service/src/names.ts); a test checks they agree.
/** The bus name lifeboatd owns. */
export const SERVICE_BUS_NAME = "org.lifeboat.Lifeboat1";
/** The object with the Manager interface. */
export const SERVICE_OBJECT_PATH = "/org/lifeboat/Lifeboat1";
/** The Manager interface. */
export const SERVICE_MANAGER_INTERFACE = "org.lifeboat.Lifeboat1.Manager";
/** The interface of a job object. */
export const SERVICE_JOB_INTERFACE = "org.lifeboat.Lifeboat1.Job";
/** D-Bus error names of Lifeboat errors: this prefix and the code. */
export const SERVICE_ERROR_PREFIX = "org.lifeboat.Lifeboat1.Error";
/** The D-Bus message flag that lets polkit ask the caller's agent for a password. */
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const CONNECT_TIMEOUT_MS = 10_000;
/** A call may take as long as lifeboatd opening and inspecting a disk. */
const CALL_TIMEOUT_MS = 10 * 60_000;

/** A job's end, as its `Finished` signal or its properties say. */
export interface JobOutcome {
  readonly success: boolean;
  readonly result: string;
  readonly errorCode: string;
  readonly errorMessage: string;
}

/** A D-Bus error (or any thrown value) as a Lifeboat error: lifeboatd's names carry the code. */
export function fromDbusError(e: unknown): LifeboatError {
  if (e instanceof DBusError) {
    if (e.type.startsWith(`${SERVICE_ERROR_PREFIX}.`))
      return {
        code: e.type.slice(SERVICE_ERROR_PREFIX.length + 1),
        message: e.text,
      } as LifeboatError;
    if (
      e.type === "org.freedesktop.DBus.Error.ServiceUnknown" ||
      e.type === "org.freedesktop.DBus.Error.NameHasNoOwner"
    )
      return unavailable(`lifeboatd (${SERVICE_BUS_NAME}) is not on the bus: ${e.text}`);
    return {
      code: "SERVICE_FAILED",
      message: `lifeboatd answered ${e.type}: ${e.text}`,
    } as LifeboatError;
  }
  return unavailable(e instanceof Error ? e.message : String(e));
}

function unavailable(why: string): LifeboatError {
  return {
    code: "CLI_SERVICE_UNAVAILABLE",
    message: `Cannot reach lifeboatd (--via-service): ${why}. Nothing was done.`,
  } as LifeboatError;
}

/** The bus to reach lifeboatd on: `LIFEBOAT_BUS_ADDRESS`, else the system bus (`DBUS_SYSTEM_BUS_ADDRESS`). */
function openBus(): MessageBus {
  const address = process.env.LIFEBOAT_BUS_ADDRESS;
  return address ? sessionBus({ busAddress: address }) : systemBus();
}

/** A connection to lifeboatd. */
export class ServiceConnection {
  private constructor(private readonly bus: MessageBus) {}

  /** Connect (the bus's `Hello` done), or `CLI_SERVICE_UNAVAILABLE`. */
  static open(): ResultAsync<ServiceConnection, LifeboatError> {
    return ResultAsync.fromPromise(
      new Promise<ServiceConnection>((resolve, reject) => {
        const bus = openBus();
        const timer = setTimeout(() => {
          bus.disconnect();
          reject(new Error(`no answer from the bus in ${CONNECT_TIMEOUT_MS / 1000} s`));
        }, CONNECT_TIMEOUT_MS);
        // The library emits "error" without declaring it in its event types.
        (bus as unknown as NodeJS.EventEmitter).once("error", (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        });
        bus.once("connect", () => {
          clearTimeout(timer);
          resolve(new ServiceConnection(bus));
        });
      }),
      fromDbusError,
    );
  }

  /** Call a Manager method; its reply's values, or the Lifeboat error it answered. */
  call(
    member: string,
    signature: string,
    body: readonly unknown[],
  ): ResultAsync<unknown[], LifeboatError> {
    const msg = new Message({
      destination: SERVICE_BUS_NAME,
      path: SERVICE_OBJECT_PATH,
      interface: SERVICE_MANAGER_INTERFACE,
      member,
      signature,
      body: [...body],
      flags: ALLOW_INTERACTIVE_AUTHORIZATION,
    });
    return this.withTimeout(this.bus.call(msg)).map((reply) => reply?.body ?? []);
  }

  private withTimeout<T>(p: Promise<T>): ResultAsync<T, LifeboatError> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer in ${CALL_TIMEOUT_MS / 1000} s`)),
        CALL_TIMEOUT_MS,
      );
    });
    return ResultAsync.fromPromise(
      Promise.race([p, timeout]).finally(() => clearTimeout(timer)),
      fromDbusError,
    );
  }

  private property(path: string, name: string): ResultAsync<unknown, LifeboatError> {
    const msg = new Message({
      destination: SERVICE_BUS_NAME,
      path,
      interface: "org.freedesktop.DBus.Properties",
      member: "Get",
      signature: "ss",
      body: [SERVICE_JOB_INTERFACE, name],
    });
    return this.withTimeout(this.bus.call(msg)).map(
      (reply) => (reply?.body[0] as { value?: unknown } | undefined)?.value,
    );
  }

  /**
   * Follow the job at `path` to its end: `onProgress` gets each `Progress`
   * signal (event, step id, bytes of the step); resolves with its outcome. A
   * job that ended before the subscription was in place is read from its
   * properties.
   */
  followJob(
    path: string,
    onProgress: (event: string, step: string, bytesDone: bigint, bytesTotal: bigint) => void,
  ): ResultAsync<JobOutcome, LifeboatError> {
    const rule = `type='signal',sender='${SERVICE_BUS_NAME}',path='${path}',interface='${SERVICE_JOB_INTERFACE}'`;
    const addMatch = new Message({
      destination: "org.freedesktop.DBus",
      path: "/org/freedesktop/DBus",
      interface: "org.freedesktop.DBus",
      member: "AddMatch",
      signature: "s",
      body: [rule],
    });
    let settle: ((o: JobOutcome) => void) | undefined;
    const finished = new Promise<JobOutcome>((resolve) => {
      settle = resolve;
    });
    const listener = (msg: Message) => {
      if (msg.path !== path || msg.interface !== SERVICE_JOB_INTERFACE) return;
      if (msg.member === "Progress") {
        const [event, step, done, total] = msg.body as [string, string, bigint, bigint];
        onProgress(event, step, done, total);
      }
      if (msg.member === "Finished") {
        const [success, result, errorCode, errorMessage] = msg.body as [
          boolean,
          string,
          string,
          string,
        ];
        settle?.({ success, result, errorCode, errorMessage });
      }
    };
    this.bus.on("message", listener);
    const stopListening = () => this.bus.removeListener("message", listener);
    return this.withTimeout(this.bus.call(addMatch))
      .andThen(() => this.property(path, "State"))
      .andThen((state) => {
        if (state === "running")
          return ResultAsync.fromSafePromise<JobOutcome, LifeboatError>(finished);
        // Ended before the match rule was in place: its properties hold the outcome.
        return ResultAsync.combine([
          this.property(path, "Result"),
          this.property(path, "ErrorCode"),
          this.property(path, "ErrorMessage"),
        ]).map(
          ([result, errorCode, errorMessage]): JobOutcome => ({
            success: state === "succeeded",
            result: String(result ?? ""),
            errorCode: String(errorCode ?? ""),
            errorMessage: String(errorMessage ?? ""),
          }),
        );
      })
      .map((o) => {
        stopListening();
        return o;
      })
      .mapErr((e) => {
        stopListening();
        return e;
      });
  }

  /** Disconnect. */
  close(): void {
    this.bus.disconnect();
  }
}

/** Run `body` on a connection to lifeboatd, disconnecting after. */
export function withService<T>(
  body: (c: ServiceConnection) => ResultAsync<T, LifeboatError>,
): ResultAsync<T, LifeboatError> {
  return ServiceConnection.open().andThen((c) =>
    body(c)
      .map((v) => {
        c.close();
        return v;
      })
      .mapErr((e) => {
        c.close();
        return e;
      }),
  );
}

/** A job's outcome as a result: the parsed `Result` JSON, or the job's Lifeboat error. */
export function jobResult<T>(o: JobOutcome): ResultAsync<T, LifeboatError> {
  if (!o.success)
    return errAsync({
      code: o.errorCode || "SERVICE_FAILED",
      message: o.errorMessage,
    } as LifeboatError);
  try {
    return okAsync(JSON.parse(o.result || "null") as T);
  } catch {
    return errAsync({
      code: "SERVICE_FAILED",
      message: `lifeboatd's job result is not JSON: ${o.result.slice(0, 200)}`,
    } as LifeboatError);
  }
}

/**
 * Turn a job's `Progress` signals into executor events for the CLI's
 * progress display, with the step titles of `plan` when known.
 */
export function progressAdapter(
  onEvent: (e: ExecutorEvent) => void,
  plan?: {
    readonly digest: string;
    readonly steps: readonly { id: string; title: string; kind: string }[];
  },
): (event: string, step: string, bytesDone: bigint, bytesTotal: bigint) => void {
  const started = new Map<string, number>();
  let index = -1;
  const totalSteps = () => plan?.steps.length ?? 0;
  const indexOf = (step: string) => {
    const i = plan?.steps.findIndex((s) => s.id === step) ?? -1;
    return i >= 0 ? i : index;
  };
  const t0 = Date.now();
  return (event, step, bytesDone, bytesTotal) => {
    switch (event) {
      case "plan-started":
        onEvent({
          type: "plan-started",
          planDigest: plan?.digest ?? "",
          totalSteps: totalSteps(),
          attempt: 1,
          resumed: false,
        });
        break;
      case "step-started": {
        index += 1;
        started.set(step, Date.now());
        const s = plan?.steps.find((x) => x.id === step);
        onEvent({
          type: "step-started",
          stepId: step,
          stepIndex: indexOf(step),
          totalSteps: totalSteps() || index + 1,
          kind: s?.kind ?? "",
          title: s?.title ?? step,
          rerun: false,
        });
        break;
      }
      case "step-progress":
        onEvent({
          type: "step-progress",
          stepId: step,
          stepIndex: indexOf(step),
          bytesDone: Number(bytesDone),
          bytesTotal: bytesTotal > 0n ? Number(bytesTotal) : undefined,
        });
        break;
      case "step-skipped":
        onEvent({
          type: "step-skipped",
          stepId: step,
          stepIndex: indexOf(step),
          reason: "already-done",
        });
        break;
      case "step-finished":
        onEvent({
          type: "step-finished",
          stepId: step,
          stepIndex: indexOf(step),
          durationMs: Date.now() - (started.get(step) ?? Date.now()),
        });
        break;
      case "plan-finished":
        onEvent({
          type: "plan-finished",
          planDigest: plan?.digest ?? "",
          durationMs: Date.now() - t0,
          alreadyDone: false,
        });
        break;
      default:
        break;
    }
  };
}
