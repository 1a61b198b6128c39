import { createHash } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { readJournal } from "@lifeboat/core";
import { RECOVERY_ENVIRONMENT_FILES } from "@lifeboat/core/layout";
import {
  type EncryptedLockedError,
  executeReset,
  plan as makePlan,
  RESET_REQUEST_KINDS,
  type ResetRequest,
  resetJournalPaths,
  resumeReset,
} from "@lifeboat/reset";
import type { Command } from "commander";
import pc from "picocolors";
import { z } from "zod";
import { type CliContext, fail, note, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { machineState, resetEnvironment } from "../machine-state.js";
import { executorProgress } from "../run-plan.js";
import { withTarget } from "../target.js";
import { formatDuration } from "../ui/format.js";
import {
  guarded,
  loadMinimumEpoch,
  loadTrustedKeys,
  must,
  targetOf,
  targetOptions,
  usage,
} from "./_shared.js";
import type { Wrap } from "./index.js";
import { runRecoveryFrontEnd } from "./recovery-ui.js";

interface RecoveryOpts {
  disk?: string;
  top?: string;
  boot?: string;
  recoveryRoot?: string;
  request?: string;
  digest?: string;
  trustedKey?: string[];
  lang?: string;
  ascii?: boolean;
  factoryReset?: boolean;
}

/** A reset request written beforehand (by the running system or an OEM tool) for an unattended boot. */
const RequestFile = z.object({
  kind: z.enum(RESET_REQUEST_KINDS as unknown as [string, ...string[]]),
  stamp: z.string().regex(/^\d{8}T\d{6}Z$/),
});

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * The recovery environment's own helpers live on the recovery partition (the
 * initramfs has no compiler to build them): `lifeboat-exch` for the atomic
 * subvolume exchange and `lifeboat-btrfs-agent`, which answers the reset's
 * Btrfs questions in one process (without it, `btrfs` programs do).
 */
async function useHelperFromRecoveryPartition(): Promise<void> {
  const mount = process.env.LIFEBOAT_RECOVERY_MOUNT;
  if (!mount) return;
  for (const [variable, name] of [
    ["LIFEBOAT_EXCH_HELPER", RECOVERY_ENVIRONMENT_FILES.exchangeHelper],
    ["LIFEBOAT_AGENT_HELPER", RECOVERY_ENVIRONMENT_FILES.agentHelper],
  ] as const) {
    const helper = path.join(mount, name);
    if (!process.env[variable] && (await exists(helper))) process.env[variable] = helper;
  }
}

