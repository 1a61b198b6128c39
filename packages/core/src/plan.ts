import { createHash } from "node:crypto";
import { err, ok, Result } from "neverthrow";
import type { PlanEncodingError } from "./errors.js";

/** A JSON value: what plan parameters may hold (no `undefined`, no bigint). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** One thing a plan destroys, in words a person can weigh. */
export interface DataLoss {
  /** What kind of thing is lost. */
  readonly kind:
    | "subvolume"
    | "snapshot"
    | "partition"
    | "filesystem"
    | "files"
    | "operating-system"
    | "encrypted-volume"
    | "boot-entry";
  /** Which one, e.g. `"subvolume home"` or `"Windows on /dev/nvme0n1p3"`. */
  readonly what: string;
  /** Its size in bytes, when known. */
  readonly bytes?: number;
  /** Anything else a person should know ("2 snapshots", "BitLocker"). */
  readonly detail?: string;
  /** Shown loudly: another operating system or an encrypted volume. */
  readonly loud?: boolean;
}

/** One step of a {@link Plan}. */
export interface PlanStep {
  /** Unique within the plan, stable: the journal records it. */
  readonly id: string;
  /** Which handler runs it (e.g. `"btrfs.snapshot"`). */
  readonly kind: string;
  /** One line saying what the step does. */
  readonly title: string;
  /** The handler's parameters. */
  readonly params: { readonly [key: string]: JsonValue };
  /** What the step destroys; empty when it only adds. */
  readonly destroys: readonly DataLoss[];
  /** Whether the step can be undone (its effect is kept until a later step). */
  readonly reversible: boolean;
  /** Conditions checked before the step runs, in words. */
  readonly preconditions: readonly string[];
}

/**
 * A plan warning as data: a stable code and its parameters, so a front end
 * can word it in its own language. The plan's `warnings` keep the English
 * text; a package's planner documents its codes (e.g. `planWarningViews` of
 * `@lifeboat/reset`).
 *
 * @example
 * ```ts
 * const w: PlanWarningCode = { code: "other-os-kept", params: { name: "Windows", partitions: [3] } };
 * ```
 */
export interface PlanWarningCode {
  /** Stable, e.g. `"other-os-erased"`. */
  readonly code: string;
  /** What the warning's words are made from. */
  readonly params: { readonly [key: string]: JsonValue };
}

/** A plan as made by a planner, before its digest is computed. */
export interface PlanDraft {
  /** The request type, e.g. `"reset-keep-home"`. */
  readonly kind: string;
  /** One line for a person. */
  readonly title: string;
  /** What the plan acts on (a device path or mount point). */
  readonly target: string;
  readonly steps: readonly PlanStep[];
  /** Things a person should read first (other OSes, encryption), in English. */
  readonly warnings: readonly string[];
  /**
   * The same warnings as codes and parameters, one per entry of `warnings`
   * and in its order; absent when the planner gives none (a front end then
   * shows `warnings` as they are).
   */
  readonly warningCodes?: readonly PlanWarningCode[];
}

/**
 * A plan: plain serialisable data, ordered steps and what each destroys,
 * sealed with a `digest` (SHA-256 over its canonical JSON). An executor runs
 * a destructive plan only when given this digest back.
 */
export interface Plan extends PlanDraft {
  readonly version: 1;
  readonly digest: string;
}

/**
 * Encode a JSON value with sorted keys and no insignificant white space, so
 * the same data always gives the same bytes. A value JSON cannot hold
 * exactly (a non-finite number, `undefined` in an array, a bigint, a
 * function) is a `PLAN_ENCODING` error naming where it is; object members
 * that are `undefined` are left out, as `JSON.stringify` does.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }); // ok('{"a":[true,null],"b":1}')
 * canonicalJson({ size: Number.NaN }).isErr(); // true: code "PLAN_ENCODING", at "$.size"
 * ```
 */
export function canonicalJson(value: unknown): Result<string, PlanEncodingError> {
  return encode(value, "$");
}

function encodingError(at: string, what: string): PlanEncodingError {
  return {
    code: "PLAN_ENCODING",
    message: `Cannot encode ${what} at ${at} as canonical JSON.`,
    at,
  };
}

function encode(value: unknown, at: string): Result<string, PlanEncodingError> {
  if (value === null || typeof value === "boolean" || typeof value === "string")
    return ok(JSON.stringify(value));
  if (typeof value === "number")
    return Number.isFinite(value)
      ? ok(JSON.stringify(value))
      : err(encodingError(at, `the number ${value}`));
  if (Array.isArray(value))
    return Result.combine(value.map((v, i) => encode(v, `${at}[${i}]`))).map(
      (parts) => `[${parts.join(",")}]`,
    );
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Result.combine(
      entries.map(([k, v]) => encode(v, `${at}.${k}`).map((e) => `${JSON.stringify(k)}:${e}`)),
    ).map((parts) => `{${parts.join(",")}}`);
  }
  return err(encodingError(at, `a value of type ${typeof value}`));
}

/**
 * The digest of a plan's content (everything but `digest` itself); a
 * `PLAN_ENCODING` error when the content is not plain JSON (e.g. a `NaN`).
 *
 * @example
 * ```ts
 * computePlanDigest(plan).isOk() && computePlanDigest(plan).value === plan.digest; // true unless the plan was changed
 * ```
 */
export function computePlanDigest(
  plan: PlanDraft & { readonly version?: 1 },
): Result<string, PlanEncodingError> {
  const { digest: _ignored, ...content } = { ...plan, version: 1 as const, digest: undefined };
  return canonicalJson(content).map(
    (text) => `sha256:${createHash("sha256").update(text).digest("hex")}`,
  );
}

/**
 * Seal a draft into a {@link Plan} with its digest; a `PLAN_ENCODING` error
 * when the draft holds something JSON cannot carry exactly (so a planner
 * returns an error instead of throwing).
 *
 * @example
 * ```ts
 * const plan = createPlan({ kind: "demo", title: "Demo", target: "/mnt", warnings: [], steps: [] });
 * if (plan.isOk()) plan.value.digest; // "sha256:…"
 * ```
 */
export function createPlan(draft: PlanDraft): Result<Plan, PlanEncodingError> {
  const plan = { version: 1 as const, ...draft };
  return computePlanDigest(plan).map((digest) => ({ ...plan, digest }));
}

/** Everything a plan destroys, over all steps. */
export function planDataLoss(plan: PlanDraft): readonly DataLoss[] {
  return plan.steps.flatMap((s) => s.destroys);
}

/** True when any step destroys something: such a plan needs confirmation. */
export function isDestructive(plan: PlanDraft): boolean {
  return plan.steps.some((s) => s.destroys.length > 0);
}
