import type { ExecutorEvent, LifeboatError, Plan } from "@lifeboat/core";
import { type RescueTarget, stampOf } from "@lifeboat/reset";
import { HOME_SUBVOLUME } from "@lifeboat/reset/layout";
import { useEffect, useMemo, useRef, useState } from "react";
import type { RecoveryBackend, RecoveryMachine } from "./backend.js";
import { choiceOptions } from "./choices.js";
import { diagnose, plainError } from "./diagnosis.js";
import type { ChoiceId } from "./messages/catalog.js";
import { LOCALES, type Locale } from "./messages/index.js";
import { shownPlan, shownPlanTitle } from "./plan-words.js";
import { advance } from "./progress-state.js";
import { ChoicesScreen } from "./screens/choices.js";
import { ConfirmScreen } from "./screens/confirm.js";
import { DiagnosisScreen } from "./screens/diagnosis.js";
import { LanguageScreen } from "./screens/language.js";
import { OpeningScreen } from "./screens/opening.js";
import { PassphraseScreen } from "./screens/passphrase.js";
import { ProgressScreen, type ProgressState } from "./screens/progress.js";
import { RescueScreen } from "./screens/rescue.js";
import { DoneScreen, ErrorScreen, FailedScreen, type ResultAction } from "./screens/result.js";
import { UiContext, uiSettings } from "./ui.js";

/** What the front end hands back to its host, which does it once the screen is released. */
export type HostAction = "restart" | "power-off" | "shell";

/**
 * Where the front end starts once the machine is open.
 * - `diagnosis` (default): what was found, then the choices.
 * - `reset-keep-home`: straight to the confirmation of "reset, keep my
 *   files" (GRUB's "Reset to factory settings"). An interrupted reset is
 *   shown first (the diagnosis, then the choices, where finishing it comes
 *   first); a reset that cannot be planned shows the diagnosis and the
 *   choices, which say why. Going back from the confirmation shows the choices.
 */
export type RecoveryStart = "diagnosis" | "reset-keep-home";

/** Properties of {@link RecoveryApp}. */
export interface RecoveryAppProps {
  /** Opens the machine (see `machineBackend`). */
  readonly backend: RecoveryBackend;
  /** The language; without it the first screen asks. */
  readonly locale?: Locale;
  /** ASCII-only borders and symbols (consoles without box-drawing glyphs). */
  readonly ascii?: boolean;
  /** Use colour (false under `NO_COLOR`). */
  readonly color?: boolean;
  /** Called once, after the machine is closed, with what the person chose to do next. */
  readonly onExit: (action: HostAction) => void;
  /** The clock (time stamps of plans); default `new Date()`. */
  readonly now?: () => Date;
  /** Where to start once the machine is open (default `diagnosis`); see {@link RecoveryStart}. */
  readonly start?: RecoveryStart;
}

type Screen =
  | { readonly kind: "language" }
  | { readonly kind: "opening" }
  | {
      readonly kind: "passphrase";
      readonly device: string;
      readonly attempt: number;
      readonly answer: (passphrase: string | undefined) => void;
    }
  | { readonly kind: "diagnosis" }
  | { readonly kind: "choices" }
  | {
      readonly kind: "rescue";
      readonly directory?: string;
      readonly target?: RescueTarget;
      readonly problem?: string;
    }
  | { readonly kind: "confirm"; readonly plan: Plan; readonly rescuedTo?: string }
  | { readonly kind: "progress"; readonly progress: ProgressState; readonly rescuedTo?: string }
  | { readonly kind: "done"; readonly rescuedTo?: string }
  | { readonly kind: "failed"; readonly error: LifeboatError; readonly rescue: boolean }
  | { readonly kind: "error"; readonly error: LifeboatError; readonly canGoBack: boolean };

