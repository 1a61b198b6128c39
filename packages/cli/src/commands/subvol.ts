import * as btrfs from "@lifeboat/btrfs";
import { createPlan } from "@lifeboat/core";
import type { Command } from "commander";
import { type CliContext, succeed } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { runPlan } from "../run-plan.js";
import { type OpenedTarget, withTarget } from "../target.js";
import { table } from "../ui/format.js";
import { confirmOptions, guarded, must, targetOf, targetOptions, usage } from "./_shared.js";
import type { Wrap } from "./index.js";

interface TopOpts {
  disk?: string;
  top?: string;
  readOnly?: boolean;
  recursive?: boolean;
  yes?: boolean;
  confirm?: string;
  dryRun?: boolean;
}

/** Run `body` with the Btrfs top level of `--top` or `--disk`. */
async function onTop(
  ctx: CliContext,
  command: string,
  opts: TopOpts,
  body: (top: string, t: OpenedTarget) => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  const target = targetOf(opts);
  if (!target.disk && !target.top)
    return usage(ctx, command, "give --top <dir> (the mounted top level) or --disk <image|device>");
  return guarded(ctx, command, () =>
    withTarget(ctx.runner, target, {}, async (t) => {
      if (!t.top) return usage(ctx, command, "no Btrfs filesystem found on the disk");
      return body(t.top, t);
    }),
  );
}

const subvolumeRow = (s: btrfs.Subvolume) => ({
  id: s.id,
  path: s.path,
  uuid: s.uuid,
  parentUuid: s.parentUuid ?? null,
  readOnly: s.readOnly,
});

async function list(ctx: CliContext, opts: TopOpts): Promise<ExitCodeValue> {
  return onTop(ctx, "subvol list", opts, async (top) => {
    const subs = must(await btrfs.listSubvolumes(ctx.runner, top));
    const def = must(await btrfs.getDefaultSubvolume(ctx.runner, top));
    return succeed(
      ctx,
      "subvol list",
      { defaultId: def.id, subvolumes: subs.map(subvolumeRow) },
      (d) =>
        table(
          ["id", "path", "ro", "default", "uuid"],
          d.subvolumes.map((s) => [
            String(s.id),
            s.path,
            s.readOnly ? "ro" : "",
            s.id === d.defaultId ? "*" : "",
            s.uuid,
          ]),
        ),
    );
  });
}

async function create(ctx: CliContext, path: string, opts: TopOpts): Promise<ExitCodeValue> {
  return onTop(ctx, "subvol create", opts, async (top) => {
    const s = must(await btrfs.createSubvolume(ctx.runner, top, path, { parents: true }));
    return succeed(
      ctx,
      "subvol create",
      subvolumeRow(s),
      (d) => `created subvolume ${d.path} (id ${d.id})`,
    );
  });
}

async function snap(
  ctx: CliContext,
  source: string,
  dest: string,
  opts: TopOpts,
): Promise<ExitCodeValue> {
  return onTop(ctx, "subvol snapshot", opts, async (top) => {
    const s = must(
      await btrfs.snapshot(ctx.runner, top, source, dest, {
        parents: true,
        readOnly: opts.readOnly ?? false,
      }),
    );
    return succeed(
      ctx,
      "subvol snapshot",
      subvolumeRow(s),
      (d) => `snapshot ${d.path} of ${source}${d.readOnly ? " (read-only)" : ""}, id ${d.id}`,
    );
  });
}

async function del(ctx: CliContext, path: string, opts: TopOpts): Promise<ExitCodeValue> {
  return onTop(ctx, "subvol delete", opts, async (top) => {
    const s = must(await btrfs.showSubvolume(ctx.runner, top, path));
    const plan = must(
      createPlan({
        kind: "subvolume-delete",
        title: `Delete subvolume ${s.path}`,
        target: top,
        warnings: [],
        steps: [
          {
            id: "delete",
            kind: "btrfs.delete",
            title: `Delete subvolume ${s.path}${opts.recursive ? " and everything nested in it" : ""}`,
            params: { path: s.path, uuid: s.uuid, recursive: opts.recursive ?? false },
            destroys: [{ kind: "subvolume", what: `subvolume ${s.path} (uuid ${s.uuid})` }],
            reversible: false,
            preconditions: [],
          },
        ],
      }),
    );
    return runPlan(
      ctx,
      plan,
      {
        "btrfs.delete": () =>
          btrfs
            .deleteSubvolume(ctx.runner, top, s.path, { recursive: opts.recursive ?? false })
            .map(() => undefined),
      },
      {
        command: "subvol delete",
        journalPath: `${top}/.lifeboat-cli-journal.json`,
        word: "DELETE",
        ...(opts.yes ? { yes: true } : {}),
        ...(opts.confirm ? { confirm: opts.confirm } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
      },
    );
  });
}

async function setDefault(ctx: CliContext, path: string, opts: TopOpts): Promise<ExitCodeValue> {
  return onTop(ctx, "subvol set-default", opts, async (top) => {
    const ref = /^\d+$/.test(path) ? { id: Number(path) } : { path };
    const d = must(await btrfs.setDefaultSubvolume(ctx.runner, top, ref));
    return succeed(
      ctx,
      "subvol set-default",
      { id: d.id, path: d.path ?? null },
      (x) => `default subvolume is now ${x.path ?? x.id} (id ${x.id})`,
    );
  });
}

/** `lifeboat subvol list|create|snapshot|delete|set-default`. */
export function registerSubvol(program: Command, wrap: Wrap): void {
  const sv = program
    .command("subvol")
    .description("Btrfs subvolumes (paths relative to the top level)");
  targetOptions(sv.command("list")).description("list subvolumes").action(wrap(list));
  targetOptions(sv.command("create <path>")).description("create a subvolume").action(wrap(create));
  targetOptions(sv.command("snapshot <source> <dest>"))
    .description("snapshot a subvolume")
    .option("--read-only", "make the snapshot read-only")
    .action(wrap(snap));
  confirmOptions(targetOptions(sv.command("delete <path>")))
    .description("delete a subvolume (a plan: confirm by typing DELETE)")
    .option("--recursive", "also delete nested subvolumes")
    .action(wrap(del));
  targetOptions(sv.command("set-default <path-or-id>"))
    .description("make a subvolume the default (mounted without subvol=)")
    .action(wrap(setDefault));
}
