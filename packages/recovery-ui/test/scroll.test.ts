/**
 * Long confirmations on a small console (issue #17): at 80×25 a full restore's
 * steps, data-loss list and warnings are taller than the screen. The text
 * scrolls (PgUp/PgDn, Up/Down) between "more above/below" marks, every row is
 * reachable, and the typed word is taken only once the end has been shown. On
 * a console that reports no size (a serial console's 0×0) nothing is cut and
 * the word is taken at once. Rendered by Ink into a stream that reports its size.
 */
import { EventEmitter } from "node:events";
import type { Plan } from "@lifeboat/core";
import { plan, type SystemState } from "@lifeboat/reset";
import { render } from "ink";
import { createElement, type ReactElement } from "react";
import { describe, expect, it } from "vitest";
import type { Messages } from "../src/messages/catalog.js";
import { de } from "../src/messages/de.js";
import { en } from "../src/messages/en.js";
import { shownPlan } from "../src/plan-words.js";
import { ConfirmScreen } from "../src/screens/confirm.js";
import { DiagnosisScreen } from "../src/screens/diagnosis.js";
import { ErrorScreen, type ResultAction } from "../src/screens/result.js";
import { UiContext, uiSettings } from "../src/ui.js";
import { toRows } from "../src/widgets/scroll.js";
import { fakeState, KEY, tick } from "./fixtures.js";

const GiB = 1024 ** 3;
const PAGE_DOWN = "\u001B[6~";
const PAGE_UP = "\u001B[5~";

/** A tty of a given size that keeps the last frame Ink wrote. */
class Tty extends EventEmitter {
  readonly isTTY = true;
  frames: string[] = [];
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write(chunk: string): boolean {
    this.frames.push(chunk);
    return true;
  }
  last(): string {
    return this.frames.at(-1) ?? "";
  }
}

class Keys extends EventEmitter {
  readonly isTTY = true;
  private data: string | null = null;
  setRawMode() {}
  setEncoding() {}
  ref() {}
  unref() {}
  resume() {}
  pause() {}
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  async press(key: string) {
    this.data = key;
    this.emit("readable");
    await tick(20);
  }
  async type(text: string) {
    for (const c of text) await this.press(c);
  }
}

const part = (number: number, role: string, fsType: string) => ({
  device: `/dev/vda${number}`,
  number,
  typeGuid: "0fc63daf-8483-4772-8e79-3d69d8477de4",
  partUuid: `9a7d0000-0000-4000-8000-${String(number).padStart(12, "0")}`,
  name: undefined,
  sizeBytes: 10 * GiB,
  role,
  fsType,
  fsUuid: undefined,
  label: undefined,
  luks: undefined,
  mountpoints: [],
});

/** A machine whose full restore destroys a lot: Windows, many snapshots, a damaged factory state, an older image. */
function crowded(): SystemState {
  const base = fakeState();
  const sub = (id: number, path: string, readOnly = false) => ({
    id,
    path,
    uuid: id === 260 ? "fs" : `u${id}`,
    parentUuid: undefined,
    readOnly,
    bytes: 1.5 * GiB,
  });
  return fakeState({
    disks: [
      {
        device: "/dev/vda",
        sizeBytes: 64 * GiB,
        partitions: [part(2, "windows-data", "ntfs"), part(3, "windows-recovery", "ntfs")],
      } as unknown as SystemState["disks"][number],
    ],
    btrfs: {
      ...base.btrfs!,
      subvolumes: [
        ...base.btrfs!.subvolumes,
        sub(260, ".lifeboat/factory/root", true),
        ...Array.from({ length: 6 }, (_, i) => sub(300 + i, `home/user${i}/.snapshots/${i}`)),
        ...Array.from({ length: 4 }, (_, i) => sub(400 + i, `snapshots/${i}`, true)),
      ],
    },
    factory: { ...base.factory!, intact: false },
    recovery: {
      ...base.recovery!,
      securityEpoch: 1,
      epochFloor: 2,
      digest: `sha256:${"5e7".padEnd(64, "0")}`,
    },
    otherOses: [
      { kind: "windows", name: "Windows", devices: ["/dev/vda2", "/dev/vda3"], bytes: 20 * GiB },
    ],
    checkpoints: Array.from({ length: 5 }, (_, i) => ({
      id: `before-update-${i}`,
      factory: false,
      rootPath: `.lifeboat/checkpoints/${i}`,
      createdAt: "2026-12-01T00:00:00Z",
    })) as never,
  });
}

