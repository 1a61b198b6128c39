import { Box } from "ink";
import type { Finding } from "../diagnosis.js";
import { useUi } from "../ui.js";
import { Frame, Toned } from "../widgets/frame.js";
import { useKeys } from "../widgets/keys.js";

/** What state the machine is in, in plain words; Enter goes on to the choices. */
export function DiagnosisScreen(props: { findings: readonly Finding[]; onContinue: () => void }) {
  const { t } = useUi();
  useKeys((_input, key) => {
    if (key.return) props.onContinue();
  });
  return (
    <Frame title={t.diagnosisTitle} keys={t.keysContinue}>
      <Box flexDirection="column">
        {props.findings.map((f) => (
          <Toned key={f.text} tone={f.tone}>
            {f.text}
          </Toned>
        ))}
      </Box>
    </Frame>
  );
}
