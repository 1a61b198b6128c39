import { extractImage } from "@lifeboat/casync";
import {
  checkSecurityEpoch,
  manifestDigest,
  type RollbackRecord,
  readEpochFloor,
  readSignedManifest,
  recordRollback,
  securityEpochOf,
} from "@lifeboat/image";
import { ROLLBACK_LOG_FILE } from "@lifeboat/image/layout";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { formatBytes, formatDuration } from "../ui/format.js";
import { type ByteProgress, startProgress } from "../ui/progress.js";
import {
  allowRollbackOption,
  collect,
  guarded,
  loadMinimumEpoch,
  loadTrustedKeys,
  must,
  usage,
} from "./_shared.js";
import type { Wrap } from "./index.js";

interface UpdateOpts {
  store?: string[];
  seed?: string[];
  resume?: boolean;
  manifest?: string;
  trustedKey?: string[];
  recoveryRoot?: string;
  allowRollback?: string;
}

/**
 * Before anything is downloaded: the release's signed manifest must not be
 * older (security epoch) than the installed set, the partition's record or the
 * OEM minimum. An override is recorded on the recovery partition.
 */
async function checkRelease(
  opts: UpdateOpts & { manifest: string; recoveryRoot: string },
): Promise<{ securityEpoch: number; rollback: RollbackRecord | null }> {
  const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
  const minimumEpoch = await loadMinimumEpoch(opts.trustedKey ?? []);
  const signed = must(await readSignedManifest(opts.manifest, { trustedKeys }));
  const floor = must(await readEpochFloor(opts.recoveryRoot, { minimumEpoch }));
  const securityEpoch = securityEpochOf(signed.manifest);
  const check = checkSecurityEpoch(signed.manifest, floor);
  if (check.isOk()) return { securityEpoch, rollback: null };
  if (opts.allowRollback === undefined || opts.allowRollback.trim() === "") must(check);
  const rollback: RollbackRecord = {
    time: new Date().toISOString(),
    action: "update",
    fromEpoch: floor.epoch,
    floorSource: floor.source,
    toEpoch: securityEpoch,
    product: signed.manifest.product,
    version: signed.manifest.version,
    setDigest: manifestDigest(signed.manifestBytes),
    reason: opts.allowRollback ?? "",
  };
  must(await recordRollback(opts.recoveryRoot, rollback));
  return { securityEpoch, rollback };
}

async function run(
  ctx: CliContext,
  index: string,
  output: string,
  opts: UpdateOpts,
): Promise<ExitCodeValue> {
  if (!opts.store?.length) return usage(ctx, "update", "give --store <dir|url> (repeatable)");
  const { manifest, recoveryRoot } = opts;
  if (manifest !== undefined && (!opts.trustedKey?.length || recoveryRoot === undefined))
    return usage(
      ctx,
      "update",
      "--manifest needs --trusted-key <public.pem> and --recovery-root <dir>",
    );
  if (opts.allowRollback !== undefined && manifest === undefined)
    return usage(ctx, "update", "--allow-rollback needs --manifest <dir>");
  return guarded(ctx, "update", async () => {
    const release =
      manifest !== undefined && recoveryRoot !== undefined
        ? await checkRelease({ ...opts, manifest, recoveryRoot })
        : undefined;
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
    const data = {
      output,
      ...r,
      durationMs: Date.now() - started,
      ...(release ? { securityEpoch: release.securityEpoch, rollback: release.rollback } : {}),
    };
    return succeed(ctx, "update", data, (d) =>
      [
        ...(d.rollback
          ? [
              pc.yellow(
                `rollback allowed (security epoch ${d.rollback.fromEpoch} → ${d.rollback.toEpoch}), recorded in ${ROLLBACK_LOG_FILE} (reason: ${d.rollback.reason})`,
              ),
            ]
          : []),
        pc.green(`✓ ${output}: ${formatBytes(d.size)} in ${formatDuration(d.durationMs)}`),
        `  from seeds ${formatBytes(d.bytesFromSeeds)}, from stores ${formatBytes(d.bytesFromStores)} (downloaded ${formatBytes(d.bytesDownloaded)})`,
      ].join("\n"),
    );
  });
}

/** `lifeboat update`: assemble a new recovery image from a casync index, reusing the old one. */
export function registerUpdate(program: Command, wrap: Wrap): void {
  allowRollbackOption(program.command("update <index> <output>"))
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
    .option(
      "--manifest <dir>",
      "the release's signed manifest (manifest.json and .sig): refused before downloading when its security epoch is older than the installed set's, the partition's record or the OEM minimum",
    )
    .option(
      "--trusted-key <pem>",
      "public key the manifest must be signed with (repeatable)",
      collect,
    )
    .option(
      "--recovery-root <dir>",
      "the recovery partition, mounted (its installed set and record)",
    )
    .action(wrap(run));
}
