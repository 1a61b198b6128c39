/**
 * "Undo the last reset" on the main screen, and real reset plans shown in
 * the person's language (issue #17): the confirmation's steps and data loss
 * come from the plan's typed steps through the catalog, the digest is the plan's.
 */
import { type HostAction, RecoveryApp, type RecoveryBackend } from "@lifeboat/recovery-ui";
import { plan, type SystemState } from "@lifeboat/reset";
import { render } from "ink-testing-library";
import { ok } from "neverthrow";
import { createElement } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { fakeBackend, fakeState, KEY, tick, waitFor } from "./fixtures.js";

const GiB = 1024 ** 3;
const KEPT = "20261201T090000Z";

/** A state the real planner accepts: a factory snapshot, and a root an earlier reset kept. */
function plannable(kept: boolean): SystemState {
  const base = fakeState();
  const sub = (id: number, path: string, uuid: string, readOnly = false) => ({
    id,
    path,
    uuid,
    parentUuid: undefined,
    readOnly,
    bytes: GiB,
  });
  return fakeState({
    btrfs: {
      ...base.btrfs!,
      subvolumes: [
        ...base.btrfs!.subvolumes,
        sub(260, ".lifeboat/factory/root", "fs", true),
        ...(kept
          ? [sub(261, `root.old-${KEPT}`, "old"), sub(262, `.lifeboat/boot.old-${KEPT}`, "ob")]
          : []),
      ],
    },
    ...(kept
      ? {
          keptRoots: [
            {
              stamp: KEPT,
              rootPath: `root.old-${KEPT}`,
              bytes: GiB,
              bootPath: `.lifeboat/boot.old-${KEPT}`,
              bootFiles: [{ path: "vmlinuz-6.9.1", bytes: 1024, sha256: "a".repeat(64) }],
            },
          ],
        }
      : { keptRoots: [] }),
  });
}

/** The fake machine, planning with the real planner; its resume stays a moment in the first step. */
function realPlanning(state: SystemState) {
  const fake = fakeBackend({ state });
  const backend: RecoveryBackend = {
    open: async (ask) =>
      (await fake.backend.open(ask)).map((m) => ({
        ...m,
        plan: (request) => {
          fake.calls.push(`plan ${request.kind}`);
          return plan(m.state, request);
        },
        resume: async (onProgress) => {
          fake.calls.push("resume");
          onProgress({
            type: "step-started",
            stepId: "check",
            stepIndex: 0,
            totalSteps: 2,
            kind: "reset.check",
            title: "step 1",
            rerun: true,
          });
          await tick(400);
          return ok(undefined);
        },
      })),
  };
  return { ...fake, backend };
}

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

function start(state: SystemState, locale: "en" | "de") {
  const fake = realPlanning(state);
  const exits: HostAction[] = [];
  const app = render(
    createElement(RecoveryApp, {
      backend: fake.backend,
      locale,
      color: false,
      now: () => new Date("2026-12-05T08:00:00Z"),
      onExit: (a) => exits.push(a),
    }),
  );
  cleanup = () => app.unmount();
  const screen = () => app.lastFrame() ?? "";
  const type = async (...keys: string[]) => {
    for (const k of keys) {
      app.stdin.write(k);
      for (let i = 0; i < 6; i++) {
        const n = app.frames.length;
        await tick(40);
        if (app.frames.length === n) break;
      }
    }
  };
  const see = async (text: string) => {
    await waitFor(() => screen().includes(text));
    expect(screen()).toContain(text);
    await tick(100);
  };
  return { ...fake, screen, type, see, frames: () => app.frames.join("\n") };
}

