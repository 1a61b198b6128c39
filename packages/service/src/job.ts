import { interface as dbus } from "@jellybrick/dbus-next";
import type { ExecutorEvent, LifeboatError } from "@lifeboat/core";
import { type IntrospectData, nameArguments } from "./_internal/introspect.js";
import { JOB_INTERFACE } from "./names.js";

const read = (signature: string) => dbus.property({ signature, access: dbus.ACCESS_READ });

/** A job's state: `running`, then `succeeded` or `failed` (its `ErrorCode` says why). */
export type JobState = "running" | "succeeded" | "failed";

/**
 * A long action as a D-Bus object (`org.lifeboat.Lifeboat1.Job`): read-only
 * properties, `PropertiesChanged` when they change, a `Progress` signal per
 * executor event with bytes, and `Finished` once. It belongs to the service,
 * not to the caller: it runs on when the caller goes away, and stays on the
 * bus afterwards so any client can read its result.
 */
export class Job extends dbus.Interface {
  #state: JobState = "running";
  #step = "";
  #bytesDone = 0n;
  #bytesTotal = 0n;
  #errorCode = "";
  #errorMessage = "";
  #result = "";
  #stepNumber = 0;
  #stepCount = 0;
  /** Bytes of the steps finished before the current one (their last report). */
  #doneBefore = 0n;
  /** Known totals of the steps finished before the current one. */
  #totalBefore = 0n;
  /** Aborted by `Cancel`: the work stops at its next check (a journaled plan stays resumable). */
  readonly abort = new AbortController();
  /** When the job finished (ms since the epoch), for pruning old jobs. */
  finishedAt: number | undefined;

  constructor(
    readonly disk: string,
    readonly planDigest: string,
    readonly kind: string,
  ) {
    super(JOB_INTERFACE);
  }

  @read("s")
  get State(): string {
    return this.#state;
  }
  @read("s")
  get Step(): string {
    return this.#step;
  }
  @read("t")
  get BytesDone(): bigint {
    return this.#bytesDone;
  }
  @read("t")
  get BytesTotal(): bigint {
    return this.#bytesTotal;
  }
  /** Bytes done across the whole job: steps finished so far plus the current one. */
  @read("t")
  get JobBytesDone(): bigint {
    return this.#doneBefore + this.#bytesDone;
  }
  /** Bytes across the whole job as far as known: the totals of the steps so far (a step reports its total when it starts moving data). */
  @read("t")
  get JobBytesTotal(): bigint {
    return this.#totalBefore + this.#bytesTotal;
  }
  /** The current step's number, from 1 (0 before the first). */
  @read("u")
  get StepNumber(): number {
    return this.#stepNumber;
  }
  /** How many steps the job has (0 until it starts). */
  @read("u")
  get StepCount(): number {
    return this.#stepCount;
  }
  @read("b")
  get Cancelled(): boolean {
    return this.abort.signal.aborted;
  }
  @read("s")
  get Disk(): string {
    return this.disk;
  }
  @read("s")
  get PlanDigest(): string {
    return this.planDigest;
  }
  @read("s")
  get Kind(): string {
    return this.kind;
  }
  @read("s")
  get ErrorCode(): string {
    return this.#errorCode;
  }
  @read("s")
  get ErrorMessage(): string {
    return this.#errorMessage;
  }
  @read("s")
  get Result(): string {
    return this.#result;
  }

  /** Signal: what the executor is doing (`step` is the step id, bytes of the current step). */
  @dbus.signal({ signature: "sstt" })
  Progress(event: string, step: string, bytesDone: bigint, bytesTotal: bigint) {
    return [event, step, bytesDone, bytesTotal];
  }

  /** Signal: the job ended; `success`, the result JSON, or the Lifeboat error code and message. */
  @dbus.signal({ signature: "bsss" })
  Finished(success: boolean, result: string, errorCode: string, errorMessage: string) {
    return [success, result, errorCode, errorMessage];
  }

  /** Take an executor event: properties and a `Progress` signal. */
  report(event: ExecutorEvent): void {
    const changed: Record<string, unknown> = {};
    if (event.type === "plan-started" && event.totalSteps !== this.#stepCount) {
      this.#stepCount = event.totalSteps;
      changed.StepCount = this.#stepCount;
    }
    if (event.type === "step-started" && event.stepId !== this.#step) {
      this.#doneBefore += this.#bytesDone;
      // A step that went past its estimate counts what it did.
      if (this.#bytesTotal > this.#bytesDone) this.#totalBefore += this.#bytesTotal;
      else this.#totalBefore += this.#bytesDone;
      this.#step = event.stepId;
      this.#stepNumber = event.stepIndex + 1;
      this.#stepCount = event.totalSteps;
      this.#bytesDone = 0n;
      this.#bytesTotal = 0n;
      Object.assign(changed, {
        Step: this.#step,
        StepNumber: this.#stepNumber,
        StepCount: this.#stepCount,
        BytesDone: 0n,
        BytesTotal: 0n,
      });
    }
    if (event.type === "step-progress") {
      this.#bytesDone = BigInt(Math.max(0, Math.floor(event.bytesDone)));
      this.#bytesTotal = BigInt(Math.max(0, Math.floor(event.bytesTotal ?? 0)));
      Object.assign(changed, { BytesDone: this.#bytesDone, BytesTotal: this.#bytesTotal });
    }
    if ("BytesDone" in changed)
      Object.assign(changed, {
        JobBytesDone: this.JobBytesDone,
        JobBytesTotal: this.JobBytesTotal,
      });
    if (Object.keys(changed).length > 0) dbus.Interface.emitPropertiesChanged(this, changed);
    const step = "stepId" in event && event.stepId !== undefined ? event.stepId : "";
    this.Progress(event.type, step, this.#bytesDone, this.#bytesTotal);
  }

  /** Mark the job cancelled (its work sees the abort signal); false when it had ended already. */
  cancel(): boolean {
    if (this.#state !== "running" || this.abort.signal.aborted) return false;
    this.abort.abort();
    dbus.Interface.emitPropertiesChanged(this, { Cancelled: true });
    return true;
  }

  /** End the job with a result (JSON) or an error; emits `Finished`. */
  finish(outcome: { readonly result: unknown } | { readonly error: LifeboatError }): void {
    if (this.#state !== "running") return;
    if ("error" in outcome) {
      this.#state = "failed";
      this.#errorCode = outcome.error.code;
      this.#errorMessage = outcome.error.message;
    } else {
      this.#state = "succeeded";
      this.#result = JSON.stringify(outcome.result ?? null);
    }
    this.finishedAt = Date.now();
    dbus.Interface.emitPropertiesChanged(this, {
      State: this.#state,
      ErrorCode: this.#errorCode,
      ErrorMessage: this.#errorMessage,
      Result: this.#result,
    });
    this.Finished(this.#state === "succeeded", this.#result, this.#errorCode, this.#errorMessage);
  }

  override $introspect(): IntrospectData {
    return nameArguments(super.$introspect(), {
      Progress: ["event", "step", "bytes_done", "bytes_total"],
      Finished: ["success", "result_json", "error_code", "error_message"],
    });
  }
}
