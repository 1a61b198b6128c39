// Closed error unions (issue #19): a public function's error type lists the
// codes it returns, so a switch on `code` is exhaustive and a misspelt code
// does not compile. The type assertions are checked by `tsc -b` (the root
// tsconfig includes the tests); the runtime part checks the one code returned.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createExecaRunner,
  type ExecutorError,
  type HandlerThrewError,
  type InvalidArgumentError,
  type IoFailedError,
} from "@lifeboat/core";
import type { GrubRenderError } from "@lifeboat/grub";
import type { Result } from "neverthrow";
import { afterAll, beforeAll, expect, expectTypeOf, test } from "vitest";
import {
  type abandonReset,
  type createCheckpoint,
  describeBootPayload,
  type describeRescueTarget,
  type executeReset,
  type inspect,
  inspectMachine,
  type listCheckpoints,
  openMachine,
  type openRecoveryImageSet,
  type PlanTextError,
  type plan,
  type ResetError,
  type ResetExecutionError,
  type ResetPlanError,
  type resumeReset,
  type runScheduledReset,
  scheduleReset,
  type WrongTargetError,
} from "../src/index.js";
import { renderScheduleFragment } from "../src/schedule-recovery.js";

/** The error type of a function returning a Result or a ResultAsync. */
// biome-ignore lint/suspicious/noExplicitAny: any function's parameters
type ErrOf<F extends (...args: any[]) => unknown> =
  Awaited<ReturnType<F>> extends Result<unknown, infer E> ? E : never;
/** True when `E`'s codes are a closed set of literals (not `string`). */
type Closed<E extends { code: string }> = string extends E["code"] ? false : true;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lifeboat-closed-errors-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("describeBootPayload: IO_FAILED is its whole error union; the switch is exhaustive", async () => {
  type E = Parameters<Parameters<Awaited<ReturnType<typeof describeBootPayload>>["mapErr"]>[0]>[0];
  expectTypeOf<E>().toEqualTypeOf<IoFailedError>();
  const describe = (e: E): string => {
    switch (e.code) {
      case "IO_FAILED":
        return `${e.operation} ${e.path}`;
      default: {
        const unreachable: never = e.code;
        return unreachable;
      }
    }
  };
  // @ts-expect-error a misspelt code does not compile
  const misspelt = (e: E) => e.code === "IO_FAILD";
  void misspelt;

  const boot = path.join(dir, "boot");
  await mkdir(boot);
  await writeFile(path.join(boot, "vmlinuz-6.1"), "kernel");
  const ok = await describeBootPayload(boot);
  expect(ok._unsafeUnwrap().map((f) => [f.path, f.bytes])).toEqual([["vmlinuz-6.1", 6]]);
  const missing = await describeBootPayload(path.join(dir, "nothing-here"));
  expect(missing.isErr()).toBe(true);
  if (missing.isErr()) {
    expect(missing.error.code).toBe("IO_FAILED");
    expect(describe(missing.error)).toContain("nothing-here");
  }
});

