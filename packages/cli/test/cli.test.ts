import { readFile, writeFile } from "node:fs/promises";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkpointCreateDataSchema,
  checkpointListDataSchema,
  checkpointPruneDataSchema,
  diskTableSchema,
  doctorDataSchema,
  grubRenderDataSchema,
  imageBuildDataSchema,
  imageKeygenDataSchema,
  imageVerifyDataSchema,
  inspectDataSchema,
  planDataSchema,
  planRunDataSchema,
  provisionDataSchema,
  resumeDataSchema,
  subvolListDataSchema,
} from "../src/json-schemas.js";
import { cli, cliJson, cliJsonFailure, ensureBuilt, smallDisk } from "./support.js";

const STAMP = "20261125T210000Z";
let scratch: Scratch;
let disk: string;
let keys: { privateKey: string; publicKey: string };

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-test-");
  disk = await smallDisk(scratch);
  keys = cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
}, 300_000);
afterAll(async () => {
  await scratch?.cleanup();
});

const subvolumes = () =>
  cliJson(["subvol", "list", "--disk", disk], subvolListDataSchema)
    .subvolumes.map((s) => `${s.path} ${s.uuid}`)
    .sort();

describe("lifeboat, the real binary", () => {
  it("lists every command in --help and exits 2 on bad usage", () => {
    const help = cli(["--help"]);
    expect(help.code).toBe(0);
    for (const c of [
      "inspect",
      "gpt",
      "subvol",
      "image",
      "grub",
      "provision",
      "plan",
      "apply",
      "resume",
      "rescue",
      "update",
      "doctor",
    ])
      expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, "m"));
    expect(cli(["no-such-command"]).code).toBe(2);
    const f = cliJsonFailure(["plan", "--mode", "explode", "--disk", disk]);
    expect(f.code).toBe(2);
    expect(f.doc.error.code).toBe("CLI_USAGE");
  });

  it("doctor reports the tools", () => {
    const d = cliJson(["doctor"], doctorDataSchema);
    expect(d.tools.find((t) => t.tool === "btrfs")?.found).toBe(true);
  });

  it("gpt show draws the disk with the recovery partition marked", () => {
    const t = cliJson(["gpt", "show", disk], diskTableSchema);
    expect(t.partitions.map((p) => p.number)).toEqual([1, 2, 3, 4]);
    expect(t.partitions[2]?.typeGuid).toBe("d999c366-3126-4451-b3c1-be31e091158c");
    const human = cli(["gpt", "show", disk]);
    expect(human.stdout).toMatch(/3 +160 MiB +Linux recovery partition.*◀ recovery/);
  });

  it("image build, sign, verify; a flipped byte fails verification with exit 5", async () => {
    const set = scratch.path("set");
    const built = cliJson(
      ["image", "build", "/usr/share/zoneinfo", "--out", set, "--product", "P", "--version", "1"],
      imageBuildDataSchema,
    );
    expect(built.signed).toBe(false);
    expect(cli(["image", "sign", set, "--key", keys.privateKey]).code).toBe(0);
    const v = cliJson(
      ["image", "verify", set, "--trusted-key", keys.publicKey],
      imageVerifyDataSchema,
    );
    expect(v.keyId).toMatch(/^[0-9a-f]{32}$/);
    const file = `${set}/root.squashfs`;
    const bytes = await readFile(file);
    const at = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
    await writeFile(file, bytes);
    const bad = cliJsonFailure(["image", "verify", set, "--trusted-key", keys.publicKey]);
    expect(bad.code).toBe(5);
    expect(bad.doc.error.code).toMatch(/^IMAGE_/);
  });

  it("provision, inspect, grub render", () => {
    const p = cliJson(
      [
        "provision",
        "--disk",
        disk,
        "--product",
        "Contoso Laptop 14",
        "--build",
        "F40-T",
        "--key",
        keys.privateKey,
        "--no-recovery-env",
      ],
      provisionDataSchema,
    );
    expect(p.recovery?.setId).toMatch(/^Contoso_Laptop_14-F40_T-[0-9a-f]{12}$/);
    expect(p.grub).toEqual([
      expect.objectContaining({
        status: "installed",
        subvolume: "root",
        path: "/etc/grub.d/41_lifeboat",
      }),
      expect.objectContaining({ kind: "custom.cfg" }),
      // This system has /etc/grub.d but no grub-mkconfig: said, not run.
      expect.objectContaining({
        kind: "grub-mkconfig",
        status: "skipped",
        reason: "no-grub-mkconfig",
      }),
    ]);
    const i = cliJson(
      ["inspect", "--disk", disk, "--trusted-key", keys.publicKey],
      inspectDataSchema,
    );
    expect(i.state.factory?.intact).toBe(true);
    expect(i.state.recovery?.verified).toBe(true);
    expect(i.disk?.partitions).toHaveLength(4);
    const g = cliJson(["grub", "render", "--disk", disk], grubRenderDataSchema);
    expect(g.sampleOutput).toContain("Reset to factory settings");
    expect(g.sampleOutput).toContain("lifeboat.mode=factory-reset");
  });

  it("refuses to reset without confirmation, with --yes alone, with a wrong digest; runs with the right one", () => {
    const before = subvolumes();
    const planned = cliJson(["plan", "--disk", disk, "--stamp", STAMP], planDataSchema);
    expect(planned.plan.steps.flatMap((s) => s.destroys).length).toBeGreaterThan(0);

    const noTty = cli(["apply", "--disk", disk, "--stamp", STAMP]);
    expect(noTty.code).toBe(3);
    expect(noTty.stderr).toContain("CLI_NOT_CONFIRMED");
    expect(subvolumes()).toEqual(before);

    const yesOnly = cliJsonFailure(["apply", "--disk", disk, "--stamp", STAMP, "--yes"]);
    expect([yesOnly.code, yesOnly.doc.error.code]).toEqual([2, "CLI_USAGE"]);
    expect(subvolumes()).toEqual(before);

    const wrong = cliJsonFailure([
      "apply",
      "--disk",
      disk,
      "--stamp",
      STAMP,
      "--yes",
      "--confirm",
      `sha256:${"0".repeat(64)}`,
    ]);
    expect([wrong.code, wrong.doc.error.code]).toEqual([3, "CONFIRMATION_MISMATCH"]);
    expect(subvolumes()).toEqual(before);

    const ran = cliJson(
      ["apply", "--disk", disk, "--stamp", STAMP, "--yes", "--confirm", planned.digest],
      planRunDataSchema,
    );
    expect(ran.executed).toBe(true);
    expect(ran.summary?.ranStepIds).toEqual(planned.plan.steps.map((s) => s.id));
    expect(subvolumes().map((s) => s.split(" ")[0])).toContain(`root.old-${STAMP}`);
    // the journal on the target says the plan finished: resume has nothing to do
    expect(cliJson(["resume", "--disk", disk], resumeDataSchema).summary.alreadyDone).toBe(true);
  });

  it("checkpoint create, list, rollback only with the digest, prune keeps the factory and the one in use", () => {
    const a = cliJson(
      [
        "checkpoint",
        "create",
        "--disk",
        disk,
        "--name",
        "before-f41",
        "--reason",
        "before upgrade",
      ],
      checkpointCreateDataSchema,
    );
    expect(a.checkpoint).toMatchObject({ id: "before-f41", parent: "factory" });
    const bad = cliJsonFailure([
      "checkpoint",
      "create",
      "--disk",
      disk,
      "--name",
      "../x",
      "--reason",
      "r",
    ]);
    expect(bad.doc.error).toMatchObject({ code: "RESET_BAD_CHECKPOINT_NAME", name: "../x" });
    cliJson(
      ["checkpoint", "create", "--disk", disk, "--name", "later", "--reason", "r"],
      checkpointCreateDataSchema,
    );
    const list = cliJson(["checkpoint", "list", "--disk", disk], checkpointListDataSchema);
    expect(list.checkpoints.map((c) => [c.id, c.factory, c.intact])).toEqual([
      ["factory", true, true],
      ["before-f41", false, true],
      ["later", false, true],
    ]);
    const human = cli(["checkpoint", "list", "--disk", disk]);
    expect(human.stdout).toMatch(/factory \(factory\)/);
    expect(
      cliJson(["inspect", "--disk", disk, "--no-sizes"], inspectDataSchema).state.checkpoints?.map(
        (c) => c.id,
      ),
    ).toEqual(["factory", "before-f41", "later"]);

    const shown = cliJson(
      [
        "checkpoint",
        "rollback",
        "before-f41",
        "--disk",
        disk,
        "--stamp",
        "20261126T000000Z",
        "--dry-run",
      ],
      planRunDataSchema,
    );
    expect(shown.executed).toBe(false);
    const ran = cliJson(
      [
        "checkpoint",
        "rollback",
        "before-f41",
        "--disk",
        disk,
        "--stamp",
        "20261126T000000Z",
        "--yes",
        "--confirm",
        shown.plan.digest,
      ],
      planRunDataSchema,
    );
    expect(ran.summary?.ranStepIds).toEqual(shown.plan.steps.map((s) => s.id));

    const refused = cliJsonFailure(["checkpoint", "prune", "--disk", disk, "--id", "before-f41"]);
    expect(refused.doc.error).toMatchObject({
      code: "RESET_CHECKPOINT_PROTECTED",
      reason: "running-root",
    });
    const dry = cliJson(
      ["checkpoint", "prune", "--disk", disk, "--keep-last", "0", "--dry-run"],
      checkpointPruneDataSchema,
    );
    expect(dry.deleted).toEqual(["later"]);
    expect(dry.kept).toEqual([
      { id: "factory", reason: "factory" },
      { id: "before-f41", reason: "running-root" },
    ]);
    cliJson(
      [
        "checkpoint",
        "prune",
        "--disk",
        disk,
        "--keep-last",
        "0",
        "--yes",
        "--confirm",
        dry.plan.digest,
      ],
      checkpointPruneDataSchema,
    );
    expect(
      cliJson(["checkpoint", "list", "--disk", disk], checkpointListDataSchema).checkpoints.map(
        (c) => c.id,
      ),
    ).toEqual(["factory", "before-f41"]);
  });
});
