import type { JsonValue, PlanStep, StepContext } from "@lifeboat/core";
import { err, ok, type Result, type ResultAsync } from "neverthrow";
import type { z } from "zod";
import type { BadStepParamsError, ResetError } from "../errors.js";
import { installBootStep, stageBootStep } from "./boot-steps.js";
import { dropCheckpointStep } from "./checkpoint-steps.js";
import type { ResetEnvironment } from "./context.js";
import {
  MAKES_NOTHING,
  type StepDefinition,
  type StepMade,
  type StepText,
  toJson,
} from "./define.js";
import { unpackStep, verifyImageStep } from "./image-steps.js";
import { keepBootStep } from "./kept-boot-steps.js";
import { removePartitionsStep } from "./partition-steps.js";
import { rescueCopyStep, rescueVerifyStep } from "./rescue-steps.js";
import { prepareRootStep } from "./root-steps.js";
import {
  checkStep,
  createSubvolumeStep,
  deleteSubvolumeStep,
  exchangeStep,
  renameStep,
  snapshotStep,
} from "./subvolume-steps.js";

/** Checks that every entry is filed under its own kind. */
function catalogue<C extends { readonly [K in keyof C]: StepDefinition<K & string, unknown> }>(
  entries: C,
): C {
  return entries;
}

/** Every step kind of the reset's plans, each defined once (schema, words, handler). */
export const STEP_CATALOGUE = catalogue({
  "reset.check": checkStep,
  "reset.snapshot": snapshotStep,
  "reset.create-subvolume": createSubvolumeStep,
  "reset.exchange": exchangeStep,
  "reset.rename": renameStep,
  "reset.delete-subvolume": deleteSubvolumeStep,
  "reset.prepare-root": prepareRootStep,
  "reset.stage-boot": stageBootStep,
  "reset.install-boot": installBootStep,
  "reset.keep-boot": keepBootStep,
  "reset.verify-image": verifyImageStep,
  "reset.unpack": unpackStep,
  "reset.rescue-copy": rescueCopyStep,
  "reset.rescue-verify": rescueVerifyStep,
  "reset.remove-partitions": removePartitionsStep,
  "reset.drop-checkpoint": dropCheckpointStep,
});

/** A step kind of the reset's plans. */
export type StepKind = keyof typeof STEP_CATALOGUE;

/** The parameters of a step kind, as its schema gives them. */
export type StepParams<K extends StepKind> = z.output<(typeof STEP_CATALOGUE)[K]["schema"]>;

/** The kinds, in catalogue order. */
export const STEP_KINDS = Object.keys(STEP_CATALOGUE) as readonly string[];

/** True for a kind the catalogue defines. */
export function isStepKind(kind: string): kind is StepKind {
  return Object.hasOwn(STEP_CATALOGUE, kind);
}

/**
 * Build a plan step through the catalogue: the title, data loss,
 * reversibility and preconditions are derived from `params`.
 */
export function makeStep<K extends StepKind>(id: string, kind: K, params: StepParams<K>): PlanStep {
  const definition: StepDefinition<string, unknown> = STEP_CATALOGUE[kind];
  const text = definition.describe(params);
  return {
    id,
    kind,
    ...text,
    params: paramsJson(params),
  };
}

function paramsJson(params: unknown): PlanStep["params"] {
  const json = toJson(params);
  return isJsonObject(json) ? json : {};
}

function isJsonObject(value: JsonValue): value is { readonly [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A parsed step: its definition bound to its parameters. */
export interface ParsedStep {
  /** The words the step's parameters give. */
  readonly text: StepText;
  /** What the step creates. */
  readonly made: StepMade;
  /** Run it with the parameters already parsed. */
  run(step: PlanStep, ctx: StepContext, env: ResetEnvironment): ResultAsync<void, ResetError>;
}

/** Parse a step's parameters with its kind's schema (`RESET_BAD_STEP_PARAMS` when they do not fit). */
export function parseStep(
  step: PlanStep,
  definition: StepDefinition<string, unknown>,
): Result<ParsedStep, BadStepParamsError> {
  const parsed = definition.schema.safeParse(step.params);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.length ? i.path.join(".") : "(params)"}: ${i.message}`,
    );
    return err({
      code: "RESET_BAD_STEP_PARAMS",
      message: `Step ${step.id} (${step.kind}) has parameters its kind does not accept: ${issues.join("; ")}.`,
      stepId: step.id,
      kind: step.kind,
      issues,
    });
  }
  const params = parsed.data;
  return ok({
    text: definition.describe(params),
    made: definition.makes?.(params) ?? MAKES_NOTHING,
    run: (s, ctx, env) => definition.run(params, s, ctx, env),
  });
}
