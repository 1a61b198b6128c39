import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createPlan,
  createRecordingRunner,
  type JsonValue,
  type Plan,
  type PlanStep,
} from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import {
  checkPlanText,
  executeReset,
  plan,
  RESET_REQUEST_KINDS,
  type ResetRequest,
  resumeReset,
  type SystemState,
} from "../src/index.js";
import { keptByReset, laptop } from "./fixtures.js";

const kept = keptByReset("20260101T000000Z");

const stamp = "20261125T200000Z";

/** The laptop, with an old root kept by an earlier reset (so cleanup has work). */
function machine(): SystemState {
  const base = laptop();
  const btrfs = base.btrfs!;
  return laptop({
    btrfs: {
      ...btrfs,
      subvolumes: [
        ...btrfs.subvolumes,
        {
          id: 300,
          path: "root.old-20260101T000000Z",
          uuid: "9999",
          parentUuid: undefined,
          readOnly: false,
          bytes: 12 * 1024 ** 3,
        },
        kept.bootSubvolume,
      ],
    },
    keptRoots: [kept.keptRoot],
  });
}

const REQUESTS: Record<(typeof RESET_REQUEST_KINDS)[number], ResetRequest> = {
  "reset-keep-home": { kind: "reset-keep-home", stamp },
  "reset-from-recovery": { kind: "reset-from-recovery", stamp },
  "full-restore": { kind: "full-restore", stamp },
  "reset-user-data": {
    kind: "reset-user-data",
    stamp,
    rescueTo: { directory: "/run/media/usb", freeBytes: 64 * 1024 ** 3 },
  },
  rescue: {
    kind: "rescue",
    stamp,
    target: { directory: "/run/media/usb", freeBytes: 64 * 1024 ** 3 },
  },
  cleanup: { kind: "cleanup" },
  rollback: { kind: "rollback", checkpoint: "factory", stamp },
  "undo-reset": { kind: "undo-reset", stamp },
};

