import { Box, Text } from "ink";
import { useState } from "react";
import type { ChoiceId } from "../messages/catalog.js";
import { useUi } from "../ui.js";
import { Frame } from "../widgets/frame.js";
import { Menu } from "../widgets/menu.js";

/** A choice as offered: unavailable ones carry the reason in plain words. */
export interface ChoiceOption {
  readonly id: ChoiceId;
  readonly unavailable?: string;
  /** How long it takes, estimated from sizes (else the catalog's phrase). */
  readonly time?: string;
}

/** The choices, with what the highlighted one keeps, loses and takes. */
export function ChoicesScreen(props: {
  options: readonly ChoiceOption[];
  onChoose: (id: ChoiceId) => void;
  onBack: () => void;
}) {
  const { t } = useUi();
  const first = props.options.find((o) => !o.unavailable)?.id ?? "power-off";
  const [at, setAt] = useState<ChoiceId>(first);
  const items = props.options.map((o) => ({
    id: o.id,
    label: t.choices[o.id].label,
    ...(o.unavailable ? { disabled: t.unavailable(o.unavailable) } : {}),
  }));
  const c = t.choices[at];
  const time = props.options.find((o) => o.id === at)?.time ?? c.time;
  return (
    <Frame title={t.choicesTitle} keys={`${t.keysMenu}   ${t.keysBack}`}>
      <Menu items={items} onSelect={props.onChoose} onBack={props.onBack} onMove={setAt} />
      <Box flexDirection="column" marginTop={1}>
        <Text>
          {t.keepsLabel} {c.keeps}
        </Text>
        <Text>
          {t.losesLabel} {c.loses}
        </Text>
        <Text>
          {t.timeLabel} {time}
        </Text>
      </Box>
    </Frame>
  );
}
