import { formatError, type LifeboatError } from "@lifeboat/core";
import { Box, Text } from "ink";
import { type ErrorPlace, explainError } from "../diagnosis.js";
import { useUi } from "../ui.js";
import { Frame, Toned } from "../widgets/frame.js";
import { Menu } from "../widgets/menu.js";

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
  return (
    <Frame title={t.failedTitle} keys={t.keysMenu}>
      <Explained error={props.error} place={props.rescue ? "rescue" : "run"} />
      <Details error={props.error} />
      <Box marginTop={1}>
        <Menu
          items={[
            { id: "retry", label: t.actionRetry },
            { id: "later", label: t.actionLater },
            { id: "shell", label: t.choices.shell.label },
          ]}
          onSelect={props.onAction}
        />
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
      <Explained error={props.error} place="before" />
      <Details error={props.error} />
      <Box marginTop={1}>
        <Menu items={items} onSelect={props.onAction} />
      </Box>
    </Frame>
  );
}

/** What happened, what is still safe, what to do next: every part from the catalog. */
function Explained(props: { error: LifeboatError; place: ErrorPlace }) {
  const { t } = useUi();
  const e = explainError(props.error, t, props.place);
  return (
    <Box flexDirection="column">
      <Toned tone="bad">{e.what}</Toned>
      <Text>
        {t.errorSafeLabel} {e.safe}
      </Text>
      <Text>
        {t.errorNextLabel} {e.next}
      </Text>
    </Box>
  );
}

/** The code and the SDK's own message, for whoever helps. */
function Details(props: { error: LifeboatError }) {
  const { t } = useUi();
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text dimColor>
        {t.errorDetail} [{props.error.code}]
      </Text>
      <Text dimColor>{formatError(props.error)}</Text>
    </Box>
  );
}
