import { Box, Text, useStdout } from "ink";
import type { ReactNode } from "react";
import { fit, terminalSize, useUi } from "../ui.js";

/** A screen: the product title and the screen's title in a box, its content, the keys at the bottom. */
export function Frame(props: { title: string; keys?: string; children: ReactNode }) {
  const { t, glyphs, color } = useUi();
  const width = terminalSize(useStdout().stdout).columns - 4;
  return (
    <Box flexDirection="column" borderStyle={glyphs.border} paddingX={1} width="100%">
      <Text bold {...(color ? { color: "cyan" } : {})}>
        {fit(`${t.title} | ${props.title}`, width, glyphs)}
      </Text>
      <Box flexDirection="column" marginTop={1}>
        {props.children}
      </Box>
      {props.keys ? (
        <Box marginTop={1}>
          <Text dimColor>{props.keys}</Text>
        </Box>
      ) : null}
    </Box>
  );
}

/** A line whose colour says how it matters (only when colour is on; the glyph says it too). */
export function Toned(props: { tone: "ok" | "info" | "warn" | "bad"; children: ReactNode }) {
  const { glyphs, color } = useUi();
  const colors = { ok: "green", info: undefined, warn: "yellow", bad: "red" } as const;
  const c = color ? colors[props.tone] : undefined;
  return (
    <Text {...(c ? { color: c } : {})}>
      {glyphs.tone[props.tone]} {props.children}
    </Text>
  );
}
