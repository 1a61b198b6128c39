/**
 * Every screen and every error screen rendered in German, each frame checked
 * against the English catalog: no sentence of it may appear (issue #17,
 * "every string from a message catalog"). Plan warnings and error
 * explanations come from the catalog by code; an unknown code still speaks German.
 */
import { appendFileSync } from "node:fs";
import type { LifeboatError, Plan } from "@lifeboat/core";
import type { RecoveryMachine } from "@lifeboat/recovery-ui";
import {
  plan,
  type ResetRequest,
  type SystemState,
  type UnfinishedPlanState,
} from "@lifeboat/reset";
import { render } from "ink-testing-library";
import { createElement, type ReactElement } from "react";
import { describe, expect, it } from "vitest";
import { choiceOptions } from "../src/choices.js";
import { diagnose } from "../src/diagnosis.js";
import { EXPLAINED_ERROR_CODES, type Messages } from "../src/messages/catalog.js";
import { de } from "../src/messages/de.js";
import { en } from "../src/messages/en.js";
import { ChoicesScreen } from "../src/screens/choices.js";
import { ConfirmScreen } from "../src/screens/confirm.js";
import { DiagnosisScreen } from "../src/screens/diagnosis.js";
import { LanguageScreen } from "../src/screens/language.js";
import { OpeningScreen } from "../src/screens/opening.js";
import { PassphraseScreen } from "../src/screens/passphrase.js";
import { ProgressScreen } from "../src/screens/progress.js";
import { RescueScreen } from "../src/screens/rescue.js";
import { DoneScreen, ErrorScreen, FailedScreen } from "../src/screens/result.js";
import { UiContext, uiSettings } from "../src/ui.js";
import { fakeBackend, fakeState } from "./fixtures.js";

const GiB = 1024 ** 3;
const STAMP = "20261205T110000Z";
const nothing = () => {};

/** A frame as one line of words: borders gone, wrapped lines joined, spaces collapsed. */
function words(frame: string): string {
  return frame
    .split("\n")
    .map((l) => l.replace(/^[│|]\s?/, "").replace(/\s?[│|]$/, ""))
    .join(" ")
    .replace(/\s+/g, " ");
}

function show(node: ReactElement, t: Messages): string {
  const app = render(
    createElement(
      UiContext.Provider,
      { value: uiSettings(t, { ascii: false, color: false }) },
      node,
    ),
  );
  const frame = app.lastFrame() ?? "";
  app.unmount();
  // Opt-in: the frames as text captures (docs/recovery-ui.md).
  if (process.env.LIFEBOAT_UI_FRAMES) appendFileSync(process.env.LIFEBOAT_UI_FRAMES, `${frame}\n`);
  return words(frame);
}

const HOLE = "\u0000";
/** The literal parts of a catalog function's words: called with holes, split at them. */
function fragments(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (typeof value === "function") {
    const f = value as (...args: unknown[]) => unknown;
    try {
      const out = f(HOLE, HOLE, HOLE);
      return typeof out === "string" ? out.split(HOLE) : [];
    } catch {
      return []; // words made from a structured value (a warning's, a step's parameters)
    }
  }
  if (value && typeof value === "object") return Object.values(value).flatMap(fragments);
  return [];
}

/** English sentences a German screen must never show (the language screen's own words aside). */
const englishSentences = (() => {
  const {
    languageName: _n,
    languageQuestion: _q,
    languageWord: _w,
    warnings: _warnings,
    plan: _plan,
    ...rest
  } = en;
  const warningSamples = [
    en.warnings["other-os-kept"]({ name: HOLE, partitions: [3] }),
    en.warnings["other-os-erased"]({ name: HOLE, bytes: GiB, partitions: [3, 4] }),
    en.warnings["encrypted-volume"]({
      partition: { number: 6, partUuid: HOLE },
      luksVersion: 2,
      open: true,
    }),
    en.warnings["rollback-allowed"]({ securityEpoch: 1, floorEpoch: 2, reason: HOLE }),
    en.warnings["factory-damaged"]({}),
    en.warnings["home-erased"]({ bytes: GiB }),
  ].flatMap((w) => w.split(HOLE));
  const german = new Set(fragments(de).map((f) => f.trim()));
  return [...new Set([...fragments(rest), ...warningSamples].map((f) => f.trim()))]
    .filter((f) => f.length >= 12 && f.includes(" ") && !german.has(f))
    .map((f) => f.replace(/\s+/g, " "));
})();

