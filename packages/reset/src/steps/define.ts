import type { DataLoss, JsonValue, PlanStep, StepContext } from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import { z } from "zod";
import type { ResetError } from "../errors.js";
import type { ResetEnvironment } from "./context.js";

/** What a plan shows about a step: derived from its parameters, never written by hand. */
export interface StepText {
  readonly title: string;
  readonly destroys: readonly DataLoss[];
  readonly reversible: boolean;
  readonly preconditions: readonly string[];
}

/** What a step creates: what giving up a run before its point of no return removes. */
export interface StepMade {
  /** Subvolumes, relative to the Btrfs top level. */
  readonly subvolumes: readonly string[];
  /** Directories, relative to /boot. */
  readonly bootDirs: readonly string[];
}

/** A step that creates nothing. */
export const MAKES_NOTHING: StepMade = { subvolumes: [], bootDirs: [] };

/**
 * One step kind, defined once: its name, the schema of its parameters, the
 * words a plan shows for it (a pure function of the parameters) and the
 * handler body, which receives the parameters already parsed.
 */
export interface StepDefinition<K extends string, P> {
  readonly kind: K;
  readonly schema: z.ZodType<P>;
  /** Title, data loss, reversibility and preconditions, from the parameters alone. */
  describe(params: P): StepText;
  /** What the step creates, from the parameters alone (default: nothing). */
  makes?(params: P): StepMade;
  /** Do the step (idempotent: decides "already done" from the disk). */
  run(
    params: P,
    step: PlanStep,
    ctx: StepContext,
    env: ResetEnvironment,
  ): ResultAsync<void, ResetError>;
}

/** Define a step kind (the identity function, for inference). */
export function defineStep<K extends string, P>(
  definition: StepDefinition<K, P>,
): StepDefinition<K, P> {
  return definition;
}

/** Text for a step that only adds (destroys nothing, can be undone). */
export function adds(title: string, preconditions: readonly string[] = []): StepText {
  return { title, destroys: [], reversible: true, preconditions };
}

const UNSAFE_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/** A path relative to the Btrfs top level (or /boot): not empty, not absolute, no `.` or `..`. */
export const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith("/") && !UNSAFE_SEGMENT.test(p) && !p.includes("\0"), {
    message: "must be a relative path without . or .. segments",
  });

/** An absolute path without `.` or `..` segments. */
export const absolutePath = z
  .string()
  .refine((p) => p.startsWith("/") && !UNSAFE_SEGMENT.test(p) && !p.includes("\0"), {
    message: "must be an absolute path without . or .. segments",
  });

/** A time stamp of the form `20261125T200000Z`. */
export const stampSchema = z.string().regex(/^[0-9]{8}T[0-9]{6}Z$/);

/** A UUID, as Btrfs and GPT print them. */
export const uuidSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/);

/** A subvolume's UUID as Btrfs reports it (compared as text, never parsed). */
export const subvolumeUuidSchema = z.string().min(1);

/** A byte count. */
export const bytesSchema = z.number().int().nonnegative();

/** A step's parameters as plain JSON (members that are `undefined` left out). */
export function toJson(value: unknown): JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return value;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object") {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return null;
}