/**
 * The guided recovery front end as a React (Ink) component: language,
 * diagnosis, choices with their trade-offs, confirmation of a plan's digest,
 * progress, result. Keyboard only.
 *
 * @example
 * ```tsx
 * render(<RecoveryApp backend={machineBackend(runner, { disk })} onExit={(a) => host(a)} />);
 * // GRUB's "Reset to factory settings": open on the reset-keeping-files confirmation
 * render(<RecoveryApp backend={backend} start="reset-keep-home" onExit={(a) => host(a)} />);
 * ```
 */
export function RecoveryApp(props: RecoveryAppProps) {
  const [locale, setLocale] = useState<Locale | undefined>(props.locale);
  const [screen, setScreen] = useState<Screen>(
    props.locale ? { kind: "opening" } : { kind: "language" },
  );
  const machine = useRef<RecoveryMachine | undefined>(undefined);
  const plans = useRef(new Map<ChoiceId, Plan>());
  /** The plan last run, for the words of a resume after it failed. */
  const lastPlan = useRef<Plan | undefined>(undefined);
  const [, setStateVersion] = useState(0);
  const t = LOCALES[locale ?? "en"];
  const ui = useMemo(
    () => uiSettings(t, { ascii: props.ascii ?? false, color: props.color ?? true }),
    [t, props.ascii, props.color],
  );
  const now = props.now ?? (() => new Date());

  const exit = async (action: HostAction) => {
    await machine.current?.close();
    machine.current = undefined;
    props.onExit(action);
  };

  const opening = screen.kind === "opening";
  const openStarted = useRef(false);
  const unmounted = useRef(false);
  useEffect(
    () => () => {
      unmounted.current = true;
      void machine.current?.close();
    },
    [],
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: open once, when the opening screen first shows
  useEffect(() => {
    if (!opening || openStarted.current) return;
    openStarted.current = true;
    const ask = (device: string, attempt: number) =>
      new Promise<string | undefined>((answer) =>
        setScreen({ kind: "passphrase", device, attempt, answer }),
      );
    void props.backend.open(ask).then((r) => {
      if (unmounted.current) {
        if (r.isOk()) void r.value.close();
        return;
      }
      if (r.isErr()) return setScreen({ kind: "error", error: r.error, canGoBack: false });
      machine.current = r.value;
      if (props.start === "reset-keep-home" && !r.value.state.unfinishedPlan) {
        const p = r.value.plan({ kind: "reset-keep-home", stamp: stampOf(now()) });
        if (p.isOk()) return setScreen({ kind: "confirm", plan: p.value });
      }
      setScreen({ kind: "diagnosis" });
    });
  }, [opening]);

  const run = async (plan: Plan | undefined, rescuedTo?: string) => {
    const m = machine.current;
    if (!m) return;
    const unfinished = m.state.unfinishedPlan;
    // Finishing a run (resume, try again): its words come from the plan that ran, else the journal's.
    const words = plan ?? lastPlan.current ?? unfinished?.plan;
    if (plan) lastPlan.current = plan;
    const shown = words ? shownPlan(words, t) : undefined;
    let progress: ProgressState = {
      title:
        shown?.title ?? (unfinished ? shownPlanTitle(unfinished.kind, unfinished.title, t) : ""),
      stepIndex: -1,
      totalSteps: words?.steps.length ?? 0,
      stepTitle: "",
    };
    const show = () =>
      setScreen({ kind: "progress", progress, ...(rescuedTo ? { rescuedTo } : {}) });
    show();
    const onProgress = (e: ExecutorEvent) => {
      progress = advance(progress, e, plan, now().getTime());
      const stepTitle = e.type === "step-started" ? shown?.steps[e.stepIndex] : undefined;
      if (stepTitle !== undefined) progress = { ...progress, stepTitle };
      show();
    };
    const r = plan ? await m.execute(plan, onProgress) : await m.resume(onProgress);
    if (r.isErr()) return setScreen({ kind: "failed", error: r.error, rescue: !!rescuedTo });
    lastPlan.current = undefined;
    setScreen({ kind: "done", ...(rescuedTo ? { rescuedTo } : {}) });
  };

  const onResult = async (action: ResultAction) => {
    if (action === "restart" || action === "shell" || action === "power-off") return exit(action);
    if (action === "later") return exit("power-off");
    if (action === "retry") return run(undefined);
    const m = machine.current;
    if (!m) return;
    const r = await m.refresh();
    if (r.isErr()) return setScreen({ kind: "error", error: r.error, canGoBack: false });
    setStateVersion((v) => v + 1);
    setScreen({ kind: "choices" });
  };

  const body = (() => {
    const m = machine.current;
    switch (screen.kind) {
      case "language":
        return (
          <LanguageScreen
            onChoose={(l) => {
              setLocale(l);
              setScreen({ kind: "opening" });
            }}
          />
        );
      case "opening":
        return <OpeningScreen />;
      case "passphrase":
        return (
          <PassphraseScreen
            device={screen.device}
            attempt={screen.attempt}
            onSubmit={(p) => {
              setScreen({ kind: "opening" });
              screen.answer(p);
            }}
            onCancel={() => {
              setScreen({ kind: "opening" });
              screen.answer(undefined);
            }}
          />
        );
      case "diagnosis":
        return m ? (
          <DiagnosisScreen
            findings={diagnose(m.state, t)}
            onContinue={() => setScreen({ kind: "choices" })}
          />
        ) : null;
      case "choices": {
        if (!m) return null;
        const c = choiceOptions(m, t, stampOf(now()));
        plans.current = c.plans;
        return (
          <ChoicesScreen
            options={c.options}
            onBack={() => setScreen({ kind: "diagnosis" })}
            onChoose={(id) => {
              if (id === "shell" || id === "restart" || id === "power-off") return void exit(id);
              if (id === "resume") return void run(undefined);
              if (id === "rescue") return setScreen({ kind: "rescue" });
              const plan = plans.current.get(id);
              if (plan) setScreen({ kind: "confirm", plan });
            }}
          />
        );
      }
      case "rescue": {
        if (!m) return null;
        const needed = m.state.btrfs?.subvolumes.find((s) => s.path === HOME_SUBVOLUME)?.bytes;
        return (
          <RescueScreen
            key={screen.directory ?? ""}
            neededBytes={needed}
            target={screen.target}
            problem={screen.problem}
            {...(screen.directory ? { initial: screen.directory } : {})}
            onBack={() => setScreen({ kind: "choices" })}
            onSubmit={async (raw) => {
              const directory = raw.trim();
              if (!directory) return;
              if (screen.target && screen.directory === directory) {
                const p = m.plan({ kind: "rescue", stamp: stampOf(now()), target: screen.target });
                if (p.isErr())
                  return setScreen({
                    ...screen,
                    problem: plainError(p.error, ui.t),
                  });
                return setScreen({ kind: "confirm", plan: p.value, rescuedTo: directory });
              }
              const r = await m.describeRescueTarget(directory);
              if (r.isErr())
                return setScreen({
                  kind: "rescue",
                  directory,
                  problem: plainError(r.error, ui.t),
                });
              setScreen({ kind: "rescue", directory, target: r.value });
            }}
          />
        );
      }
      case "confirm":
        return (
          <ConfirmScreen
            plan={screen.plan}
            onBack={() => setScreen({ kind: "choices" })}
            onConfirm={() => void run(screen.plan, screen.rescuedTo)}
          />
        );
      case "progress":
        return <ProgressScreen progress={screen.progress} />;
      case "done":
        return (
          <DoneScreen
            {...(screen.rescuedTo ? { rescuedTo: screen.rescuedTo } : {})}
            onAction={onResult}
          />
        );
      case "failed":
        return <FailedScreen error={screen.error} rescue={screen.rescue} onAction={onResult} />;
      case "error":
        return (
          <ErrorScreen error={screen.error} canGoBack={screen.canGoBack} onAction={onResult} />
        );
    }
  })();
  return <UiContext.Provider value={ui}>{body}</UiContext.Provider>;
}