test("the error unions of reset's public functions are closed (compile-time)", () => {
  // The functions that can meet anything reset passes through: the closed ResetError.
  expectTypeOf<ErrOf<typeof inspect>>().toEqualTypeOf<ResetError>();
  expectTypeOf<ErrOf<typeof inspectMachine>>().toEqualTypeOf<ResetError>();
  expectTypeOf<ErrOf<typeof openMachine>>().toEqualTypeOf<ResetError>();
  expectTypeOf<ErrOf<typeof scheduleReset>>().toEqualTypeOf<ResetError>();
  expectTypeOf<ErrOf<typeof createCheckpoint>>().toEqualTypeOf<ResetError>();
  expectTypeOf<ErrOf<typeof listCheckpoints>>().toEqualTypeOf<ResetError>();
  expectTypeOf<ErrOf<typeof openRecoveryImageSet>>().toEqualTypeOf<ResetError>();
  expectTypeOf<ErrOf<typeof abandonReset>>().toEqualTypeOf<ResetError>();
  expectTypeOf<ErrOf<typeof runScheduledReset>>().toEqualTypeOf<ResetError>();
  // Narrower unions where the function has them.
  expectTypeOf<ErrOf<typeof plan>>().toEqualTypeOf<ResetPlanError>();
  expectTypeOf<ErrOf<typeof executeReset>>().toEqualTypeOf<
    ResetExecutionError | PlanTextError | WrongTargetError
  >();
  expectTypeOf<ErrOf<typeof resumeReset>>().toEqualTypeOf<ResetExecutionError | PlanTextError>();
  expectTypeOf<ResetExecutionError>().toEqualTypeOf<ExecutorError<ResetError>>();
  // A failed step's cause is a ResetError (or HANDLER_THREW), not any { code, message }.
  type StepCause = Extract<ResetExecutionError, { code: "STEP_FAILED" }>["cause"];
  expectTypeOf<StepCause>().toEqualTypeOf<ResetError | HandlerThrewError>();
  expectTypeOf<Closed<StepCause>>().toEqualTypeOf<true>();
  expectTypeOf<Closed<ResetError>>().toEqualTypeOf<true>();
  expectTypeOf<Closed<ResetPlanError>>().toEqualTypeOf<true>();
  expectTypeOf<Closed<ErrOf<typeof executeReset>>>().toEqualTypeOf<true>();
  // A code of every package reset passes through is in the union.
  expectTypeOf<
    | "RESET_NOT_A_DISK"
    | "PERMISSION_DENIED"
    | "BTRFS_NOT_BTRFS"
    | "GPT_NO_SPACE"
    | "GRUB_NO_BLS_ENTRY"
    | "IMAGE_BAD_SIGNATURE"
    | "RECOVERY_ENV_DAMAGED"
  >().toExtend<ResetError["code"]>();

  // @ts-expect-error a misspelt code does not compile
  const misspelt = (e: ErrOf<typeof inspect>) => e.code === "RESET_NOT_A_DSK";
  // @ts-expect-error nor does a code reset never returns
  const foreign = (e: ErrOf<typeof createCheckpoint>) => e.code === "FACTORY_TARGET_TOO_SMALL";
  // @ts-expect-error a misspelt code of a failed step's cause does not compile
  const misspeltCause = (c: StepCause) => c.code === "RESET_INSUFICIENT_SPACE";
  void misspeltCause;
  // @ts-expect-error plan() is pure: it never fails with a command error
  const notPlans = (e: ErrOf<typeof plan>) => e.code === "COMMAND_FAILED";
  void [misspelt, foreign, notPlans];
});

test("plan: ResetPlanError, an exhaustive switch compiles", () => {
  const advice = (e: ErrOf<typeof plan>): string => {
    switch (e.code) {
      case "RESET_NO_FACTORY_SNAPSHOT":
        return `${e.reason} ${e.expectedPath}`;
      case "RESET_INSUFFICIENT_SPACE":
        return `${e.where}: ${e.neededBytes - e.availableBytes} bytes short`;
      case "RESET_IMAGE_NOT_VERIFIED":
        return e.reason;
      case "RESET_IMAGE_ROLLBACK":
        return `${e.securityEpoch} < ${e.floorEpoch}`;
      case "RESET_TARGET_BUSY":
        return e.paths.join(", ");
      case "RESET_UNSUPPORTED_LAYOUT":
        return e.missing;
      case "RESET_ENCRYPTED_LOCKED":
        return e.device;
      case "RESET_BAD_REQUEST":
        return e.field;
      case "RESET_NO_CHECKPOINT":
        return `${e.id} ${e.reason}`;
      case "RESET_CHECKPOINT_PROTECTED":
        return `${e.id} ${e.reason}`;
      case "PLAN_ENCODING":
        return e.at;
      default: {
        const unreachable: never = e;
        return unreachable;
      }
    }
  };
  expect(advice({ code: "RESET_BAD_REQUEST", message: "m", field: "stamp" })).toBe("stamp");
});

test("executeReset: the executor's (a failed step's cause a ResetError), plan-text and wrong-target errors, an exhaustive switch compiles", () => {
  const advice = (e: ErrOf<typeof executeReset>): string => {
    switch (e.code) {
      case "STEP_FAILED":
        // The cause narrows like any ResetError.
        return e.cause.code === "RESET_INSUFFICIENT_SPACE"
          ? `${e.stepId}: ${e.cause.neededBytes - e.cause.availableBytes} bytes short`
          : `${e.stepId}: ${e.cause.code}`;
      case "CONFIRMATION_REQUIRED":
      case "CONFIRMATION_MISMATCH":
        return e.planDigest;
      case "PLAN_TAMPERED":
        return e.actual;
      case "LOCK_HELD":
        return e.lockPath;
      case "JOURNAL_CORRUPT":
      case "JOURNAL_PLAN_MISMATCH":
      case "JOURNAL_NOT_FOUND":
        return e.journalPath;
      case "IO_FAILED":
        return e.path;
      case "PLAN_ENCODING":
        return e.at;
      case "ABORTED":
        return e.during;
      case "INVALID_ARGUMENT":
        return e.argument;
      case "UNKNOWN_STEP":
      case "RESET_BAD_STEP_PARAMS":
      case "RESET_PLAN_TEXT_MISMATCH":
        return `${e.stepId} ${e.kind}`;
      case "RESET_WRONG_TARGET":
        return e.planned;
      default: {
        const unreachable: never = e;
        return unreachable;
      }
    }
  };
  expect(advice({ code: "RESET_WRONG_TARGET", message: "m", planned: "u" })).toBe("u");
  const cause = {
    code: "RESET_INSUFFICIENT_SPACE",
    message: "m",
    where: "btrfs",
    neededBytes: 10,
    availableBytes: 4,
  } as const;
  expect(advice({ code: "STEP_FAILED", message: "m", stepId: "s1", stepIndex: 0, cause })).toBe(
    "s1: 6 bytes short",
  );
});

