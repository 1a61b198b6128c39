import { createHash } from "node:crypto";
import { access, mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { mountTopLevel } from "@lifeboat/btrfs";
import { findMountOf, readJournal, writeFileAtomic } from "@lifeboat/core";
import { editGrubenv } from "@lifeboat/grub";
import {
  executeReset,
  plan as makePlan,
  RESET_ENTRY_ID,
  RESET_REQUEST_KINDS,
  type ResetRequest,
  resetJournalPaths,
  resumeReset,
  scheduleReset,
  stampOf,
  unscheduleReset,
} from "@lifeboat/reset";
import type { Command } from "commander";
import pc from "picocolors";
import { z } from "zod";
import { type CliContext, fail, note, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { machineState } from "../machine-state.js";
import { executorProgress } from "../run-plan.js";
import { withTarget } from "../target.js";
import { formatDuration } from "../ui/format.js";
import { guarded, must, usage } from "./_shared.js";
import type { Wrap } from "./index.js";

/** Where the scheduled request is kept, relative to the Btrfs top level. */
export const SCHEDULED_REQUEST = ".lifeboat/scheduled-reset.json";

interface ScheduleOpts {
  mode?: string;
  stamp?: string;
  systemRoot?: string;
  boot?: string;
  entry?: string;
  grubenv?: string;
  grubMenu?: string;
  lifeboat?: string;
  digest?: string;
  reboot?: boolean;
}

const RequestFile = z.object({
  kind: z.enum(RESET_REQUEST_KINDS as unknown as [string, ...string[]]),
  stamp: z.string().regex(/^\d{8}T\d{6}Z$/),
});

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** The Btrfs top level of the filesystem `systemRoot` is on, mounted for the body. */
async function withTopOf<T>(
  ctx: CliContext,
  systemRoot: string,
  body: (top: string) => Promise<T>,
): Promise<T> {
  const m = must(await mountTopLevel(ctx.runner, systemRoot));
  try {
    return await body(m.path);
  } finally {
    await m.unmount();
  }
}

/** The GRUB menu file: `custom.cfg` when grub.cfg does not read BLS entries itself (no blscfg). */
async function menuFileFor(boot: string, choice: string | undefined): Promise<string | undefined> {
  if (choice === "bls") return undefined;
  if (choice === "custom-cfg") return "grub2/custom.cfg";
  const cfg = await readFile(path.join(boot, "grub2/grub.cfg"), "utf8").catch(() => "");
  // `blscfg` as a command (not in a comment): GRUB reads the BLS entries itself.
  return /^\s*blscfg\b/m.test(cfg) ? undefined : "grub2/custom.cfg";
}

/** The running kernel's BLS entry (not one of Lifeboat's own). */
async function runningEntry(ctx: CliContext, boot: string): Promise<string | undefined> {
  const release = (await ctx.runner.run("uname", ["-r"])).map((r) => r.stdout.trim());
  const kernel = release.isOk() ? release.value : "";
  const dir = path.join(boot, "loader/entries");
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith(".conf") && !n.startsWith("lifeboat-"))
    .sort();
  for (const n of names) {
    const text = await readFile(path.join(dir, n), "utf8");
    if (
      kernel &&
      new RegExp(`^linux\\s+\\S*vmlinuz-${kernel.replace(/[.+]/g, "\\$&")}\\s*$`, "m").test(text)
    )
      return `loader/entries/${n}`;
  }
  return names[0] === undefined ? undefined : `loader/entries/${names[0]}`;
}

async function schedule(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  const kind = opts.mode ?? "reset-keep-home";
  if (!["reset-keep-home", "full-restore", "reset-user-data"].includes(kind))
    return usage(
      ctx,
      "reset schedule",
      "--mode must be reset-keep-home, full-restore or reset-user-data",
    );
  const systemRoot = path.resolve(opts.systemRoot ?? "/");
  const boot = path.resolve(opts.boot ?? "/boot");
  const stamp = opts.stamp ?? stampOf(new Date());
  return guarded(ctx, "reset schedule", async () => {
    const baseEntry = opts.entry ?? (await runningEntry(ctx, boot));
    if (!baseEntry) return usage(ctx, "reset schedule", `no boot entry in ${boot}/loader/entries`);
    return withTopOf(ctx, systemRoot, async (top) => {
      const request = { kind, stamp } as ResetRequest;
      // Plan it now on the machine as it is: a request that cannot run is refused before the reboot.
      const planned = await withTarget(ctx.runner, { top, boot }, { mount: false }, async (t) => {
        const m = await machineState(ctx.runner, t, { trustedKeys: [], measureSizes: false });
        return must(makePlan(m.state, request));
      });
      const bytes = `${JSON.stringify({ kind, stamp })}\n`;
      const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      const requestPath = path.join(top, SCHEDULED_REQUEST);
      await mkdir(path.dirname(requestPath), { recursive: true });
      must(await writeFileAtomic(requestPath, bytes));
      const menuFile = await menuFileFor(boot, opts.grubMenu);
      const bootMount = await findMountOf(ctx.runner, boot);
      const grubenv = opts.grubenv ?? "grub2/grubenv";
      const done = must(
        await scheduleReset(ctx.runner, {
          systemRoot,
          boot,
          baseEntry,
          execStart: [
            opts.lifeboat ?? "/usr/bin/lifeboat",
            "reset",
            "run-scheduled",
            "--digest",
            digest,
          ],
          nextBoot: true,
          grubenv,
          ...(menuFile ? { menuFile } : {}),
          ...(bootMount.isOk() && bootMount.value.fsUuid
            ? { bootFsUuid: bootMount.value.fsUuid }
            : {}),
        }),
      );
      return succeed(
        ctx,
        "reset schedule",
        {
          request: { kind, stamp },
          requestPath: SCHEDULED_REQUEST,
          digest,
          plannedNow: { kind: planned.kind, steps: planned.steps.length, digest: planned.digest },
          unit: done.unitPath,
          wantedBy: done.wantedBy,
          bootEntry: done.entryPath,
          baseEntry,
          menuFile: done.menuFile ?? null,
          grubenv: done.grubenv ?? null,
          nextEntry: RESET_ENTRY_ID,
        },
        (d) =>
          [
            pc.green(`A ${d.request.kind} reset is scheduled for the next boot.`),
            `  request ${d.requestPath} (${d.digest})`,
            `  unit    ${d.unit}`,
            `  entry   ${d.bootEntry}${d.menuFile ? ` and ${d.menuFile}` : ""} (next boot only)`,
            pc.dim("Reboot to run it; `lifeboat reset unschedule` cancels it."),
          ].join("\n"),
      );
    });
  });
}

async function unschedule(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  const systemRoot = path.resolve(opts.systemRoot ?? "/");
  const boot = path.resolve(opts.boot ?? "/boot");
  return guarded(ctx, "reset unschedule", () =>
    withTopOf(ctx, systemRoot, async (top) => {
      const requestPath = path.join(top, SCHEDULED_REQUEST);
      const hadRequest = await exists(requestPath);
      await rm(requestPath, { force: true });
      const r = must(
        await unscheduleReset(ctx.runner, {
          systemRoot,
          boot,
          grubenv: opts.grubenv ?? "grub2/grubenv",
          menuFile: "grub2/custom.cfg",
        }),
      );
      const removed = [...(hadRequest ? [SCHEDULED_REQUEST] : []), ...r.removed];
      return succeed(ctx, "reset unschedule", { removed }, (d) =>
        d.removed.length === 0
          ? "No reset was scheduled."
          : pc.green(`The scheduled reset is cancelled (${d.removed.length} things removed).`),
      );
    }),
  );
}

/** What the unit runs, on the boot with `systemd.factory_reset=1`. */
async function runScheduled(ctx: CliContext, opts: ScheduleOpts): Promise<ExitCodeValue> {
  if (!opts.digest) return usage(ctx, "reset run-scheduled", "give --digest sha256:<hex>");
  const expected = opts.digest;
  const systemRoot = path.resolve(opts.systemRoot ?? "/");
  const boot = path.resolve(opts.boot ?? "/boot");
  const grubenv = path.join(boot, opts.grubenv ?? "grub2/grubenv");
  return guarded(ctx, "reset run-scheduled", () =>
    withTopOf(ctx, systemRoot, async (top) => {
      const started = Date.now();
      const requestPath = path.join(top, SCHEDULED_REQUEST);
      const { journalPath } = resetJournalPaths(top);
      const journal = (await exists(journalPath)) ? await readJournal(journalPath) : undefined;
      const env = { runner: ctx.runner, top, boot };
      const progress = executorProgress(ctx);
      // The reset is done: clean-up trouble is reported, not a failure (the unit must still reboot).
      const finish = async () => {
        await rm(requestPath, { force: true }).catch(() => undefined);
        const r = await unscheduleReset(ctx.runner, {
          boot,
          grubenv: path.relative(boot, grubenv),
          menuFile: "grub2/custom.cfg",
        });
        if (r.isErr()) note(ctx, pc.yellow(`The reset entry was not removed: ${r.error.message}`));
      };
      if (journal?.isOk() && journal.value.status !== "done") {
        note(ctx, pc.yellow("An interrupted reset was found: resuming it from its journal."));
        const r = await resumeReset(env, { onProgress: progress.onProgress, signal: ctx.signal });
        progress.stop();
        if (r.isErr()) return fail(ctx, "reset run-scheduled", r.error);
        await finish();
        return succeed(
          ctx,
          "reset run-scheduled",
          { action: "resumed", planDigest: r.value.planDigest, durationMs: Date.now() - started },
          (d) =>
            pc.green(`LIFEBOAT-SCHEDULED resumed and finished in ${formatDuration(d.durationMs)}.`),
        );
      }
      if (!(await exists(requestPath)))
        return fail(ctx, "reset run-scheduled", {
          code: "CLI_USAGE",
          message: `no scheduled request at ${SCHEDULED_REQUEST} on the top level: nothing was done`,
        });
      const bytes = await readFile(requestPath);
      const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      if (actual !== expected)
        return fail(ctx, "reset run-scheduled", {
          code: "CLI_USAGE",
          message: `the scheduled request does not match its digest (expected ${expected}, found ${actual}): nothing was done`,
        });
      const parsed = RequestFile.safeParse(JSON.parse(bytes.toString("utf8")));
      if (!parsed.success)
        return usage(ctx, "reset run-scheduled", `not a reset request: ${parsed.error.message}`);
      const request = parsed.data as ResetRequest;
      // A power cut from here on brings the next boot back to this entry (GRUB cleared the one-shot).
      must(await editGrubenv(grubenv, { next_entry: RESET_ENTRY_ID }));
      const p = await withTarget(ctx.runner, { top, boot }, { mount: false }, async (t) => {
        const m = await machineState(ctx.runner, t, { trustedKeys: [], signal: ctx.signal });
        return makePlan(m.state, request);
      });
      if (p.isErr()) {
        must(await editGrubenv(grubenv, { next_entry: undefined }));
        return fail(ctx, "reset run-scheduled", p.error);
      }
      note(ctx, `Plan ${p.value.kind}: ${p.value.steps.length} steps, digest ${p.value.digest}`);
      const r = await executeReset(env, p.value, {
        confirm: p.value.digest,
        onProgress: progress.onProgress,
        signal: ctx.signal,
      });
      progress.stop();
      if (r.isErr()) {
        // Leave the journal for `lifeboat resume`; boot the system as it is next time.
        await editGrubenv(grubenv, { next_entry: undefined });
        return fail(ctx, "reset run-scheduled", r.error);
      }
      await finish();
      return succeed(
        ctx,
        "reset run-scheduled",
        { action: "executed", planDigest: p.value.digest, durationMs: Date.now() - started },
        (d) => pc.green(`LIFEBOAT-SCHEDULED reset done in ${formatDuration(d.durationMs)}.`),
      );
    }),
  );
}

function placeOptions(cmd: Command): Command {
  return cmd
    .option("--system-root <dir>", "the running system's root (default /)")
    .option("--boot <dir>", "/boot, mounted (default /boot)")
    .option(
      "--grubenv <file>",
      "GRUB's environment block, relative to /boot (default grub2/grubenv)",
    );
}

/** `lifeboat reset schedule|unschedule|run-scheduled`: the reset at next boot (`systemd.factory_reset=1`). */
export function registerResetSchedule(program: Command, wrap: Wrap): void {
  const reset = program
    .command("reset")
    .description("a reset at the next boot, asked for from the running system");
  placeOptions(reset.command("schedule"))
    .description(
      "schedule a reset for the next boot (request with digest on the Btrfs top level, unit, GRUB entry taken once)",
    )
    .option("--mode <mode>", "reset-keep-home (default) | full-restore | reset-user-data")
    .option("--stamp <stamp>", "time stamp naming this reset's subvolumes (default now)")
    .option(
      "--entry <file>",
      "the BLS entry the reset entry is made from (default: the running kernel's)",
    )
    .option(
      "--grub-menu <how>",
      "auto (default) | bls | custom-cfg: where GRUB finds the reset entry",
    )
    .option("--lifeboat <path>", "the lifeboat program the unit runs (default /usr/bin/lifeboat)")
    .action(wrap(schedule));
  placeOptions(reset.command("unschedule"))
    .description("cancel a scheduled reset (request, unit, GRUB entry, next boot)")
    .action(wrap(unschedule));
  placeOptions(reset.command("run-scheduled"))
    .description(
      "run the scheduled reset (what the unit runs on the boot with systemd.factory_reset=1)",
    )
    .option("--digest <sha256:hex>", "the request's SHA-256, as the unit was written with")
    .action(wrap(runScheduled));
}
