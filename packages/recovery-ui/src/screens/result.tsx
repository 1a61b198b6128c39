import { formatError, type LifeboatError } from "@lifeboat/core";
import { Box, Text } from "ink";
import { plainError } from "../diagnosis.js";
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
  onAction: (action: ResultAction) => void;
}) {
  const { t } = useUi();
  return (
    <Frame title={t.failedTitle} keys={t.keysMenu}>
      <Toned tone="bad">{plainError(props.error, t)}</Toned>
      <Text>{t.failedSafe}</Text>
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
      <Toned tone="bad">{plainError(props.error, t)}</Toned>
      <Details error={props.error} />
      <Box marginTop={1}>
        <Menu items={items} onSelect={props.onAction} />
      </Box>
    </Frame>
  );
}

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
