import { describe, expect, it } from "vitest";
import { canonicalJson, computePlanDigest, createPlan } from "../src/index.js";

describe("canonicalJson", () => {
  it("sorts keys and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: [true, null], c: undefined })._unsafeUnwrap()).toBe(
      '{"a":[true,null],"b":1}',
    );
  });

  it("returns PLAN_ENCODING, naming where, for what JSON cannot carry (never throws)", () => {
    expect(canonicalJson({ steps: [{ bytes: Number.NaN }] })._unsafeUnwrapErr()).toEqual({
      code: "PLAN_ENCODING",
      message: "Cannot encode the number NaN at $.steps[0].bytes as canonical JSON.",
      at: "$.steps[0].bytes",
    });
    expect(canonicalJson([undefined])._unsafeUnwrapErr().at).toBe("$[0]");
    expect(canonicalJson({ n: 1n })._unsafeUnwrapErr().code).toBe("PLAN_ENCODING");
  });
});

describe("createPlan", () => {
  it("seals a digest computePlanDigest gives back", () => {
    const plan = createPlan({
      kind: "demo",
      title: "Demo",
      target: "/mnt",
      warnings: [],
      steps: [],
    });
    expect(computePlanDigest(plan._unsafeUnwrap())._unsafeUnwrap()).toBe(
      plan._unsafeUnwrap().digest,
    );
  });

  it("is an error, not an exception, for a step holding Infinity", () => {
    const step = {
      id: "s",
      kind: "demo",
      title: "s",
      params: { bytes: Number.POSITIVE_INFINITY },
      destroys: [],
      reversible: true,
      preconditions: [],
    };
    const r = createPlan({ kind: "demo", title: "Demo", target: "/", warnings: [], steps: [step] });
    expect(r._unsafeUnwrapErr().at).toBe("$.steps[0].params.bytes");
  });
});
