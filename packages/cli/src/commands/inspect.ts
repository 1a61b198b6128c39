import { readGpt } from "@lifeboat/gpt";
import type { SystemState } from "@lifeboat/reset";
import type { Command } from "commander";
import pc from "picocolors";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { machineState, tableSummary } from "../machine-state.js";
import { withTarget } from "../target.js";
import { drawSummary } from "../ui/disk-view.js";
import { formatBytes, table } from "../ui/format.js";
import { inspectViaService } from "../via-service-commands.js";
import { collect, guarded, loadTrustedKeys, targetOf, targetOptions, usage } from "./_shared.js";
import type { Wrap } from "./index.js";

interface InspectOpts {
  disk?: string;
  top?: string;
  boot?: string;
  recoveryRoot?: string;
  trustedKey?: string[];
  sizes?: boolean;
}

/** The human view of a system state. */
export function renderState(state: SystemState, drawing: string | undefined): string {
  const out: string[] = [];
  const u = state.unfinishedPlan;
  if (u)
    out.push(
      pc.bold(pc.yellow(`Unfinished: ${u.title}`)),
      `  plan ${u.digest}, ${u.status === "failed" ? `failed${u.stoppedAt ? ` at step ${u.stoppedAt}` : ""}: ${u.lastError ?? "?"}` : `interrupted${u.stoppedAt ? ` in step ${u.stoppedAt}` : ""}`}`,
      "  Finish it first: `lifeboat resume` with the same --disk (or --top/--boot);",
      "  or, when it had not yet replaced anything, undo it: `lifeboat abandon`.",
      "",
    );
  if (drawing) out.push(pc.bold("Disk"), drawing, "");
  if (state.btrfs) {
    out.push(
      pc.bold(`Btrfs ${state.btrfs.fsUuid}`) +
        pc.dim(
          `  ${formatBytes(state.btrfs.sizeBytes)}, ${formatBytes(state.btrfs.freeBytes)} free`,
        ),
      `on ${state.btrfs.device}${state.btrfs.encryptedOn ? `, an opened LUKS container on ${state.btrfs.encryptedOn}` : ""}`,
      table(
        ["id", "subvolume", "ro", "size"],
        state.btrfs.subvolumes.map((s) => [
          String(s.id),
          s.path + (s.id === state.btrfs?.defaultSubvolumeId ? pc.dim(" (default)") : ""),
          s.readOnly ? "ro" : "",
          s.bytes === undefined ? "" : formatBytes(s.bytes),
        ]),
      ),
      "",
    );
  }
  const locked = state.disks
    .flatMap((d) => d.partitions)
    .filter((p) => p.luks && p.luks.openAs === undefined);
  for (const p of locked)
    out.push(pc.yellow(`Encrypted volume ${p.device} (LUKS${p.luks?.version}) is locked`));
  const f = state.factory;
  out.push(
    f
      ? `${pc.bold("Factory snapshot")}  ${f.product} ${f.build}  ${f.intact ? pc.green("intact") : pc.red("DAMAGED")}  kernels ${f.kernelVersions.join(", ")}`
      : `${pc.bold("Factory snapshot")}  ${pc.yellow("none (run `lifeboat provision`)")}`,
  );
  const cps = (state.checkpoints ?? []).filter((c) => !c.factory);
  if (cps.length > 0)
    out.push(
      `${pc.bold("Checkpoints")}       ${cps.map((c) => `${c.id}${c.intact ? "" : pc.red(" DAMAGED")}`).join(", ")} ${pc.dim("(lifeboat checkpoint list)")}`,
    );
  const r = state.recovery;
  out.push(
    r
      ? `${pc.bold("Recovery image")}    ${r.product ?? "?"} ${r.build ?? ""}  ${r.verified ? pc.green("verified") : pc.red(`NOT verified: ${r.problem ?? ""}`)}`
      : `${pc.bold("Recovery image")}    ${pc.yellow("none found")}`,
  );
  if (state.otherOses.length > 0)
    out.push(
      `${pc.bold("Other systems")}     ${state.otherOses.map((o) => `${o.name} (${o.devices.join(", ")})`).join("; ")}`,
    );
  if (state.busy.length > 0) out.push(pc.yellow(`Busy: ${state.busy.join(", ")}`));
  return out.join("\n");
}

async function run(ctx: CliContext, opts: InspectOpts): Promise<ExitCodeValue> {
  if (ctx.viaService) return inspectViaService(ctx, opts);
  const target = targetOf(opts);
  if (!target.disk && !target.top)
    return usage(ctx, "inspect", "give --disk <image|device> or --top <dir>");
  return guarded(ctx, "inspect", async () => {
    const trustedKeys = await loadTrustedKeys(opts.trustedKey ?? []);
    return withTarget(ctx.runner, target, {}, async (t) => {
      const m = await machineState(ctx.runner, t, {
        trustedKeys,
        measureSizes: opts.sizes !== false,
        signal: ctx.signal,
      });
      let disk: ReturnType<typeof tableSummary> | undefined;
      if (target.disk) {
        const tbl = t.table ?? (await readGpt(ctx.runner, target.disk)).unwrapOr(undefined);
        if (tbl) disk = tableSummary(target.disk, tbl);
      }
      return succeed(ctx, "inspect", { disk: disk ?? null, state: m.state }, (d) =>
        renderState(d.state, d.disk ? drawSummary(d.disk) : undefined),
      );
    });
  });
}

/** `lifeboat inspect`: what is on this machine. */
export function registerInspect(program: Command, wrap: Wrap): void {
  targetOptions(program.command("inspect"))
    .description(
      "show disks, partitions (drawn to scale), subvolumes, factory snapshot, recovery image",
    )
    .option(
      "--trusted-key <pem>",
      "public key to verify the recovery image with (repeatable)",
      collect,
    )
    .option("--no-sizes", "do not measure subvolume sizes (faster)")
    .action(wrap(run));
}