test("ResetError: a switch narrows every code to its fields; reset's own codes switch exhaustively", () => {
  type Own = Extract<ResetError, { code: `RESET_${string}` }>;
  const own = (e: Own): string => {
    switch (e.code) {
      case "RESET_NO_FACTORY_SNAPSHOT":
      case "RESET_INSUFFICIENT_SPACE":
      case "RESET_IMAGE_NOT_VERIFIED":
      case "RESET_IMAGE_ROLLBACK":
      case "RESET_TARGET_BUSY":
      case "RESET_UNSUPPORTED_LAYOUT":
      case "RESET_ENCRYPTED_LOCKED":
      case "RESET_BAD_REQUEST":
      case "RESET_NO_CHECKPOINT":
      case "RESET_CHECKPOINT_PROTECTED":
      case "RESET_UNEXPECTED_STATE":
      case "RESET_MANIFEST_INVALID":
      case "RESET_VERIFY_FAILED":
      case "RESET_FAULT_INJECTED":
      case "RESET_BAD_CHECKPOINT_NAME":
      case "RESET_CHECKPOINT_EXISTS":
      case "RESET_LUKS_WRONG_KEY":
      case "RESET_BAD_STEP_PARAMS":
      case "RESET_PLAN_TEXT_MISMATCH":
      case "RESET_IMAGE_CHANGED":
      case "RESET_DISK_IN_USE":
      case "RESET_NOT_A_DISK":
      case "RESET_WRONG_TARGET":
      case "RESET_CANNOT_ABANDON":
        return e.code;
      default: {
        const unreachable: never = e;
        return unreachable;
      }
    }
  };
  const advice = (e: ResetError): string => {
    if (e.code.startsWith("RESET_")) return own(e as Own);
    switch (e.code) {
      case "PERMISSION_DENIED":
        return `run as root: ${e.operation}`;
      case "COMMAND_FAILED":
        return e.stderrTail;
      case "BTRFS_NOT_BTRFS":
        return e.path;
      case "GPT_NO_SPACE":
        return String(e.code);
      default:
        return e.message;
    }
  };
  expect(advice({ code: "RESET_NOT_A_DISK", message: "m", disk: "/x" })).toBe("RESET_NOT_A_DISK");
});

test("runtime: openMachine, inspectMachine and scheduleReset return codes of their unions", async () => {
  const runner = createExecaRunner();
  const notADisk = await openMachine(runner, { disk: path.join(dir, "no-such-disk") });
  expect(notADisk.isErr() && notADisk.error.code).toBe("RESET_NOT_A_DISK");

  const machine = (await openMachine(runner, {}))._unsafeUnwrap();
  try {
    const inspected = await inspectMachine(runner, machine);
    expect(inspected.isErr() && inspected.error.code).toBe("RESET_UNSUPPORTED_LAYOUT");
  } finally {
    await machine.close();
  }

  // A Node.js error thrown inside (mkdir under a regular file) comes back as
  // IO_FAILED with its errno, not as a raw Error with an open code.
  const file = path.join(dir, "a-file");
  await writeFile(file, "");
  const scheduled = await scheduleReset(runner, {
    systemRoot: file,
    boot: dir,
    baseEntry: "loader/entries/x.conf",
    execStart: ["/usr/bin/true"],
  });
  expect(scheduled.isErr()).toBe(true);
  if (scheduled.isErr()) {
    const e = scheduled.error;
    expect(e.code).toBe("IO_FAILED");
    if (e.code === "IO_FAILED") expect(e.errno).toBe("ENOTDIR");
  }
});

test("narrow unions: describeRescueTarget is IO_FAILED, renderScheduleFragment INVALID_ARGUMENT or a GRUB render error", () => {
  expectTypeOf<ErrOf<typeof describeRescueTarget>>().toEqualTypeOf<IoFailedError>();
  expectTypeOf<ErrOf<typeof renderScheduleFragment>>().toEqualTypeOf<
    InvalidArgumentError | GrubRenderError
  >();
  const bad = renderScheduleFragment("sha256:not-hex");
  expect(bad.isErr() && bad.error.code).toBe("INVALID_ARGUMENT");
  if (bad.isErr() && bad.error.code === "INVALID_ARGUMENT")
    expect(bad.error.argument).toBe("digest");
});
