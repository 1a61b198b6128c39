import { formatError, type LifeboatError } from "@lifeboat/core";
import { Box, useStdout } from "ink";
import { type ErrorPlace, explainError } from "../diagnosis.js";
import { knownRows, terminalSize, useUi } from "../ui.js";
import { Frame, Toned } from "../widgets/frame.js";
import { Menu } from "../widgets/menu.js";
import { frameRows, type Line, ScrollWindow, toRows, useScroll } from "../widgets/scroll.js";

/** What a person can do on the result and error screens. */
export type ResultAction = "restart" | "retry" | "later" | "menu" | "shell" | "power-off";

/** A run that finished: restart (or, after a rescue copy, back to the choices). */
export function DoneScreen(props: {
  rescuedTo?: string;
  onAction: (action: ResultAction) => void;
}) {
  const { t } = useUi();
  const items = props.rescuedTo
    ? [
        { id: "menu" as const, label: t.actionMenu },
        { id: "restart" as const, label: t.actionRestart },
      ]
    : [{ id: "restart" as const, label: t.actionRestart }];
  return (
    <Frame title={t.doneTitle} keys={t.keysMenu}>
      <Toned tone="ok">{props.rescuedTo ? t.doneRescue(props.rescuedTo) : t.doneText}</Toned>
      <Box marginTop={1}>
        <Menu items={items} onSelect={props.onAction} />
      </Box>
    </Frame>
  );
}

/** A run that failed: the typed error in plain words, then try again or finish later. */
export function FailedScreen(props: {
  error: LifeboatError;
  /** Whether the run was a rescue copy (then only the copy is unfinished). */
  rescue?: boolean;
  onAction: (action: ResultAction) => void;
}) {
  const { t } = useUi();
  const items = [
    { id: "retry" as const, label: t.actionRetry },
    { id: "later" as const, label: t.actionLater },
    { id: "shell" as const, label: t.choices.shell.label },
  ];
  return (
    <Frame title={t.failedTitle} keys={t.keysMenu}>
      <Explained
        error={props.error}
        place={props.rescue ? "rescue" : "run"}
        menuRows={items.length}
      />
      <Box marginTop={1}>
        <Menu items={items} onSelect={props.onAction} />
      </Box>
    </Frame>
  );
}

/** Something went wrong before anything was changed (opening, planning, measuring). */
export function ErrorScreen(props: {
  error: LifeboatError;
  canGoBack: boolean;
  onAction: (action: ResultAction) => void;
}) {
  const { t } = useUi();
  const items = [
    ...(props.canGoBack ? [{ id: "menu" as const, label: t.actionMenu }] : []),
    { id: "restart" as const, label: t.choices.restart.label },
    { id: "power-off" as const, label: t.choices["power-off"].label },
    { id: "shell" as const, label: t.choices.shell.label },
  ];
  return (
    <Frame title={t.errorTitle} keys={t.keysMenu}>
      <Explained error={props.error} place="before" menuRows={items.length} />
      <Box marginTop={1}>
        <Menu items={items} onSelect={props.onAction} />
      </Box>
    </Frame>
  );
}

/**
 * What happened, what is still safe, what to do next (every part from the
 * catalog), then the code and the SDK's own message for whoever helps. Taller
 * than the room the menu leaves, it scrolls with PgUp/PgDn (Up/Down move the menu).
 */
function Explained(props: { error: LifeboatError; place: ErrorPlace; menuRows: number }) {
  const { t, glyphs, color } = useUi();
  const { stdout } = useStdout();
  const e = explainError(props.error, t, props.place);
  const lines: Line[] = [
    { text: e.what, tone: "bad" },
    { text: `${t.errorSafeLabel} ${e.safe}` },
    { text: `${t.errorNextLabel} ${e.next}` },
    { text: "" },
    { text: `${t.errorDetail} [${props.error.code}]`, dim: true },
    ...formatError(props.error)
      .split("\n")
      .map((text) => ({ text, dim: true })),
  ];
  const rows = toRows(lines, terminalSize(stdout).columns - 4, glyphs, color);
  const height = knownRows(stdout);
  // The menu below: its gap and its items.
  const room = height === undefined ? undefined : height - 1 - frameRows(true) - 1 - props.menuRows;
  const scroll = useScroll(rows.length, room, { arrows: false });
  return (
    <Box flexDirection="column">
      <ScrollWindow rows={rows} scroll={scroll} />
    </Box>
  );
}
