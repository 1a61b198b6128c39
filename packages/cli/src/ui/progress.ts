import cliProgress from "cli-progress";
import type { CliContext } from "../context.js";
import { formatBytes } from "./format.js";

/** A byte progress display: a bar with rate and ETA on a terminal, sparse lines otherwise, nothing in `--json`. */
export interface ByteProgress {
  update(done: number, total?: number): void;
  stop(): void;
}

/** Start a byte progress display for one labelled task. */
export function startProgress(ctx: CliContext, label: string, total = 0): ByteProgress {
  if (ctx.json) return { update: () => {}, stop: () => {} };
  if (!ctx.interactive) {
    let lastPrinted = 0;
    return {
      update(done, t) {
        const now = Date.now();
        if (now - lastPrinted < 2000) return;
        lastPrinted = now;
        ctx.stderr.write(`${label}: ${formatBytes(done)}${t ? ` of ${formatBytes(t)}` : ""}\n`);
      },
      stop() {},
    };
  }
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(28)} {bar} {percentage}% | {doneH}/{totalH} | {rate} | ETA {eta_formatted}`,
      hideCursor: true,
      stream: ctx.stderr as NodeJS.WriteStream,
      fps: 10,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 1), 0, {
    doneH: formatBytes(0),
    totalH: formatBytes(total),
    rate: "-",
  });
  return {
    update(done, t) {
      if (t !== undefined && t > 0) bar.setTotal(t);
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, {
        doneH: formatBytes(done),
        totalH: formatBytes(t ?? total),
        rate: seconds > 0 ? `${formatBytes(done / seconds)}/s` : "-",
      });
    },
    stop() {
      bar.stop();
    },
  };
}
