/**
 * Nothing a refused or failed run leaves behind stops the next valid plan: a
 * plan for another disk is refused before any journal is written; a failed
 * rescue and an interrupted reset are abandoned (what they made removed) or
 * resumed, as docs/cli.md says, and then a new plan applies. Only the
 * documented CLI is used.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyAndKill,
  cli,
  cliJsonFailure,
  ensureBuilt,
  json,
  keygen,
  provisionSmall,
  smallDisk,
} from "./support.js";

let scratch: Scratch;
let disk: string;
let other: string;

interface Unfinished {
  readonly state: { readonly unfinishedPlan?: { readonly status: string; readonly kind: string } };
}
const unfinished = (d: string) =>
  json<Unfinished>({}, ["inspect", "--disk", d, "--no-sizes"]).state.unfinishedPlan;
const paths = (d: string) =>
  json<{ subvolumes: { path: string }[] }>({}, ["subvol", "list", "--disk", d]).subvolumes.map(
    (s) => s.path,
  );
const plan = (d: string, ...args: string[]) =>
  json<{ digest: string }>({}, ["plan", "--disk", d, ...args]).digest;
const apply = (d: string, digest: string, ...args: string[]) =>
  json<{ executed: boolean }>({}, ["apply", "--disk", d, ...args, "--yes", "--confirm", digest]);

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-stranded-");
  const keys = keygen(scratch);
  disk = await smallDisk(scratch, "disk.img");
  other = await smallDisk(scratch, "other.img");
  for (const d of [disk, other]) provisionSmall(d, keys.privateKey);
}, 600_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("nothing a refused or failed run leaves behind blocks the next plan", () => {
  it("a plan for another disk is refused before its journal is written", async () => {
    const file = scratch.path("other-plan.json");
    const d = json<{ digest: string }>({}, [
      "plan",
      "--disk",
      other,
      "--stamp",
      "20261204T200000Z",
      "--out",
      file,
    ]).digest;
    const refused = cliJsonFailure(["apply", file, "--disk", disk, "--yes", "--confirm", d]);
    expect(refused.doc.error.code).toBe("RESET_WRONG_TARGET");
    expect(refused.code).toBe(4);
    expect(unfinished(disk)).toBeUndefined();
    const mine = plan(disk, "--stamp", "20261204T200100Z");
    expect(apply(disk, mine, "--stamp", "20261204T200100Z").executed).toBe(true);
  });

  it("a failed rescue: inspect shows it first, a new plan is refused until abandon removes its snapshot", async () => {
    // A target that takes no writes: the copy fails half-way, after the snapshot was made.
    const usb = scratch.path("usb-ro");
    mkdirSync(usb, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", usb]);
    try {
      await writeFile(`${usb}/.keep`, "");
      execFileSync("mount", ["-o", "remount,ro", usb]);
      const stamp = "20261204T210000Z";
      const failed = cliJsonFailure(["rescue", "--disk", disk, "--to", usb, "--stamp", stamp]);
      expect(failed.doc.error.code).toBe("STEP_FAILED");
      expect(unfinished(disk)).toMatchObject({ kind: "rescue", status: "failed" });
      expect(paths(disk)).toContain(`.lifeboat/rescue-${stamp}`);

      const next = "20261204T210100Z";
      const blocked = cliJsonFailure([
        "apply",
        "--disk",
        disk,
        "--stamp",
        next,
        "--yes",
        "--confirm",
        plan(disk, "--stamp", next),
      ]);
      expect(blocked.doc.error.code).toBe("JOURNAL_PLAN_MISMATCH");

      const abandoned = json<{ planDigest?: string; removed: string[] }>({}, [
        "abandon",
        "--disk",
        disk,
      ]);
      expect(abandoned.removed).toContain(`.lifeboat/rescue-${stamp}`);
      expect(paths(disk)).not.toContain(`.lifeboat/rescue-${stamp}`);
      expect(unfinished(disk)).toBeUndefined();
      expect(apply(disk, plan(disk, "--stamp", next), "--stamp", next).executed).toBe(true);
    } finally {
      execFileSync("umount", [usb]);
    }
  });

  it("a reset interrupted before the swap is abandoned; one interrupted after it can only be resumed", async () => {
    const before = "20261204T220000Z";
    const killed = await applyAndKill(
      {},
      [
        "apply",
        "--disk",
        disk,
        "--stamp",
        before,
        "--yes",
        "--confirm",
        plan(disk, "--stamp", before),
      ],
      (e) => e.stepId === "stage-boot",
    );
    expect(killed).toBe("killed");
    expect(unfinished(disk)).toMatchObject({ kind: "reset-keep-home", status: "running" });
    const abandoned = json<{ removed: string[] }>({}, ["abandon", "--disk", disk]);
    expect(abandoned.removed).toContain(`root.new-${before}`);
    expect(paths(disk)).not.toContain(`root.new-${before}`);

    const after = "20261204T220100Z";
    const killedLate = await applyAndKill(
      {},
      [
        "apply",
        "--disk",
        disk,
        "--stamp",
        after,
        "--yes",
        "--confirm",
        plan(disk, "--stamp", after),
      ],
      (e) => e.stepId === "install-boot",
    );
    expect(killedLate).toBe("killed");
    const refused = cliJsonFailure(["abandon", "--disk", disk]);
    expect(refused.doc.error.code).toBe("RESET_CANNOT_ABANDON");
    json({}, ["resume", "--disk", disk]);
    expect(unfinished(disk)).toBeUndefined();
    expect(paths(disk)).toContain(`root.old-${after}`);

    // Its time stamp is taken now (root.old-<stamp> is on the disk): planning with it again is
    // refused up front, not half way through at the swap.
    const reused = cliJsonFailure(["plan", "--disk", disk, "--stamp", after]);
    expect(reused.doc.error).toMatchObject({ code: "RESET_BAD_REQUEST", field: "stamp" });
    expect(reused.doc.error.message).toContain(`root.old-${after} exists`);

    const last = "20261204T220200Z";
    expect(apply(disk, plan(disk, "--stamp", last), "--stamp", last).executed).toBe(true);
  });

  it("a reset stopped at the swap is abandoned when the swap had not happened, else resumed", async () => {
    const rootUuid = () =>
      json<{ subvolumes: { path: string; uuid: string }[] }>({}, [
        "subvol",
        "list",
        "--disk",
        disk,
      ]).subvolumes.find((s) => s.path === "root")?.uuid;
    const before = rootUuid();
    const stamp = "20261204T230000Z";
    const killed = await applyAndKill(
      {},
      [
        "apply",
        "--disk",
        disk,
        "--stamp",
        stamp,
        "--yes",
        "--confirm",
        plan(disk, "--stamp", stamp),
      ],
      (e) => e.stepId === "swap-root",
    );
    expect(killed).toBe("killed");
    expect(unfinished(disk)).toMatchObject({ kind: "reset-keep-home", status: "running" });
    // The kill lands before or after the rename: abandon decides from the disk, not the journal.
    const r = cli(["--json", "abandon", "--disk", disk]);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      data?: { removed: string[] };
      error?: { code: string };
    };
    if (doc.ok) {
      // Not swapped: the old root is root again, what the run made is gone.
      console.info("killed at the swap, before the rename: abandoned");
      expect(rootUuid()).toBe(before);
      expect(doc.data?.removed).toContain(`root.new-${stamp}`);
      expect(paths(disk)).not.toContain(`root.new-${stamp}`);
    } else {
      // Swapped: the machine is changing over; only resume finishes it.
      console.info("killed at the swap, after the rename: resumed");
      expect(doc.error?.code).toBe("RESET_CANNOT_ABANDON");
      expect(rootUuid()).not.toBe(before);
      json({}, ["resume", "--disk", disk]);
      expect(paths(disk)).toContain(`root.old-${stamp}`);
    }
    expect(unfinished(disk)).toBeUndefined();
    const next = "20261204T230100Z";
    expect(apply(disk, plan(disk, "--stamp", next), "--stamp", next).executed).toBe(true);
  });
});
