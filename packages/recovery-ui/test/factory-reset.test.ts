/**
 * GRUB's "Reset to factory settings" (issue #16): the front end started with
 * `start: "reset-keep-home"` opens on that confirmation; one typed word
 * resets keeping /home, then restart. Cancelling goes to the main menu; an
 * interrupted reset, a locked disk and an impossible plan are still handled.
 */
import { type HostAction, RecoveryApp } from "@lifeboat/recovery-ui";
import { render } from "ink-testing-library";
import { createElement } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeOptions, fakeBackend, fakeState, KEY, tick, waitFor } from "./fixtures.js";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

function start(options: FakeOptions = {}) {
  const fake = fakeBackend(options);
  const exits: HostAction[] = [];
  const app = render(
    createElement(RecoveryApp, {
      backend: fake.backend,
      locale: "en",
      color: false,
      start: "reset-keep-home",
      now: () => new Date("2026-12-04T20:00:00Z"),
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
  return { ...fake, app, screen, type, see, exits };
}

const KEEP_HOME_DIGEST = `sha256:${"reset-keep-home".padEnd(64, "0")}`;

describe('start: "reset-keep-home" (GRUB\'s Reset to factory settings)', () => {
  it("opens on the keep-my-files confirmation; YES resets, then restart", async () => {
    const s = start();
    await s.see("Type YES");
    const text = s.screen();
    expect(text).toContain("Please check: Plan reset-keep-home");
    expect(text).toContain("Nothing will be lost.");
    expect(s.calls).toEqual(["open", "plan reset-keep-home"]);
    await s.type("y", "e", "s", KEY.enter);
    await s.see("Everything went well.");
    expect(s.calls).toContain(`execute ${KEEP_HOME_DIGEST}`);
    await s.type(KEY.enter);
    await waitFor(() => s.exits.length > 0);
    expect(s.exits).toEqual(["restart"]);
    expect(s.calls.at(-1)).toBe("close");
  });

  it("Esc on the confirmation goes to the main menu; nothing is done", async () => {
    const s = start();
    await s.see("Type YES");
    await s.type(KEY.esc);
    await s.see("What would you like to do?");
    expect(s.screen()).toContain("Reset the system, keep my files");
    expect(s.calls.some((c) => c.startsWith("execute"))).toBe(false);
  });

  it("an encrypted disk asks its passphrase first, then the confirmation", async () => {
    const s = start({ luks: { device: "/dev/loop1", key: "right" } });
    await s.see("passphrase");
    await s.type(..."right".split(""), KEY.enter);
    await s.see("Type YES");
    expect(s.calls).toEqual(["open", "key right", "plan reset-keep-home"]);
  });

  it("an interrupted reset is shown first and finished from the choices, not a new reset", async () => {
    const s = start({
      state: fakeState({
        unfinishedPlan: {
          digest: "sha256:1",
          kind: "reset-keep-home",
          title: "Reset keeping home",
          status: "running",
          stoppedAt: "exchange",
          lastError: undefined,
          paths: [],
        },
      }),
    });
    await s.see('An earlier reset was interrupted: "Reset keeping home". Finish it first.');
    expect(s.screen()).not.toContain("Type YES");
    await s.type(KEY.enter);
    await s.see("1. Finish the interrupted reset");
    await s.type(KEY.enter);
    await s.see("Everything went well.");
    expect(s.calls).toContain("resume");
    expect(s.calls.some((c) => c.startsWith("execute"))).toBe(false);
  });

  it("a reset that cannot be planned (no factory snapshot) shows the diagnosis, then the choices say why", async () => {
    const s = start({
      state: fakeState({ factory: undefined }),
      planError: {
        "reset-keep-home": {
          code: "RESET_NO_FACTORY_SNAPSHOT",
          message: "no factory snapshot",
          expectedPath: ".lifeboat/factory/root",
          reason: "missing",
        } as never,
      },
    });
    await s.see("What we found");
    expect(s.screen()).not.toContain("Type YES");
    await s.type(KEY.enter);
    await s.see("What would you like to do?");
  });
});
