// planStepViews / payloadOrigin (issue #17): a front end renders a plan's steps
// in its own language from typed kinds and parameters; the plan and its digest
// stay as they are, and a plan whose words were edited is refused.
import { createPlan } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import { payloadOrigin, plan, planStepViews } from "../src/index.js";
import { laptop } from "./fixtures.js";

const stamp = "20261125T200000Z";

describe("planStepViews", () => {
  it("gives each step's kind and typed parameters, in order, without touching the plan", () => {
    const p = plan(laptop(), { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    const before = JSON.stringify(p);
    const views = planStepViews(p)._unsafeUnwrap();
    expect(JSON.stringify(p)).toBe(before);
    expect(views.map((v) => v.kind)).toEqual(p.steps.map((s) => s.kind));
    const swap = views.find((v) => v.kind === "reset.exchange");
    if (swap?.kind !== "reset.exchange") throw new Error("no exchange");
    expect([swap.params.a, swap.params.b, swap.params.keptAs]).toEqual([
      "root",
      `root.new-${stamp}`,
      `root.old-${stamp}`,
    ]);
    expect(swap.destroys).toEqual(p.steps.find((s) => s.id === swap.id)?.destroys);
  });

  it("refuses a plan whose words are not its parameters'", () => {
    const p = plan(laptop(), { kind: "reset-keep-home", stamp })._unsafeUnwrap();
    const edited = createPlan({
      ...p,
      steps: p.steps.map((s, i) => (i === 0 ? { ...s, title: "Nothing to see" } : s)),
    })._unsafeUnwrap();
    expect(planStepViews(edited)._unsafeUnwrapErr().code).toBe("RESET_PLAN_TEXT_MISMATCH");
  });

  it("payloadOrigin names where a /boot payload or root snapshot comes from", () => {
    expect(payloadOrigin(".lifeboat/factory/boot")).toEqual({ kind: "factory" });
    expect(payloadOrigin(".lifeboat/factory/root")).toEqual({ kind: "factory" });
    expect(payloadOrigin(`.lifeboat/boot-${stamp}`)).toEqual({ kind: "factory" });
    expect(payloadOrigin(`.lifeboat/boot.old-${stamp}`)).toEqual({ kind: "kept", stamp });
    expect(payloadOrigin("elsewhere")).toEqual({ kind: "other", path: "elsewhere" });
  });
});
