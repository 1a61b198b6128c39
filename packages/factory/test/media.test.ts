import { randomBytes } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { renderGrubScript } from "@lifeboat/grub";
import {
  createImageSet,
  generateKeyPair,
  readCurrentImageSet,
  signImageSet,
  type VerifiedImageSet,
  verifyImageSet,
} from "@lifeboat/image";
import {
  attachLoop,
  mountTemp,
  partitionsOf,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMediaGrubConfig } from "../src/_internal/media-layout.js";
import { createRecoveryMedia, planRecoveryMedia, type RecoveryMediaOptions } from "../src/index.js";

const runner = createExecaRunner();
const RECOVERY_TYPE = "d999c366-3126-4451-b3c1-be31e091158c";
let scratch: Scratch;
let set: VerifiedImageSet;
let pub: ReturnType<typeof generateKeyPair>["publicKey"];
let options: RecoveryMediaOptions;

beforeAll(async () => {
  requireRoot();
  requireTools("mkfs.vfat", "mmd", "mcopy", "mdir", "mkfs.ext4", "sbverify", "sfdisk");
  scratch = await Scratch.create("lifeboat-media-");
  const dir = scratch.path("set");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "root.img"), randomBytes(3 * 1024 * 1024));
  const key = generateKeyPair();
  pub = key.publicKey;
  (
    await createImageSet({
      dir,
      product: "media-test",
      version: "1",
      sourceDateEpoch: 1767225600,
      files: [{ path: "root.img", kind: "file" }],
    })
  )._unsafeUnwrap();
  (await signImageSet(dir, key))._unsafeUnwrap();
  set = (await verifyImageSet(dir, { trustedKeys: [pub] }))._unsafeUnwrap();
  const kernel = scratch.path("vmlinuz");
  const initrd = scratch.path("initrd.img");
  await writeFile(kernel, "kernel");
  await writeFile(initrd, "initrd");
  options = {
    target: scratch.path("stick.img"),
    imageSet: set,
    environment: { kernel, initrd },
    extraFiles: [{ source: kernel, path: "tools/helper", mode: 0o755 }],
    kernelArgs: ["console=ttyS0,115200"],
    unattended: { request: '{"kind":"reset-keep-home","stamp":"20261126T000000Z"}\n' },
  };
}, 120_000);

afterAll(async () => {
  await scratch?.cleanup();
});