async function run(ctx: CliContext, opts: RecoveryOpts): Promise<ExitCodeValue> {
  const target = targetOf(opts);
  if (!target.disk && !target.top) return usage(ctx, "recovery", "give --disk <device|image>");
  if (opts.factoryReset && (opts.request || opts.digest))
    return usage(
      ctx,
      "recovery",
      "--factory-reset opens the guided front end: drop --request and --digest",
    );
  if (opts.factoryReset && (!target.disk || !ctx.interactive || ctx.json))
    return usage(
      ctx,
      "recovery",
      "--factory-reset asks the person to confirm: run it on a terminal, with --disk <device|image> and without --json",
    );
  if (!opts.request && !opts.digest && target.disk && ctx.interactive && !ctx.json) {
    const disk = target.disk;
    return guarded(ctx, "recovery", async () => {
      // The guided resets swap root too: with the partition's prebuilt helpers, as unattended.
      await useHelperFromRecoveryPartition();
      return runRecoveryFrontEnd(ctx, {
        disk,
        ...(opts.trustedKey ? { trustedKey: opts.trustedKey } : {}),
        ...(opts.lang ? { lang: opts.lang } : {}),
        ...(opts.ascii ? { ascii: true } : {}),
        ...(opts.factoryReset ? { factoryReset: true } : {}),
      });
    });
  }
  if (!opts.request || !opts.digest)
    return usage(
      ctx,
      "recovery",
      "give --request <file> and --digest sha256:<hex> (or run it on a terminal with --disk for the guided front end)",
    );
  const requestFile = opts.request;
  const expected = opts.digest;
  return guarded(ctx, "recovery", async () => {
    const bytes = await readFile(requestFile);
    const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    if (actual !== expected)
      return fail(ctx, "recovery", {
        code: "CLI_USAGE",
        message: `the request ${requestFile} does not match its digest (expected ${expected}, found ${actual}): nothing was done`,
      });
    const parsed = RequestFile.safeParse(JSON.parse(bytes.toString("utf8")));
    if (!parsed.success)
      return usage(ctx, "recovery", `the request is not a reset request: ${parsed.error.message}`);
    const request = parsed.data as ResetRequest;
    await useHelperFromRecoveryPartition();
    const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
    return withTarget(ctx.runner, target, {}, async (t) => {
      if (!t.top && t.devices.luksLocked) {
        const locked: EncryptedLockedError = {
          code: "RESET_ENCRYPTED_LOCKED",
          message: `The system is inside the encrypted volume ${t.devices.luksLocked}: give its key with --luks-key-file <file>, or type it on the console; nothing was changed.`,
          device: t.devices.luksLocked,
        };
        return fail(ctx, "recovery", locked);
      }
      if (!t.top) return usage(ctx, "recovery", "no Btrfs filesystem found on the disk");
      // The OEM floor applies at boot too; a scheduled request carries no override.
      const minimumEpoch = await loadMinimumEpoch(opts.trustedKey ?? []);
      const m = await machineState(ctx.runner, t, {
        trustedKeys,
        minimumEpoch,
        signal: ctx.signal,
      });
      const env = resetEnvironment(ctx.runner, { ...t, top: t.top }, m.recovery);
      const started = Date.now();
      const progress = executorProgress(ctx);
      const { journalPath } = resetJournalPaths(t.top);
      const journal = (await exists(journalPath)) ? await readJournal(journalPath) : undefined;
      if (journal?.isOk() && journal.value.status !== "done") {
        note(ctx, pc.yellow("An interrupted reset was found: resuming it from its journal."));
        const r = await resumeReset(env, { onProgress: progress.onProgress, signal: ctx.signal });
        progress.stop();
        if (r.isErr()) return fail(ctx, "recovery", r.error);
        return succeed(
          ctx,
          "recovery",
          { action: "resumed", durationMs: Date.now() - started },
          (d) =>
            pc.green(`LIFEBOAT-RECOVERY resumed and finished in ${formatDuration(d.durationMs)}.`),
        );
      }
      const p = must(makePlan(m.state, request));
      note(ctx, `Plan ${p.kind}: ${p.steps.length} steps, digest ${p.digest}`);
      const r = await executeReset(env, p, {
        confirm: p.digest,
        onProgress: progress.onProgress,
        signal: ctx.signal,
      });
      progress.stop();
      if (r.isErr()) return fail(ctx, "recovery", r.error);
      return succeed(
        ctx,
        "recovery",
        { action: "executed", planDigest: p.digest, durationMs: Date.now() - started },
        (d) => pc.green(`LIFEBOAT-RECOVERY reset done in ${formatDuration(d.durationMs)}.`),
      );
    });
  });
}

/** `lifeboat recovery`: what the recovery environment runs for an unattended reset. */
export function registerRecovery(program: Command, wrap: Wrap): void {
  targetOptions(program.command("recovery"))
    .description(
      "on a terminal with only --disk: the guided recovery front end (--factory-reset: on the reset-keeping-files confirmation); otherwise run a reset request written beforehand (checked against its digest), or resume an interrupted one",
    )
    .option("--request <file>", 'the request: {"kind":"reset-keep-home","stamp":"…"}')
    .option(
      "--digest <sha256:hex>",
      "the request file's SHA-256, as given on the kernel command line",
    )
    .option(
      "--trusted-key <pem>",
      "public key of the recovery image (repeatable)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .option(
      "--lang <code>",
      "front end language (en, de); default lifeboat.lang= or a first screen",
    )
    .option("--ascii", "front end with ASCII-only borders (default on TERM=linux)")
    .option(
      "--factory-reset",
      'open the guided front end on the "reset, keep my files" confirmation (what GRUB\'s "Reset to factory settings" runs); Esc goes to the main menu',
    )
    .action(wrap(run));
}
