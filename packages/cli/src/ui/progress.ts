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
    // At most one line every 2 s, and the last state on stop: a copy that ends
    // between two lines must not leave "4.0 MiB of 177 MiB" as the final word.
    let lastPrinted = 0;
    let pending: string | undefined;
    const line = (done: number, t: number | undefined) =>
      `${label}: ${formatBytes(done)}${t ? ` of ${formatBytes(t)}` : ""}\n`;
    return {
      update(done, t) {
        const now = Date.now();
        pending = line(done, t ?? (total > 0 ? total : undefined));
        if (now - lastPrinted < 2000) return;
        lastPrinted = now;
        ctx.stderr.write(pending);
        pending = undefined;
      },
      stop() {
        if (pending !== undefined) ctx.stderr.write(pending);
        pending = undefined;
      },
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
