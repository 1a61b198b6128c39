import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createExecaRunner } from "@lifeboat/core";
import { buildRecoveryEnvironment, type RecoveryEnvironment } from "@lifeboat/recovery-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attachLoop,
  boot,
  createImageFile,
  partitionsOf,
  type QemuHandle,
  requireRoot,
  requireTools,
  Scratch,
  sh,
} from "../src/index.js";

const probe = fileURLToPath(new URL("./fixtures/recovery-cli-probe.js", import.meta.url));
const RECOVERY_TYPE = "d999c366-3126-4451-b3c1-be31e091158c";

describe("recovery environment (kernel + initramfs with node) under QEMU", () => {
  let scratch: Scratch;
  let env: RecoveryEnvironment;
  let disk: string;
  let digest: string;

  beforeAll(async () => {
    requireRoot();
    requireTools("qemu-system-x86_64", "busybox", "cpio", "zstd", "sgdisk", "mkfs.ext4");
    scratch = await Scratch.create("lifeboat-recovery-env-test-");
    const t0 = Date.now();
    const built = await buildRecoveryEnvironment(createExecaRunner(), {
      cliBundle: probe,
      outDir: scratch.path("env"),
      // The probe never runs `lifeboat update`: no zstd addon beside it.
      zstdAddon: false,
    });
    if (built.isErr()) throw new Error(`${built.error.code}: ${built.error.message}`);
    env = built.value;
    console.log(
      `recovery env for ${env.kernelVersion}: initrd ${(env.initrdBytes / 2 ** 20).toFixed(1)} MiB ` +
        `(${(env.uncompressedBytes / 2 ** 20).toFixed(1)} MiB uncompressed, ${env.modules.length} modules), ` +
        `kernel+initrd ${(env.sizeBytes / 2 ** 20).toFixed(1)} MiB, built in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );

    // A machine disk: GPT with a Lifeboat recovery partition (ext4) holding a reset request.
    disk = await createImageFile(scratch, "machine.img", 256 * 2 ** 20);
    await sh("sgdisk", [
      "-n",
      "1:2048:+64M",
      "-t",
      "1:ef00",
      "-n",
      `2:0:+128M`,
      "-t",
      `2:${RECOVERY_TYPE}`,
      disk,
    ]);
    const part = (await partitionsOf(disk)).find((p) => p.number === 2)!;
    const loop = await attachLoop(scratch, disk, {
      offset: part.offsetBytes,
      sizeLimit: part.sizeBytes,
    });
    await mkdir(scratch.path("recovery-files"));
    const request = scratch.path("recovery-files", "request.json");
    await writeFile(request, '{"mode":"system-reset","keep":["home"]}\n');
    await sh("mkfs.ext4", [
      "-q",
      "-F",
      "-L",
      "lifeboat-recovery",
      "-d",
      path.dirname(request),
      loop,
    ]);
    digest = `sha256:${createHash("sha256").update('{"mode":"system-reset","keep":["home"]}\n').digest("hex")}`;
  }, 600_000);

  afterAll(async () => {
    await scratch?.cleanup();
  });

  it("runs node with the CLI bundle unattended, finds the disk and checks the request digest", async () => {
    let vm: QemuHandle | undefined;
    try {
      vm = await boot({
        kernel: env.kernel,
        initrd: env.initrd,
        append: `console=ttyS0,115200 lifeboat.mode=unattended lifeboat.request=/request.json lifeboat.digest=${digest}`,
        firmware: "bios",
        disks: [disk],
        timeoutMs: 240_000,
        name: "recovery-env",
      });
      await vm.waitFor("LIFEBOAT-RECOVERY init", 180_000);
      const initAt = vm.elapsedMs();
      const found = await vm.waitFor(/LIFEBOAT-RECOVERY disk=(\S+) recovery=(\S+)/, 60_000);
      expect(found[1]).toBe("/dev/vda");
      expect(found[2]).toBe("/dev/vda2");
      await vm.waitFor("LIFEBOAT-RECOVERY mode=unattended", 30_000);
      const line = await vm.waitFor(/LIFEBOAT-TEST-CLI (\{.*\})\n/, 60_000);
      const cliAt = vm.elapsedMs();
      const seen = JSON.parse(line[1]!) as {
        node: string;
        args: string[];
        env: Record<string, string>;
        disks: string[];
        request: string;
      };
      expect(seen.node).toBe(process.version);
      expect(seen.disks).toContain("vda");
      // The default unattended command is the CLI's real one: `lifeboat recovery --request --digest`.
      expect(seen.args).toEqual([
        "recovery",
        "--request",
        "/run/lifeboat/recovery/request.json",
        "--digest",
        digest,
        "--disk",
        "/dev/vda",
      ]);
      expect(seen.env.LIFEBOAT_RECOVERY_DEVICE).toBe("/dev/vda2");
      expect(seen.request).toBe('{"mode":"system-reset","keep":["home"]}');
      await vm.waitFor("LIFEBOAT-RECOVERY cli-exit=0", 30_000);
      const exit = await vm.waitForExit(60_000);
      expect(exit.code).toBe(0);
      console.log(
        `recovery env boot: /init at ${(initAt / 1000).toFixed(1)} s, CLI output at ${(cliAt / 1000).toFixed(1)} s, ` +
          `powered off at ${(vm.elapsedMs() / 1000).toFixed(1)} s; log ${vm.logFile}`,
      );
    } finally {
      await vm?.kill();
    }
  }, 300_000);
});
