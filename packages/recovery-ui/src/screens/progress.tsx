import { Text } from "ink";
import { useUi } from "../ui.js";
import { Frame, Toned } from "../widgets/frame.js";

/** Where a run is, from the executor's events. */
export interface ProgressState {
  readonly title: string;
  /** 0-based index of the current step; -1 before the first. */
  readonly stepIndex: number;
  readonly totalSteps: number;
  readonly stepTitle: string;
  readonly bytesDone?: number;
  readonly bytesTotal?: number;
  /** When the step started (ms), for the estimate. */
  readonly stepStartedAt?: number;
  /** Seconds left in this step at the rate so far. */
  readonly etaSeconds?: number;
  /** Whether stopping now loses nothing (every step so far can be undone); unknown when resuming. */
  readonly safeToStop?: boolean;
}

const BAR = 40;

/** Step n of m, a bar for a step that reports bytes, and whether it is safe to stop. */
export function ProgressScreen(props: { progress: ProgressState }) {
  const { t, glyphs } = useUi();
  const p = props.progress;
  const n = Math.max(0, p.stepIndex) + 1;
  let bar: string | undefined;
  if (p.bytesDone !== undefined && p.bytesTotal) {
    const filled = Math.min(BAR, Math.round((p.bytesDone / p.bytesTotal) * BAR));
    bar = `[${glyphs.barDone.repeat(filled)}${glyphs.barTodo.repeat(BAR - filled)}] ${t.progressBytes(t.bytes(p.bytesDone), t.bytes(p.bytesTotal))}`;
  } else if (p.bytesDone !== undefined) bar = t.bytes(p.bytesDone);
  return (
    <Frame title={t.progressTitle(p.title)}>
      <Text>{t.progressStep(n, Math.max(n, p.totalSteps), p.stepTitle)}</Text>
      {bar ? <Text>{bar}</Text> : null}
      {p.etaSeconds !== undefined ? (
        <Text>{t.progressEta(Math.ceil(p.etaSeconds / 60))}</Text>
      ) : null}
      {p.safeToStop === true ? <Toned tone="ok">{t.progressSafe}</Toned> : null}
      {p.safeToStop === false ? <Toned tone="warn">{t.progressUnsafe}</Toned> : null}
    </Frame>
  );
}
