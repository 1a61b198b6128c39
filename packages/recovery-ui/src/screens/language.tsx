import { Text } from "ink";
import { LOCALES, type Locale } from "../messages/index.js";
import { useUi } from "../ui.js";
import { Frame } from "../widgets/frame.js";
import { Menu } from "../widgets/menu.js";

/**
 * The first screen when neither `lifeboat.lang=` nor an option names the
 * language: the question in every language, each language listed in its own
 * name; keyboard only (Up/Down or its number, Enter).
 */
export function LanguageScreen(props: { onChoose: (locale: Locale) => void }) {
  const { t } = useUi();
  const items = (Object.keys(LOCALES) as Locale[]).map((id) => ({
    id,
    label: LOCALES[id].languageName,
  }));
  return (
    <Frame
      title={(Object.keys(LOCALES) as Locale[]).map((id) => LOCALES[id].languageWord).join(" / ")}
      keys={t.keysMenu}
    >
      {/* The question in every language, each in its own words: nobody has chosen yet. */}
      {(Object.keys(LOCALES) as Locale[]).map((id) => (
        <Text key={id}>{LOCALES[id].languageQuestion}</Text>
      ))}
      <Menu items={items} onSelect={props.onChoose} />
    </Frame>
  );
}
