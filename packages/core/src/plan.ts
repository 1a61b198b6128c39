import { createHash } from "node:crypto";

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

/** A plan as made by a planner, before its digest is computed. */
export interface PlanDraft {
  /** The request type, e.g. `"reset-keep-home"`. */
  readonly kind: string;
  /** One line for a person. */
  readonly title: string;
  /** What the plan acts on (a device path or mount point). */
  readonly target: string;
  readonly steps: readonly PlanStep[];
  /** Things a person should read first (other OSes, encryption). */
  readonly warnings: readonly string[];
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
 * the same data always gives the same bytes.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string")
    return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("canonicalJson: numbers must be finite");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
}

/**
 * The digest of a plan's content (everything but `digest` itself).
 *
 * @example
 * ```ts
 * computePlanDigest(plan) === plan.digest; // true unless the plan was changed
 * ```
 */
export function computePlanDigest(plan: PlanDraft & { readonly version?: 1 }): string {
  const { digest: _ignored, ...content } = { ...plan, version: 1 as const, digest: undefined };
  return `sha256:${createHash("sha256").update(canonicalJson(content)).digest("hex")}`;
}

/**
 * Seal a draft into a {@link Plan} with its digest.
 *
 * @example
 * ```ts
 * const plan = createPlan({ kind: "demo", title: "Demo", target: "/mnt", warnings: [], steps: [] });
 * plan.digest; // "sha256:…"
 * ```
 */
export function createPlan(draft: PlanDraft): Plan {
  const plan = { version: 1 as const, ...draft };
  return { ...plan, digest: computePlanDigest(plan) };
}

/** Everything a plan destroys, over all steps. */
export function planDataLoss(plan: PlanDraft): readonly DataLoss[] {
  return plan.steps.flatMap((s) => s.destroys);
}

/** True when any step destroys something: such a plan needs confirmation. */
export function isDestructive(plan: PlanDraft): boolean {
  return plan.steps.some((s) => s.destroys.length > 0);
}
