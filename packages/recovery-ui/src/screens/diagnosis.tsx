import { useStdout } from "ink";
import type { Finding } from "../diagnosis.js";
import { knownRows, terminalSize, useUi } from "../ui.js";
import { Frame } from "../widgets/frame.js";
import { useKeys } from "../widgets/keys.js";
import { frameRows, ScrollWindow, toRows, useScroll } from "../widgets/scroll.js";

/**
 * What state the machine is in, in plain words; Enter goes on to the choices.
 * Taller than the screen, it scrolls (PgUp/PgDn, Up/Down).
 */
export function DiagnosisScreen(props: { findings: readonly Finding[]; onContinue: () => void }) {
  const { t, glyphs, color } = useUi();
  const { stdout } = useStdout();
  const rows = toRows(
    props.findings.map((f) => ({ text: f.text, tone: f.tone })),
    terminalSize(stdout).columns - 4,
    glyphs,
    color,
  );
  const height = knownRows(stdout);
  const scroll = useScroll(
    rows.length,
    height === undefined ? undefined : height - 1 - frameRows(true),
    {
      arrows: true,
    },
  );
  useKeys((_input, key) => {
    if (key.return) props.onContinue();
  });
  return (
    <Frame title={t.diagnosisTitle} keys={t.keysContinue}>
      <ScrollWindow rows={rows} scroll={scroll} />
    </Frame>
  );
}