describe("recovery media", () => {
  it("renders a GRUB config that finds the stick by UUID with label fallback and passes lifeboat.media", () => {
    const cfg = renderMediaGrubConfig({
      fsUuid: "11111111-2222-3333-4444-555555555555",
      label: "LIFEBOAT-MEDIA",
      kernelArgs: ["console=ttyS0"],
      timeoutSeconds: 5,
      unattended: { digest: `sha256:${"a".repeat(64)}`, isDefault: false },
    })._unsafeUnwrap();
    expect(cfg).toContain(
      "search --no-floppy --fs-uuid --set=root 11111111-2222-3333-4444-555555555555",
    );
    expect(cfg).toContain("--label --set=root LIFEBOAT-MEDIA");
    expect(cfg).toContain("lifeboat.media=11111111-2222-3333-4444-555555555555");
    expect(cfg).toContain("set default=lifeboat-media\n");
    expect(cfg).toContain(`lifeboat.digest=sha256:${"a".repeat(64)}`);
    expect(renderGrubScript([])._unsafeUnwrap()).toBe("");
  });

  it("refuses without the plan's digest, then writes a GPT stick image with GRUB and the verified set", async () => {
    const plan = (await planRecoveryMedia(runner, options))._unsafeUnwrap();
    expect(plan.kind).toBe("recovery-media");
    // Planning again (a dry run, then the real run) gives the same plan and digest.
    expect((await planRecoveryMedia(runner, options))._unsafeUnwrap().digest).toBe(plan.digest);
    expect(plan.steps.flatMap((s) => s.destroys)).toEqual([]);
    const none = await createRecoveryMedia(runner, { plan, confirm: undefined, imageSet: set });
    expect(none._unsafeUnwrapErr()).toMatchObject({
      code: "CONFIRMATION_REQUIRED",
      planDigest: plan.digest,
    });
    const wrong = await createRecoveryMedia(runner, { plan, confirm: "sha256:0", imageSet: set });
    expect(wrong._unsafeUnwrapErr()).toMatchObject({
      code: "CONFIRMATION_MISMATCH",
      given: "sha256:0",
    });
    const tampered = { ...plan, target: "/dev/sda" };
    expect(
      (
        await createRecoveryMedia(runner, { plan: tampered, confirm: plan.digest, imageSet: set })
      )._unsafeUnwrapErr().code,
    ).toBe("PLAN_TAMPERED");
    await expect(stat(options.target)).rejects.toThrow();

    const done = (
      await createRecoveryMedia(runner, { plan, confirm: plan.digest, imageSet: set })
    )._unsafeUnwrap();
    const parts = await partitionsOf(options.target);
    expect(parts.map((p) => p.type)).toEqual([
      "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
      RECOVERY_TYPE,
    ]);
    expect(await sh("sgdisk", ["-v", options.target])).toContain("No problems found");
    const [esp, rec] = parts as [(typeof parts)[0], (typeof parts)[0]];
    const espDev = await attachLoop(scratch, options.target, {
      offset: esp.offsetBytes,
      sizeLimit: esp.sizeBytes,
    });
    const listing = (
      await runner.run("mdir", ["-i", espDev, "-b", "::/EFI/BOOT"], {
        env: { MTOOLS_SKIP_CHECK: "1" },
      })
    )._unsafeUnwrap().stdout;
    expect(listing).toContain("BOOTX64.EFI");
    // The system's signed chain, not a self-built GRUB (issue #21); its config where it reads it.
    expect(listing).toContain("grubx64.efi");
    expect(listing).toContain("grub.cfg");
    for (const dir of ["BOOT", "debian"]) {
      const cfg = (
        await runner.run("mtype", ["-i", espDev, `::/EFI/${dir}/grub.cfg`], {
          env: { MTOOLS_SKIP_CHECK: "1" },
        })
      )._unsafeUnwrap().stdout;
      expect(cfg).toBe(done.grubConfig);
    }
    // The test's kernel is a text file: the plan warned that Secure Boot would refuse it.
    expect(plan.warnings.filter((w) => w.startsWith("Secure Boot:"))).toEqual([
      expect.stringContaining("kernel"),
    ]);
    expect((await sh("blkid", ["-p", "-o", "value", "-s", "UUID", espDev])).trim()).toBe(
      done.espSerial,
    );
    const recDev = await attachLoop(scratch, options.target, {
      offset: rec.offsetBytes,
      sizeLimit: rec.sizeBytes,
    });
    expect((await sh("blkid", ["-p", "-o", "value", "-s", "UUID", recDev])).trim()).toBe(
      done.fsUuid,
    );
    const mnt = await mountTemp(scratch, recDev, { options: "ro" });
    expect(await readFile(path.join(mnt, "vmlinuz"), "utf8")).toBe("kernel");
    expect(await readFile(path.join(mnt, "initrd.img"), "utf8")).toBe("initrd");
    expect((await stat(path.join(mnt, "tools/helper"))).mode & 0o777).toBe(0o755);
    expect(await readFile(path.join(mnt, "requests/reset.json"), "utf8")).toBe(
      options.unattended?.request,
    );
    const current = (await readCurrentImageSet(mnt))._unsafeUnwrap();
    expect(current.setId).toBe(done.setId);
    (await verifyImageSet(current.dir, { trustedKeys: [pub] }))._unsafeUnwrap();
    // The embedded GRUB config is the one in the plan, and it is valid GRUB script.
    const cfg = scratch.path("grub.cfg");
    await writeFile(cfg, done.grubConfig);
    await sh("grub-script-check", [cfg]);
    expect(done.grubConfig).toContain(`--fs-uuid --set=root ${done.fsUuid}`);
  }, 120_000);

  it("lists what a stick that is already written would lose, and refuses a target changed since the plan", async () => {
    const plan = (await planRecoveryMedia(runner, options))._unsafeUnwrap();
    expect(plan.steps[0]?.destroys.map((d) => d.what)).toEqual([
      `partition 1 of ${options.target} (EFI System Partition)`,
      `partition 2 of ${options.target} (Lifeboat recovery media)`,
    ]);
    await writeFile(options.target, "");
    const r = await createRecoveryMedia(runner, { plan, confirm: plan.digest, imageSet: set });
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "FACTORY_TARGET_CHANGED",
      target: options.target,
    });
  }, 60_000);
});