function planFor(state: SystemState, kind: (typeof RESET_REQUEST_KINDS)[number]): Plan {
  const r = plan(state, REQUESTS[kind]);
  if (r.isErr()) throw new Error(`${kind}: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** The same plan with one step replaced, sealed again (a digest an attacker can compute). */
function resealed(p: Plan, index: number, step: PlanStep): Plan {
  const steps = p.steps.map((s, i) => (i === index ? step : s));
  return createPlan({
    kind: p.kind,
    title: p.title,
    target: p.target,
    warnings: p.warnings,
    steps,
  })._unsafeUnwrap();
}

type Leaf = { readonly path: readonly (string | number)[]; readonly value: JsonValue };

function leaves(value: JsonValue, at: readonly (string | number)[] = []): Leaf[] {
  if (Array.isArray(value))
    return (value as readonly JsonValue[]).flatMap((v, i) => leaves(v, [...at, i]));
  if (typeof value === "object" && value !== null)
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...at, k]));
  return [{ path: at, value }];
}

function edited(value: JsonValue): JsonValue {
  if (typeof value === "string")
    return value.startsWith("sha256:")
      ? `sha256:${"0".repeat(64)}`
      : value.startsWith("/")
        ? "/etc"
        : /^[0-9a-f-]{36}$/.test(value)
          ? "00000000-0000-4000-8000-00000000dead"
          : value === "root"
            ? "home"
            : "root.old-20260101T000000Z";
  if (typeof value === "number") return value + 4096;
  if (typeof value === "boolean") return !value;
  return "x";
}

function setIn(value: JsonValue, at: readonly (string | number)[], to: JsonValue): JsonValue {
  if (at.length === 0) return to;
  const [head, ...rest] = at;
  if (Array.isArray(value))
    return (value as readonly JsonValue[]).map((v, i) => (i === head ? setIn(v, rest, to) : v));
  if (typeof value === "object" && value !== null && typeof head === "string") {
    const record = value as { readonly [key: string]: JsonValue };
    return { ...record, [head]: setIn(record[head] ?? null, rest, to) };
  }
  return value;
}

describe("checkPlanText: plan words are derived from parameters", () => {
  it.each(RESET_REQUEST_KINDS)("%s: every step's words are what its parameters give", (kind) => {
    const p = planFor(machine(), kind);
    expect(checkPlanText(p)._unsafeUnwrap()).toEqual(p);
  });

  it("a re-sealed plan whose drop-old-home now names root.old-… is refused (RESET_PLAN_TEXT_MISMATCH)", () => {
    const p = planFor(machine(), "full-restore");
    const i = p.steps.findIndex((s) => s.id === "drop-old-home");
    const step = p.steps[i]!;
    const forged = resealed(p, i, {
      ...step,
      params: { ...step.params, path: "root.old-20260101T000000Z" },
    });
    expect(checkPlanText(forged)._unsafeUnwrapErr()).toEqual({
      code: "RESET_PLAN_TEXT_MISMATCH",
      message: `Step drop-old-home (reset.delete-subvolume) says "Delete the old home (now named home.new-${stamp})" but its parameters do: "Delete the old root (now named root.old-20260101T000000Z)" (title differ); make a new plan.`,
      stepId: "drop-old-home",
      kind: "reset.delete-subvolume",
      fields: ["title"],
      expectedTitle: "Delete the old root (now named root.old-20260101T000000Z)",
      planTitle: `Delete the old home (now named home.new-${stamp})`,
    });
  });

  it("unknown kinds and parameters that do not fit their kind are refused", () => {
    const p = planFor(machine(), "cleanup");
    const step = p.steps[0]!;
    expect(
      checkPlanText(resealed(p, 0, { ...step, kind: "reset.format-disk" }))._unsafeUnwrapErr().code,
    ).toBe("UNKNOWN_STEP");
    const noPath = { ...step, params: { role: "data", readOnly: false } };
    const e = checkPlanText(resealed(p, 0, noPath))._unsafeUnwrapErr();
    expect(e).toMatchObject({ code: "RESET_BAD_STEP_PARAMS", stepId: "drop-1" });
    expect(e.code === "RESET_BAD_STEP_PARAMS" && e.issues.join()).toMatch(/^path: /);
    const outside = { ...step, params: { ...step.params, path: "../etc" } };
    expect(checkPlanText(resealed(p, 0, outside))._unsafeUnwrapErr().code).toBe(
      "RESET_BAD_STEP_PARAMS",
    );
    const scratchHome = { ...step, params: { role: "scratch", path: "home" } };
    expect(checkPlanText(resealed(p, 0, scratchHome))._unsafeUnwrapErr().code).toBe(
      "RESET_BAD_STEP_PARAMS",
    );
  });

  it("every parameter of every step of every request kind: an edit is refused or the words are the edit's own", () => {
    const refusedByKind = new Map<string, number>();
    const acceptedByKind = new Map<string, number>();
    let cases = 0;
    for (const kind of RESET_REQUEST_KINDS) {
      const p = planFor(machine(), kind);
      p.steps.forEach((step, i) => {
        for (const leaf of leaves(step.params)) {
          const params = setIn(step.params, leaf.path, edited(leaf.value));
          const forged = resealed(p, i, { ...step, params: params as PlanStep["params"] });
          const r = checkPlanText(forged);
          cases++;
          if (r.isErr()) {
            expect(["RESET_PLAN_TEXT_MISMATCH", "RESET_BAD_STEP_PARAMS"]).toContain(r.error.code);
            expect(r.error).toMatchObject({ stepId: step.id });
            refusedByKind.set(step.kind, (refusedByKind.get(step.kind) ?? 0) + 1);
          } else {
            // Accepted only when the words do not depend on that parameter: they are the truth.
            const shown = r.value.steps[i]!;
            expect(shown.params).toEqual(params);
            expect({ ...shown, params: step.params }).toEqual(step);
            acceptedByKind.set(step.kind, (acceptedByKind.get(step.kind) ?? 0) + 1);
          }
        }
      });
    }
    expect(cases).toBeGreaterThan(100);
    // Every kind that names what it acts on, or what it destroys, refuses some edit.
    expect([...refusedByKind.keys()].sort()).toEqual([
      "reset.check",
      "reset.create-subvolume",
      "reset.delete-subvolume",
      "reset.exchange",
      "reset.install-boot",
      "reset.keep-boot",
      "reset.prepare-root",
      "reset.remove-partitions",
      "reset.rename",
      "reset.rescue-copy",
      "reset.rescue-verify",
      "reset.snapshot",
      "reset.stage-boot",
      "reset.unpack",
    ]);
    // Its words name no set; the set's identity is checked when it runs (RESET_IMAGE_CHANGED).
    expect(acceptedByKind.get("reset.verify-image")).toBe(2);
  });
});

describe("executeReset and resumeReset refuse such a plan before writing anything", () => {
  it("no journal, no .lifeboat directory, no command run", async () => {
    const top = await mkdtemp(path.join(tmpdir(), "lifeboat-plan-text-"));
    try {
      const p = planFor(machine(), "reset-user-data");
      const i = p.steps.findIndex((s) => s.id === "drop-old-home");
      const step = p.steps[i]!;
      const forged = resealed(p, i, { ...step, params: { ...step.params, path: "root" } });
      const runner = createRecordingRunner();
      const r = await executeReset({ runner, top }, forged, { confirm: forged.digest });
      expect(r._unsafeUnwrapErr().code).toBe("RESET_PLAN_TEXT_MISMATCH");
      expect(await readdir(top)).toEqual([]);
      expect(runner.calls).toEqual([]);
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });

  it("resume: a journal holding such a plan is left as it is, nothing runs", async () => {
    const top = await mkdtemp(path.join(tmpdir(), "lifeboat-plan-text-"));
    try {
      const p = planFor(machine(), "full-restore");
      const i = p.steps.findIndex((s) => s.id === "drop-old-home");
      const step = p.steps[i]!;
      const forged = resealed(p, i, { ...step, params: { ...step.params, path: "root" } });
      await mkdir(path.join(top, ".lifeboat"));
      const journal = path.join(top, ".lifeboat/journal.json");
      const text = `${JSON.stringify({
        version: 1,
        plan: forged,
        planDigest: forged.digest,
        status: "running",
        completedStepIds: ["check", "verify-image"],
        currentStepId: "unpack",
        attempt: 1,
        startedAt: "2026-11-25T20:00:00.000Z",
        updatedAt: "2026-11-25T20:01:00.000Z",
        finishedAt: null,
        lastError: null,
      })}\n`;
      await writeFile(journal, text);
      const runner = createRecordingRunner();
      const r = await resumeReset({ runner, top });
      expect(r._unsafeUnwrapErr()).toMatchObject({
        code: "RESET_PLAN_TEXT_MISMATCH",
        stepId: "drop-old-home",
      });
      expect(await readFile(journal, "utf8")).toBe(text);
      expect(await readdir(path.join(top, ".lifeboat"))).toEqual(["journal.json"]);
      expect(runner.calls).toEqual([]);
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });
});
