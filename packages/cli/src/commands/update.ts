import { extractImage } from "@lifeboat/casync";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { formatBytes, formatDuration } from "../ui/format.js";
import { type ByteProgress, startProgress } from "../ui/progress.js";
import { collect, guarded, must, usage } from "./_shared.js";
import type { Wrap } from "./index.js";

interface UpdateOpts {
  store?: string[];
  seed?: string[];
  resume?: boolean;
}

async function run(
  ctx: CliContext,
  index: string,
  output: string,
  opts: UpdateOpts,
): Promise<ExitCodeValue> {
  if (!opts.store?.length) return usage(ctx, "update", "give --store <dir|url> (repeatable)");
  return guarded(ctx, "update", async () => {
    let bar: ByteProgress | undefined;
    const started = Date.now();
    const r = must(
      await extractImage(index, output, {
        stores: (opts.store ?? []).map((s) => (/^https?:/.test(s) ? new URL(s) : s)),
        seeds: opts.seed ?? [],
        ...(opts.resume ? { resume: true } : {}),
        signal: ctx.signal,
        onProgress: (e) => {
          bar ??= startProgress(ctx, "  assembling", e.totalBytes);
          bar.update(e.bytesWritten, e.totalBytes);
        },
      }),
    );
    bar?.stop();
    return succeed(ctx, "update", { output, ...r, durationMs: Date.now() - started }, (d) =>
      [
        pc.green(`✓ ${output}: ${formatBytes(d.size)} in ${formatDuration(d.durationMs)}`),
        `  from seeds ${formatBytes(d.bytesFromSeeds)}, from stores ${formatBytes(d.bytesFromStores)} (downloaded ${formatBytes(d.bytesDownloaded)})`,
      ].join("\n"),
    );
  });
}

/** `lifeboat update`: assemble a new recovery image from a casync index, reusing the old one. */
export function registerUpdate(program: Command, wrap: Wrap): void {
  program
    .command("update <index> <output>")
    .description(
      "assemble an image from a .caibx index, chunks from seeds (the old image) first, then stores",
    )
    .option("--store <dir|url>", "chunk store (repeatable)", collect)
    .option(
      "--seed <file>",
      "a local file with likely-equal chunks, e.g. the installed image (repeatable)",
      collect,
    )
    .option("--resume", "reuse what an interrupted run already wrote")
    .action(wrap(run));
}
