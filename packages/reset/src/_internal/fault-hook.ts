import type { ResetEnvironment } from "../steps/context.js";

/**
 * TEST ONLY: called at each step boundary; returning true fails the step with
 * `RESET_FAULT_INJECTED` there (before it acts, or after it acted but before
 * the journal records it).
 */
export type FaultHook = (stepId: string, at: "before" | "after") => boolean;

// Not a field of the public ResetEnvironment: a symbol-keyed property (kept by
// object spreads), set only by the tests through withFaultHook. Symbol.for, so
// a test holding another copy of this module (a bundle) names the same key.
const FAULT_HOOK = Symbol.for("lifeboat.reset.faultHook");

/** The environment with a fault hook the step handlers call at each step boundary. */
export function withFaultHook<T extends ResetEnvironment>(env: T, hook: FaultHook): T {
  return { ...env, [FAULT_HOOK]: hook };
}

/** The fault hook of an environment, if a test set one. */
export function faultHookOf(env: ResetEnvironment): FaultHook | undefined {
  return (env as ResetEnvironment & { readonly [FAULT_HOOK]?: FaultHook })[FAULT_HOOK];
}
