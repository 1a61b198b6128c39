import type { Plan } from "@lifeboat/core";
import { Box, Text, useStdout } from "ink";
import { useState } from "react";
import { shownPlan } from "../plan-words.js";
import { fit, knownRows, terminalSize, useUi } from "../ui.js";
import { Frame, Toned } from "../widgets/frame.js";
import { frameRows, type Line, ScrollWindow, toRows, useScroll, wrap } from "../widgets/scroll.js";
import { TextInput } from "../widgets/text-input.js";

/**
 * A plan before it runs: what it destroys (sizes, loud items first), its
 * warnings, its steps; the person types the localized word. What is
 * confirmed is the plan's digest, handed back with `onConfirm`.
 *
 * When all this is taller than the screen it scrolls (PgUp/PgDn, Up/Down),
 * and the word is taken only once the end has been on the screen: a person
 * cannot confirm a loss they could not have read. On a console that reports
 * no size nothing is cut, so the word is taken at once.
 */
export function ConfirmScreen(props: {
  plan: Plan;
  onConfirm: (digest: string) => void;
  onBack: () => void;
}) {
  const { t, glyphs, color } = useUi();
  const [message, setMessage] = useState<"wrong" | "read-first" | undefined>(undefined);
  const { stdout } = useStdout();
  const { rows, columns } = terminalSize(stdout);
  const width = columns - 4;
  // On a small console (80x25) each step takes one line and the sections no gap.
  const compact = rows < 30;
  const shown = shownPlan(props.plan, t);
  const losses = [...shown.losses].sort((a, b) => Number(!!b.loud) - Number(!!a.loud));
  const word = losses.length > 0 ? t.confirmWordErase : t.confirmWordGo;
  const gap: Line[] = compact ? [] : [{ text: "" }];
  // What is removed comes first, then the warnings, then the steps: on a small
  // console the first screen shows the losses, not the plan's mechanics.
  const lines: Line[] = [
    ...(losses.length === 0
      ? [{ text: t.confirmNoLoss, tone: "ok" as const }]
      : [
          { text: t.confirmLosses, bold: true },
          ...losses.map((l) => ({
            text: `${l.what}${l.bytes === undefined ? "" : ` (${t.bytes(l.bytes)})`}${l.detail ? `: ${l.detail}` : ""}`,
            tone: l.loud ? ("bad" as const) : ("warn" as const),
          })),
        ]),
    ...(shown.warnings.length > 0
      ? [
          ...gap,
          { text: t.confirmWarnings, bold: true },
          ...shown.warnings.map((w) => ({ text: w, tone: "warn" as const })),
        ]
      : []),
    ...gap,
    { text: t.confirmSteps, bold: true },
    ...props.plan.steps.map((s, i) => {
      const title = `  ${i + 1}. ${shown.steps[i] ?? s.title}`;
      return { text: compact ? fit(title, width, glyphs) : title };
    }),
  ];
  const body = toRows(lines, width, glyphs, color);
  const height = knownRows(stdout);
  // "Read to the end first" goes once the end has been shown (its room is counted either way).
  const shownMessage =
    message === "wrong"
      ? t.confirmWrongWord(word)
      : message === "read-first"
        ? t.confirmReadFirst
        : undefined;
  const footer =
    gap.length +
    wrap(t.confirmDigest(props.plan.digest), width).length +
    (shownMessage ? wrap(`${glyphs.tone.bad} ${shownMessage}`, width).length : 0) +
    wrap(t.confirmPrompt(word), width).length +
    1;
  // One row spare: output as tall as the screen makes Ink redraw it whole.
  const room = height === undefined ? undefined : height - 1 - frameRows(false) - footer;
  const scroll = useScroll(body.length, room, { arrows: true });
  const messageText = message === "read-first" && scroll.seenEnd() ? undefined : shownMessage;
  return (
    <Frame title={t.confirmTitle(shown.title)}>
      <ScrollWindow rows={body} scroll={scroll} />
      <Box flexDirection="column" marginTop={gap.length}>
        <Text dimColor>{t.confirmDigest(props.plan.digest)}</Text>
        {messageText ? <Toned tone="bad">{messageText}</Toned> : null}
        <Text>{t.confirmPrompt(word)}</Text>
        <TextInput
          onSubmit={(typed) => {
            if (!scroll.seenEnd()) setMessage("read-first");
            else if (typed.trim().toUpperCase() === word.toUpperCase())
              props.onConfirm(props.plan.digest);
            else setMessage("wrong");
          }}
          onCancel={props.onBack}
        />
      </Box>
    </Frame>
  );
}
