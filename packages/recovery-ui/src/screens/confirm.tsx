import { formatBytes, type Plan } from "@lifeboat/core";
import { Box, Text, useStdout } from "ink";
import { useState } from "react";
import { shownPlan } from "../plan-words.js";
import { fit, terminalSize, useUi } from "../ui.js";
import { Frame, Toned } from "../widgets/frame.js";
import { TextInput } from "../widgets/text-input.js";

/**
 * A plan before it runs: its steps, what it destroys (sizes, loud items
 * first), its warnings; the person types the localized word. What is
 * confirmed is the plan's digest, handed back with `onConfirm`.
 */
export function ConfirmScreen(props: {
  plan: Plan;
  onConfirm: (digest: string) => void;
  onBack: () => void;
}) {
  const { t, glyphs } = useUi();
  const [wrong, setWrong] = useState(false);
  // On a small console (80x25) each step takes one line and the sections no gap,
  // so the prompt and what is removed stay on the screen; the losses are never cut.
  const { stdout } = useStdout();
  const { rows, columns } = terminalSize(stdout);
  const width = columns - 4;
  const compact = rows < 30;
  const gap = compact ? 0 : 1;
  const shown = shownPlan(props.plan, t);
  const losses = [...shown.losses].sort((a, b) => Number(!!b.loud) - Number(!!a.loud));
  const word = losses.length > 0 ? t.confirmWordErase : t.confirmWordGo;
  return (
    <Frame title={t.confirmTitle(shown.title)}>
      <Text bold>{t.confirmSteps}</Text>
      {props.plan.steps.map((s, i) => {
        const title = shown.steps[i] ?? s.title;
        return (
          <Text key={s.id}>
            {compact ? fit(`  ${i + 1}. ${title}`, width, glyphs) : `  ${i + 1}. ${title}`}
          </Text>
        );
      })}
      <Box flexDirection="column" marginTop={gap}>
        {losses.length === 0 ? (
          <Toned tone="ok">{t.confirmNoLoss}</Toned>
        ) : (
          <>
            <Text bold>{t.confirmLosses}</Text>
            {losses.map((l) => (
              <Toned key={`${l.kind}:${l.what}`} tone={l.loud ? "bad" : "warn"}>
                {l.what}
                {l.bytes === undefined ? "" : ` (${formatBytes(l.bytes)})`}
                {l.detail ? `: ${l.detail}` : ""}
              </Toned>
            ))}
          </>
        )}
      </Box>
      {shown.warnings.length > 0 ? (
        <Box flexDirection="column" marginTop={gap}>
          <Text bold>{t.confirmWarnings}</Text>
          {shown.warnings.map((w, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: warnings are fixed for a plan, and two may read alike
            <Toned key={i} tone="warn">
              {w}
            </Toned>
          ))}
        </Box>
      ) : null}
      <Box flexDirection="column" marginTop={gap}>
        <Text dimColor>{t.confirmDigest(props.plan.digest)}</Text>
        {wrong ? <Toned tone="bad">{t.confirmWrongWord(word)}</Toned> : null}
        <Text>{t.confirmPrompt(word)}</Text>
        <TextInput
          onSubmit={(typed) => {
            if (typed.trim().toUpperCase() === word.toUpperCase())
              props.onConfirm(props.plan.digest);
            else setWrong(true);
          }}
          onCancel={props.onBack}
        />
      </Box>
    </Frame>
  );
}