function englishIn(text: string): string[] {
  return englishSentences.filter((s) => text.includes(s));
}

const part = (number: number, role: string, fsType: string | undefined, luks = false) => ({
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
  luks: luks ? { version: 2 as const, uuid: "l", openAs: "/dev/mapper/luks-l" } : undefined,
  mountpoints: [],
});

/** A machine with everything a screen can say: Windows, LUKS, a damaged factory state, an older image, snapshots. */
function everything(): SystemState {
  const base = fakeState();
  const sub = (id: number, path: string, readOnly = false) => ({
    id,
    path,
    uuid: id === 260 ? "fs" : `u${id}`,
    parentUuid: undefined,
    readOnly,
    bytes: GiB,
  });
  return fakeState({
    disks: [
      {
        device: "/dev/vda",
        sizeBytes: 64 * GiB,
        partitions: [
          part(2, "windows-data", "ntfs"),
          part(3, "windows-recovery", "ntfs"),
          part(6, "luks", "crypto_LUKS", true),
        ],
      } as unknown as SystemState["disks"][number],
    ],
    btrfs: {
      ...base.btrfs!,
      encryptedOn: "/dev/vda6",
      subvolumes: [...base.btrfs!.subvolumes, sub(260, ".lifeboat/factory/root", true)],
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
    checkpoints: [
      {
        id: "before-update",
        factory: false,
        rootPath: "x",
        createdAt: "2026-12-01T00:00:00Z",
      } as never,
    ],
  });
}

/** What the diagnosis shows besides: a reset that was interrupted. */
const interrupted: UnfinishedPlanState = {
  digest: "sha256:0",
  kind: "reset-keep-home",
  title: "Reset the system",
  status: "running",
  stoppedAt: null,
  lastError: undefined,
  paths: [],
};

function realPlan(state: SystemState, request: ResetRequest): Plan {
  const r = plan(state, request);
  if (r.isErr()) throw new Error(`${request.kind}: ${r.error.code} ${r.error.message}`);
  return r.value;
}

const unknownError = {
  code: "FROBNICATE_FAILED",
  message: "the frobnicator broke",
} as LifeboatError;
const errors: LifeboatError[] = [
  ...EXPLAINED_ERROR_CODES.map((code) => ({ code, message: `sdk message of ${code}` })),
  unknownError,
];

async function screens(t: Messages): Promise<Record<string, string>> {
  const state = everything();
  const { backend } = fakeBackend({
    state,
    planError: { "reset-user-data": { code: "RESET_TARGET_BUSY", message: "busy" } as never },
  });
  const machine = (await backend.open(async () => undefined))._unsafeUnwrap() as RecoveryMachine;
  const planning: RecoveryMachine = { ...machine, plan: (r) => plan(state, r) };
  const allow = { reason: "ticket 4711" };
  const full = realPlan(state, { kind: "full-restore", stamp: STAMP, allowRollback: allow });
  const fromImage = realPlan(state, {
    kind: "reset-from-recovery",
    stamp: STAMP,
    allowRollback: allow,
  });
  const keep = realPlan(fakeState({ ...state, factory: { ...state.factory!, intact: true } }), {
    kind: "reset-keep-home",
    stamp: STAMP,
  });
  const out: Record<string, string> = {
    language: show(createElement(LanguageScreen, { onChoose: nothing }), t),
    opening: show(createElement(OpeningScreen), t),
    passphrase: show(
      createElement(PassphraseScreen, {
        device: "/dev/vda6",
        attempt: 1,
        onSubmit: nothing,
        onCancel: nothing,
      }),
      t,
    ),
    diagnosis: show(
      createElement(DiagnosisScreen, {
        findings: diagnose({ ...state, unfinishedPlan: interrupted }, t),
        onContinue: nothing,
      }),
      t,
    ),
    "diagnosis image not verified": show(
      createElement(DiagnosisScreen, {
        findings: diagnose(
          {
            ...state,
            recovery: {
              ...state.recovery!,
              verified: false,
              problem: "the signature does not verify",
              problemCode: "IMAGE_BAD_SIGNATURE",
            },
          },
          t,
        ),
        onContinue: nothing,
      }),
      t,
    ),
    choices: show(
      createElement(ChoicesScreen, {
        options: choiceOptions(planning, t, STAMP).options,
        onChoose: nothing,
        onBack: nothing,
      }),
      t,
    ),
    rescue: show(
      createElement(RescueScreen, {
        neededBytes: GiB,
        target: { directory: "/media/usb", freeBytes: 512 * 1024 ** 2 },
        problem: t.errors.RESET_INSUFFICIENT_SPACE.what,
        onSubmit: nothing,
        onBack: nothing,
      }),
      t,
    ),
    "confirm full-restore": show(
      createElement(ConfirmScreen, { plan: full, onConfirm: nothing, onBack: nothing }),
      t,
    ),
    "confirm reset-from-recovery": show(
      createElement(ConfirmScreen, { plan: fromImage, onConfirm: nothing, onBack: nothing }),
      t,
    ),
    "confirm reset-keep-home": show(
      createElement(ConfirmScreen, { plan: keep, onConfirm: nothing, onBack: nothing }),
      t,
    ),
    progress: show(
      createElement(ProgressScreen, {
        progress: {
          title: t.plan.planTitle("full-restore") ?? "",
          stepIndex: 2,
          totalSteps: 9,
          stepTitle: "x",
          bytesDone: GiB,
          bytesTotal: 4 * GiB,
          etaSeconds: 180,
          safeToStop: true,
        },
      }),
      t,
    ),
    "progress unsafe": show(
      createElement(ProgressScreen, {
        progress: { title: "x", stepIndex: 5, totalSteps: 9, stepTitle: "x", safeToStop: false },
      }),
      t,
    ),
    done: show(createElement(DoneScreen, { onAction: nothing }), t),
    "done rescue": show(
      createElement(DoneScreen, { rescuedTo: "/media/usb", onAction: nothing }),
      t,
    ),
  };
  for (const error of errors) {
    out[`failed ${error.code}`] = show(
      createElement(FailedScreen, { error, onAction: nothing }),
      t,
    );
    out[`failed rescue ${error.code}`] = show(
      createElement(FailedScreen, { error, rescue: true, onAction: nothing }),
      t,
    );
    out[`error ${error.code}`] = show(
      createElement(ErrorScreen, { error, canGoBack: true, onAction: nothing }),
      t,
    );
  }
  return out;
}

let germanScreens: Promise<Record<string, string>> | undefined;
/** The German screens, rendered once for the tests below. */
const germanOnce = () => {
  germanScreens ??= screens(de);
  return germanScreens;
};

describe("German everywhere: no sentence of the English catalog on any screen", () => {
  it("the check finds English: the same screens in English are full of it", async () => {
    expect(englishSentences.length).toBeGreaterThan(100);
    const english = await screens(en);
    for (const [name, text] of Object.entries(english))
      if (name !== "language") expect(englishIn(text), name).not.toEqual([]);
  });

  it("every screen and every error screen in German", async () => {
    const german = await germanOnce();
    // 14 screens, and three error screens for each explained code and one unknown code.
    expect(Object.keys(german)).toHaveLength(14 + 3 * (EXPLAINED_ERROR_CODES.length + 1));
    const found = Object.entries(german)
      .map(([name, text]) => [name, englishIn(text)] as const)
      .filter(([, hits]) => hits.length > 0);
    expect(found).toEqual([]);
  });

  it("sizes with the German decimal comma: no '1.5 GiB' on any German screen", async () => {
    const german = await germanOnce();
    const dotted = Object.entries(german)
      .map(([name, text]) => [name, text.match(/\d\.\d+ [KMGTP]?i?B\b/g) ?? []] as const)
      .filter(([, hits]) => hits.length > 0);
    expect(dotted).toEqual([]);
    // The screens do show sizes: the check has something to find.
    expect(german["confirm full-restore"]).toMatch(/\d,\d GiB/);
    expect(german.rescue).toMatch(/\d,\d GiB/);
  });

  it("plan warnings in German, from their codes", async () => {
    const german = await germanOnce();
    const full = german["confirm full-restore"]!;
    expect(full).toContain("Bitte zuerst lesen:");
    expect(full).toContain("Alle Dateien aller Benutzer in /home werden gelöscht (1,0 GiB).");
    expect(full).toContain("Windows WIRD GELÖSCHT (20,0 GiB auf Partitionen 2, 3).");
    expect(full).toContain("Partition 6 ist verschlüsselt (LUKS2, entsperrt)");
    expect(full).toContain(
      "Ein älteres Wiederherstellungsabbild wird absichtlich benutzt (Sicherheitsstufe 1, niedriger als 2); angegebener Grund: ticket 4711.",
    );
    const fromImage = german["confirm reset-from-recovery"]!;
    expect(fromImage).toContain("Der Werkszustand ist beschädigt;");
    expect(fromImage).toContain(
      "Windows (Partitionen 2, 3) ist auch auf dieser Festplatte; es wird nicht angerührt.",
    );
    // The plan's own English warnings are nowhere.
    const p = realPlan(everything(), {
      kind: "full-restore",
      stamp: STAMP,
      allowRollback: { reason: "ticket 4711" },
    });
    for (const w of p.warnings) expect(full).not.toContain(w);
  });

  it("a warning without words in the catalog: the plan's text and its code, never left out", () => {
    const p = realPlan(everything(), {
      kind: "reset-from-recovery",
      stamp: STAMP,
      allowRollback: { reason: "r" },
    });
    const odd: Plan = {
      ...p,
      warnings: [...p.warnings, "The moon is full."],
      warningCodes: [...(p.warningCodes ?? []), { code: "moon-phase", params: {} }],
    };
    const text = show(
      createElement(ConfirmScreen, { plan: odd, onConfirm: nothing, onBack: nothing }),
      de,
    );
    expect(text).toContain("Hinweis (nur englisch, moon-phase): The moon is full.");
    expect(text).toContain("Der Werkszustand ist beschädigt;");
  });

  it("a recovery image that could not be checked: why, in German, from the SDK's problem code", async () => {
    const text = (await germanOnce())["diagnosis image not verified"]!;
    expect(text).toContain(
      "Das Wiederherstellungsabbild konnte nicht geprüft werden: Die Signatur des Wiederherstellungsabbilds ist ungültig.",
    );
    expect(text).not.toContain("the signature does not verify");
  });

  it("an error: what happened, what is safe, what next, from the catalog; an unknown code still German", async () => {
    const german = await germanOnce();
    const luks = german["error RESET_LUKS_WRONG_KEY"]!;
    expect(luks).toContain("Die Passphrase hat die verschlüsselte Festplatte nicht geöffnet.");
    expect(luks).toContain("Sicher: Auf der Festplatte wurde nichts verändert.");
    expect(luks).toContain("Weiter: Starten Sie neu und geben Sie die Passphrase noch einmal ein.");
    const step = german["failed STEP_FAILED"]!;
    expect(step).toContain("Sicher: Was bisher getan wurde, ist auf der Festplatte aufgezeichnet");
    expect(step).toContain("1. Erneut versuchen");
    expect(german["failed rescue IO_FAILED"]).toContain(
      "Sicher: Nur die Kopie auf dem USB-Stick ist unvollständig",
    );
    expect(german["error FROBNICATE_FAILED"]).toContain(
      "Unerwarteter Fehler FROBNICATE_FAILED: the frobnicator broke",
    );
    expect(german["failed FROBNICATE_FAILED"]).toContain(
      "Unerwarteter Fehler FROBNICATE_FAILED: the frobnicator broke",
    );
  });

  it("both catalogs explain the same codes and have the same keys", () => {
    const keys = (o: object) => Object.keys(o).sort();
    expect(keys(de.errors)).toEqual([...EXPLAINED_ERROR_CODES].sort());
    expect(keys(en.errors)).toEqual([...EXPLAINED_ERROR_CODES].sort());
    expect(keys(de.warnings)).toEqual(keys(en.warnings));
    expect(keys(de.errorNext)).toEqual(keys(en.errorNext));
    expect(keys(de.errorSafe)).toEqual(keys(en.errorSafe));
  });
});
