import { render } from "ink-testing-library";
import { createElement } from "react";
import { describe, expect, it } from "vitest";
import { en } from "../src/messages/en.js";
import { advance } from "../src/progress-state.js";
import { ProgressScreen } from "../src/screens/progress.js";
import { UiContext, uiSettings } from "../src/ui.js";

function frame(progress: Parameters<typeof ProgressScreen>[0]["progress"], ascii: boolean) {
  const app = render(
    createElement(
      UiContext.Provider,
      { value: uiSettings(en, { ascii, color: false }) },
      createElement(ProgressScreen, { progress }),
    ),
  );
  const text = app.lastFrame() ?? "";
  app.unmount();
  return text;
}

describe("progress screen", () => {
  it("step n of m, a bytes bar, and that it is still safe to stop", () => {
    const text = frame(
      {
        title: "Restore from the recovery image",
        stepIndex: 2,
        totalSteps: 9,
        stepTitle: "Unpack the system",
        bytesDone: 512 * 1024 ** 2,
        bytesTotal: 1024 ** 3,
        safeToStop: true,
      },
      true,
    );
    expect(text).toContain("Working: Restore from the recovery image");
    expect(text).toContain("Step 3 of 9: Unpack the system");
    expect(text).toContain(`[${"#".repeat(20)}${".".repeat(20)}] 512 MiB of 1.0 GiB`);
    expect(text).toContain("It is still safe to stop");
  });

  it("past the point of no return it says so; resuming (safety unknown) says neither", () => {
    const base = { title: "t", stepIndex: 5, totalSteps: 9, stepTitle: "Exchange" };
    expect(frame({ ...base, safeToStop: false }, false)).toContain(
      "Do not turn the computer off now.",
    );
    const unknown = frame(base, false);
    expect(unknown).not.toContain("safe to stop");
    expect(unknown).not.toContain("Do not turn");
  });

  it("an estimate for a long step, from its rate so far", () => {
    const start = { title: "t", stepIndex: -1, totalSteps: 0, stepTitle: "" };
    const GiB = 1024 ** 3;
    let p = advance(
      start,
      { type: "plan-started", planDigest: "d", totalSteps: 9, attempt: 1, resumed: false },
      undefined,
      0,
    );
    p = advance(
      p,
      {
        type: "step-started",
        stepId: "unpack",
        stepIndex: 3,
        totalSteps: 9,
        kind: "k",
        title: "Unpack",
        rerun: false,
      },
      undefined,
      1_000,
    );
    p = advance(
      p,
      {
        type: "step-progress",
        stepId: "unpack",
        stepIndex: 3,
        bytesDone: GiB,
        bytesTotal: 4 * GiB,
      },
      undefined,
      61_000,
    );
    expect(p.etaSeconds).toBe(180);
    expect(p.safeToStop).toBeUndefined(); // resuming: no plan, safety unknown
    expect(frame(p, true)).toContain("About 3 minutes left for this step.");
  });
});
