import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import {
  buildRecoveryEnvironment,
  parseLdd,
  parseShowDepends,
  RECOVERY_PARTITION_TYPE,
  renderInit,
} from "../src/index.js";

describe("parsers", () => {
  it("reads ldd output (libraries and the loader, no vdso)", () => {
    const out = [
      "\tlinux-vdso.so.1 (0x00007ffd)",
      "\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f03)",
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f03)",
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f03)",
    ].join("\n");
    expect(parseLdd(out)).toEqual([
      "/lib/x86_64-linux-gnu/libstdc++.so.6",
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/lib64/ld-linux-x86-64.so.2",
    ]);
  });

  it("reads modprobe --show-depends output in load order, skipping built-ins", () => {
    const out =
      "insmod /lib/modules/6.1/kernel/a.ko \nbuiltin crc32c\ninsmod /lib/modules/6.1/kernel/b.ko opt=1\n";
    expect(parseShowDepends(out)).toEqual([
      "/lib/modules/6.1/kernel/a.ko",
      "/lib/modules/6.1/kernel/b.ko",
    ]);
  });
});

describe("/init", () => {
  it("is a shell script busybox sh parses, looking for Lifeboat's recovery type", async () => {
    const init = renderInit({ kernelVersion: "6.1.0-56-amd64" });
    expect(init).toContain(RECOVERY_PARTITION_TYPE);
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-init-"));
    try {
      await writeFile(path.join(dir, "init"), init);
      const r = await createExecaRunner().run("busybox", ["sh", "-n", path.join(dir, "init")]);
      expect(r.isOk() ? "" : r.error.message).toBe("");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("buildRecoveryEnvironment errors", () => {
  it("reports a missing CLI bundle", async () => {
    const r = await buildRecoveryEnvironment(createExecaRunner(), {
      cliBundle: "/nonexistent/cli.js",
      outDir: "/tmp/never-made",
    });
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "RECOVERY_ENV_INPUT_MISSING",
      input: "cli-bundle",
      path: "/nonexistent/cli.js",
    });
  });

  it("reports a kernel module that does not exist", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-renv-"));
    try {
      await writeFile(path.join(dir, "cli.js"), "console.log('x')\n");
      const r = await buildRecoveryEnvironment(createExecaRunner(), {
        cliBundle: path.join(dir, "cli.js"),
        outDir: path.join(dir, "out"),
        modules: ["no_such_module_lifeboat"],
      });
      const e = r._unsafeUnwrapErr();
      expect(e.code).toBe("RECOVERY_ENV_MODULE_NOT_FOUND");
      expect(e).toMatchObject({ module: "no_such_module_lifeboat" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
