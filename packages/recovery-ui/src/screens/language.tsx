import { Text } from "ink";
import { LOCALES, type Locale } from "../messages/index.js";
import { useUi } from "../ui.js";
import { Frame } from "../widgets/frame.js";
import { Menu } from "../widgets/menu.js";

/** The first screen when the kernel command line names no language: every language in its own name. */
export function LanguageScreen(props: { onChoose: (locale: Locale) => void }) {
  const { t } = useUi();
  const items = (Object.keys(LOCALES) as Locale[]).map((id) => ({
    id,
    label: LOCALES[id].languageName,
  }));
  return (
    <Frame title="Language / Sprache" keys={t.keysMenu}>
      <Text>{t.languageQuestion}</Text>
      <Menu items={items} onSelect={props.onChoose} />
    </Frame>
  );
}
