import { Text } from "ink";
import { useUi } from "../ui.js";
import { Frame } from "../widgets/frame.js";

/** Shown while the disk is opened and inspected. */
export function OpeningScreen() {
  const { t } = useUi();
  return (
    <Frame title={t.diagnosisTitle}>
      <Text>{t.opening}</Text>
    </Frame>
  );
}
