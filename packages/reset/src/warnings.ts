import { formatBytes, type Plan, type PlanWarningCode } from "@lifeboat/core";
import { z } from "zod";
import { partitionNumbers, partitionWords } from "./steps/words.js";

const partitionSchema = z.object({
  number: z.number().int(),
  partUuid: z.string(),
  name: z.string().optional(),
});

/** Each warning a reset plan can carry: its parameters' schema and its English words, defined once. */
const WARNINGS = {
  /** Another operating system is on the disk; the plan leaves it alone. */
  "other-os-kept": {
    schema: z.object({ name: z.string(), partitions: z.array(z.number().int()) }),
    text: (p: { name: string; partitions: number[] }) =>
      `${p.name} (${partitionNumbers(p.partitions.map((number) => ({ number })))}) is on this disk; this reset does not touch it.`,
  },
  /** Another operating system is on the disk and the plan erases it. */
  "other-os-erased": {
    schema: z.object({
      name: z.string(),
      bytes: z.number(),
      partitions: z.array(z.number().int()),
    }),
    text: (p: { name: string; bytes: number; partitions: number[] }) =>
      `${p.name} WILL BE ERASED (${formatBytes(p.bytes)} on ${partitionNumbers(p.partitions.map((number) => ({ number })))}).`,
  },
  /** A LUKS volume is on the disk; the reset works inside it. */
  "encrypted-volume": {
    schema: z.object({
      partition: partitionSchema,
      luksVersion: z.number().int(),
      open: z.boolean(),
    }),
    text: (p: { partition: z.infer<typeof partitionSchema>; luksVersion: number; open: boolean }) =>
      `${capitalised(partitionWords(p.partition))} is an encrypted volume (LUKS${p.luksVersion}, ${p.open ? "open" : "locked"}); the reset works inside it and keeps the encryption.`,
  },
  /** An older recovery image set is used on purpose (a service engineer's override, with a reason). */
  "rollback-allowed": {
    schema: z.object({ securityEpoch: z.number(), floorEpoch: z.number(), reason: z.string() }),
    text: (p: { securityEpoch: number; floorEpoch: number; reason: string }) =>
      `Rollback allowed: the recovery image set has security epoch ${p.securityEpoch}, older than ${p.floorEpoch} (reason: ${p.reason}).`,
  },
  /** The factory snapshot is damaged, so the recovery image is used. */
  "factory-damaged": {
    schema: z.object({}),
    text: () => "The factory snapshot is damaged; the recovery image is used instead.",
  },
  /** Every user's files in /home are erased (full restore); `bytes` when known. */
  "home-erased": {
    schema: z.object({ bytes: z.number().optional() }),
    text: (p: { bytes?: number | undefined }) =>
      `Every user's files in /home will be erased${p.bytes === undefined ? "" : ` (${formatBytes(p.bytes)})`}. Copy what you need first (rescue).`,
  },
} as const;

function capitalised(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/** The code of a warning a reset plan can carry. */
export type PlanWarningKind = keyof typeof WARNINGS;

/** The parameters of a reset plan warning, by its code. */
export type PlanWarningParams<K extends PlanWarningKind> = z.infer<(typeof WARNINGS)[K]["schema"]>;

/**
 * Every warning code a reset plan can carry.
 *
 * @example
 * ```ts
 * PLAN_WARNING_KINDS.includes("other-os-erased"); // true
 * ```
 */
export const PLAN_WARNING_KINDS = Object.keys(WARNINGS) as readonly PlanWarningKind[];

/**
 * One warning of a plan as data a front end can word in its own language:
 * for a reset warning its `code` and typed `params`; for any other (a plan
 * without codes, a code this version does not know, words that are not
 * what the parameters give) `code` is `undefined` and `unknownCode` holds
 * the plan's code when it had one. `text` is always the plan's English words.
 */
export type PlanWarningView =
  | {
      readonly [K in PlanWarningKind]: {
        readonly code: K;
        readonly params: PlanWarningParams<K>;
        readonly text: string;
      };
    }[PlanWarningKind]
  | { readonly code: undefined; readonly unknownCode?: string; readonly text: string };

/** A warning as a planner makes it: code, parameters, and the English text they give. */
export type PlannedWarning = PlanWarningCode & { readonly text: string };

/** A warning of a reset plan, made by a planner: code, parameters, and the English text they give. */
export function planWarning<K extends PlanWarningKind>(
  code: K,
  params: PlanWarningParams<K>,
): PlannedWarning {
  const text = (WARNINGS[code].text as (p: PlanWarningParams<K>) => string)(params);
  return { code, params: params as PlanWarningCode["params"], text };
}

/** A planner's warnings as a plan carries them: the English `warnings` and the `warningCodes`. */
export function planWarnings(list: readonly PlannedWarning[]): {
  warnings: string[];
  warningCodes: PlanWarningCode[];
} {
  return {
    warnings: list.map((w) => w.text),
    warningCodes: list.map(({ code, params }) => ({ code, params })),
  };
}

function viewOf(text: string, coded: PlanWarningCode | undefined): PlanWarningView {
  const unknown: PlanWarningView = {
    code: undefined,
    ...(coded ? { unknownCode: coded.code } : {}),
    text,
  };
  if (!coded || !Object.hasOwn(WARNINGS, coded.code)) return unknown;
  const code = coded.code as PlanWarningKind;
  const parsed = WARNINGS[code].schema.safeParse(coded.params);
  if (!parsed.success) return unknown;
  const made = planWarning(code, parsed.data as PlanWarningParams<typeof code>);
  // Words that are not what the parameters give are shown as they are, never re-worded.
  if (made.text !== text) return unknown;
  return { code, params: parsed.data, text } as PlanWarningView;
}

/**
 * A plan's warnings as data, one per entry of `plan.warnings` and in its
 * order, for a front end that words them from its own message catalog. A
 * reset warning (`other-os-kept`, `other-os-erased`, `encrypted-volume`,
 * `rollback-allowed`, `factory-damaged`, `home-erased`) comes with its typed
 * parameters, checked against the plan's English words; any other warning
 * comes with `code: undefined` and its text, so nothing is ever left out.
 *
 * @example
 * ```ts
 * for (const w of planWarningViews(p))
 *   console.log(w.code === "other-os-erased" ? `${w.params.name} wird gelöscht` : w.text);
 * ```
 */
export function planWarningViews(plan: Plan): readonly PlanWarningView[] {
  return plan.warnings.map((text, i) => viewOf(text, plan.warningCodes?.[i]));
}