function fullRestore(): Plan {
  const r = plan(crowded(), {
    kind: "full-restore",
    stamp: "20261205T110000Z",
    allowRollback: { reason: "ticket 4711" },
  });
  if (r.isErr()) throw new Error(`${r.error.code} ${r.error.message}`);
  return r.value;
}

/** The frame's text rows, the border taken off. */
const rowsOf = (frame: string) =>
  frame.split("\n").map((l) =>
    l
      .replace(/^[│|]\s?/, "")
      .replace(/\s?[│|]\s*$/, "")
      .trimEnd(),
  );

/** The frame as one line of words. */
const flat = (frame: string) => rowsOf(frame).join(" ").replace(/\s+/g, " ");

function show(t: Messages, size: { columns: number; rows: number }, ascii = false) {
  const confirmed: string[] = [];
  const p = fullRestore();
  const screen = createElement(ConfirmScreen, {
    plan: p,
    onConfirm: (d) => confirmed.push(d),
    onBack: () => {},
  });
  return { ...mount(screen, t, size, ascii), confirmed, plan: p };
}

function mount(
  screen: ReactElement,
  t: Messages,
  size: { columns: number; rows: number },
  ascii = false,
) {
  const stdout = new Tty(size.columns, size.rows);
  const stdin = new Keys();
  const app = render(
    createElement(UiContext.Provider, { value: uiSettings(t, { ascii, color: false }) }, screen),
    {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      debug: true,
      patchConsole: false,
      exitOnCtrlC: false,
    },
  );
  return { stdout, stdin, app };
}

describe.each([
  ["en", en],
  ["de", de],
] as const)("a full restore's confirmation at 80×25 (%s)", (_name, t) => {
  it("scrolls to every data-loss item and warning; the word counts only after the end was shown", async () => {
    const { stdout, stdin, confirmed, plan: p, app } = show(t, { columns: 80, rows: 25 });
    try {
      await tick(50);
      const shown = shownPlan(p, t);
      expect(shown.losses.length).toBeGreaterThanOrEqual(8);
      expect(shown.warnings.length).toBeGreaterThanOrEqual(3);
      const first = stdout.last();
      expect(first.split("\n").length).toBeLessThan(25);
      expect(first).toContain(`↓ ${t.moreBelow} ↓`);
      // What is removed comes first: its heading and the loud item (Windows) are on the first screen.
      expect(flat(first)).toContain(t.confirmLosses);
      expect(flat(first)).toContain("Windows");
      expect(flat(first)).toContain(t.confirmPrompt(t.confirmWordErase));

      // Typed before the end was shown: not taken, and told why.
      await stdin.type(t.confirmWordErase);
      await stdin.press(KEY.enter);
      expect(confirmed).toEqual([]);
      expect(flat(stdout.last())).toContain(t.confirmReadFirst);

      // Scroll down, a row at a time, then a page at a time: every row of the text is seen.
      const seen = new Set<string>();
      const look = () => {
        for (const r of rowsOf(stdout.last())) seen.add(r.trim());
      };
      look();
      await stdin.press(KEY.down);
      look();
      for (let i = 0; i < 20 && stdout.last().includes(t.moreBelow); i++) {
        await stdin.press(PAGE_DOWN);
        look();
      }
      expect(stdout.last()).not.toContain(t.moreBelow);
      expect(stdout.last()).toContain(`↑ ${t.moreAbove} ↑`);
      // Once the end was shown, "read to the end first" goes.
      expect(flat(stdout.last())).not.toContain(t.confirmReadFirst);
      // Each item's every row (wrapped as the screen wraps it) was on the screen.
      const glyphs = uiSettings(t, { ascii: false, color: false }).glyphs;
      const items = [
        ...shown.losses.map((l) => ({
          text: `${l.what}${l.bytes === undefined ? "" : ` (${t.bytes(l.bytes)})`}${l.detail ? `: ${l.detail}` : ""}`,
          tone: l.loud ? ("bad" as const) : ("warn" as const),
        })),
        ...shown.warnings.map((w) => ({ text: w, tone: "warn" as const })),
      ];
      for (const item of items)
        for (const row of toRows([item], 76, glyphs, false))
          expect(seen.has(row.text.trim()), `"${row.text}" was shown`).toBe(true);
      // Every frame fits the screen.
      for (const f of stdout.frames) expect(f.split("\n").length).toBeLessThan(25);

      // Back up a page and type: the end was shown once, so the word is taken.
      await stdin.press(PAGE_UP);
      expect(stdout.last()).toContain(t.moreBelow);
      await stdin.type(t.confirmWordErase);
      await stdin.press(KEY.enter);
      expect(confirmed).toEqual([p.digest]);
    } finally {
      app.unmount();
    }
  });
});