describe("undo the last reset", () => {
  it("is offered when a reset kept the old system, with what it keeps; it confirms the undo plan's digest", async () => {
    const s = start(plannable(true), "en");
    await s.see("The system as it was before the reset of 2026-12-01 09:00 UTC is kept");
    await s.type(KEY.enter);
    await s.see("Undo the last reset (back to the system before it)");
    // reset-keep-home, reset-from-recovery, rescue, reset-user-data, full-restore, undo-reset
    await s.type("6");
    await s.see("Undo the reset of 20261201T090000Z");
    expect(s.screen()).toContain(`Swap root and root.old-${KEPT} in one atomic rename`);
    expect(s.screen()).toContain("kept as root.old-20261205T080000Z until you run cleanup");
    await s.type("Y", "E", "S", KEY.enter);
    await s.see("Type ERASE");
    expect(s.screen()).toContain("That is not ERASE. Nothing was done.");
    await s.type(..."ERASE".split(""), KEY.enter);
    await s.see("Done");
    const undo = plan(plannable(true), {
      kind: "undo-reset",
      stamp: "20261205T080000Z",
    })._unsafeUnwrap();
    expect(s.calls).toContain(`execute ${undo.digest}`);
  });

  it("is not offered when no old system is kept", async () => {
    const s = start(plannable(false), "en");
    await s.see("What we found");
    await s.type(KEY.enter);
    await s.see("Power off");
    expect(s.screen()).not.toContain("Undo the last reset");
    expect(s.calls).not.toContain("plan undo-reset");
  });
});

describe("plan steps and data loss in the person's language", () => {
  it("German: the reset's steps and what it removes in German; the digest confirmed is the plan's", async () => {
    const s = start(plannable(true), "de");
    await s.see("ist aufbewahrt; das Zurücksetzen kann");
    await s.type(KEY.enter);
    await s.see("System zurücksetzen, meine Dateien behalten");
    await s.type(KEY.enter);
    await s.see("Bitte prüfen: System auf den Werkszustand zurücksetzen");
    const text = s.screen();
    expect(text).toContain("für den ersten Start vorbereiten");
    expect(text).toContain("Subvolume root (das installierte System");
    expect(text).not.toMatch(/Swap root|Bring \/boot back|kept as root\.old/);
    await s.type(..."LOESCHEN".split(""), KEY.enter);
    await s.see("Fertig");
    const p = plan(plannable(true), { kind: "reset-keep-home", stamp: "20261205T080000Z" });
    expect(s.calls).toContain(`execute ${p._unsafeUnwrap().digest}`);
  });

  it("German: the undo's steps in German", async () => {
    const s = start(plannable(true), "de");
    await s.see("ist aufbewahrt; das Zurücksetzen kann");
    await s.type(KEY.enter);
    await s.see("Letztes Zurücksetzen rückgängig machen");
    await s.type("6");
    await s.see("Bitte prüfen: Das letzte Zurücksetzen rückgängig");
    expect(s.screen()).toContain(`root und root.old-${KEPT} in einem atomaren Umbenennen tauschen`);
  });

  it("German: finishing an interrupted reset shows its steps in German, from the journal's plan", async () => {
    const state = plannable(false);
    const interrupted = plan(state, { kind: "reset-keep-home", stamp: "20261205T070000Z" });
    const s = start(
      {
        ...state,
        unfinishedPlan: {
          digest: interrupted._unsafeUnwrap().digest,
          kind: "reset-keep-home",
          title: interrupted._unsafeUnwrap().title,
          status: "running",
          stoppedAt: "exchange",
          lastError: undefined,
          paths: [],
          plan: interrupted._unsafeUnwrap(),
        },
      },
      "de",
    );
    await s.see("Ein früheres Zurücksetzen wurde unterbrochen");
    await s.type(KEY.enter);
    await s.see("1. Das unterbrochene Zurücksetzen abschließen");
    await s.type(KEY.enter);
    await s.see("Fertig");
    expect(s.calls).toContain("resume");
    // The fake's executor names its steps "step 1", "step 2"; the screen words them from the plan.
    expect(s.frames()).toContain(
      "Schritt 1 von 2: Prüfen, dass das Dateisystem und der Schnappschuss vom Werkszustand",
    );
    expect(s.frames()).not.toContain("step 1");
  });
});