describe("a console that reports no size (serial, 0×0)", () => {
  it.each([
    ["en", en],
    ["de", de],
  ] as const)("shows everything, no marks, and takes the word at once (%s)", async (_n, t) => {
    const { stdout, stdin, confirmed, plan: p, app } = show(t, { columns: 0, rows: 0 });
    try {
      await tick(50);
      expect(stdout.last()).not.toContain(t.moreBelow);
      expect(flat(stdout.last())).toContain(t.confirmPrompt(t.confirmWordErase));
      await stdin.type(t.confirmWordErase);
      await stdin.press(KEY.enter);
      expect(confirmed).toEqual([p.digest]);
    } finally {
      app.unmount();
    }
  });
});

describe("ASCII-only console", () => {
  it("marks more text below with v", async () => {
    const { stdout, app } = show(de, { columns: 80, rows: 25 }, true);
    try {
      await tick(50);
      expect(stdout.last()).toContain(`v ${de.moreBelow} v`);
      expect(stdout.last()).not.toContain("↓");
    } finally {
      app.unmount();
    }
  });
});

describe("other screens taller than 80×25 scroll too", () => {
  it.each([
    ["en", en],
    ["de", de],
  ] as const)("the diagnosis: every finding reachable, Enter still goes on (%s)", async (_n, t) => {
    const findings = Array.from({ length: 30 }, (_, i) => ({
      tone: "info" as const,
      text: `finding ${i + 1} of 30`,
    }));
    let continued = 0;
    const { stdout, stdin, app } = mount(
      createElement(DiagnosisScreen, { findings, onContinue: () => continued++ }),
      t,
      { columns: 80, rows: 25 },
    );
    try {
      await tick(50);
      expect(stdout.last()).toContain(t.moreBelow);
      expect(stdout.last()).not.toContain("finding 30 of 30");
      for (let i = 0; i < 10 && stdout.last().includes(t.moreBelow); i++)
        await stdin.press(PAGE_DOWN);
      expect(stdout.last()).toContain("finding 30 of 30");
      for (const f of stdout.frames) expect(f.split("\n").length).toBeLessThan(25);
      await stdin.press(KEY.enter);
      expect(continued).toBe(1);
    } finally {
      app.unmount();
    }
  });

  it("an error screen: PgDn reaches the end of a long message; Up/Down still move the menu", async () => {
    const message = Array.from({ length: 25 }, (_, i) => `line ${i + 1} of the tool's output`).join(
      "\n",
    );
    const actions: ResultAction[] = [];
    const { stdout, stdin, app } = mount(
      createElement(ErrorScreen, {
        error: { code: "STEP_FAILED", message } as never,
        canGoBack: true,
        onAction: (a) => actions.push(a),
      }),
      de,
      { columns: 80, rows: 25 },
    );
    try {
      await tick(50);
      expect(stdout.last()).toContain("Einzelheiten: [STEP_FAILED]");
      expect(stdout.last()).toContain(`↓ ${de.moreBelow} ↓`);
      expect(stdout.last()).not.toContain("line 25 of");
      for (let i = 0; i < 10 && stdout.last().includes(de.moreBelow); i++)
        await stdin.press(PAGE_DOWN);
      expect(stdout.last()).toContain("line 25 of the tool's output");
      for (const f of stdout.frames) expect(f.split("\n").length).toBeLessThan(25);
      await stdin.press(KEY.down);
      await stdin.press(KEY.enter);
      expect(actions).toEqual(["restart"]);
    } finally {
      app.unmount();
    }
  });
});
