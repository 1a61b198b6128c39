import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createExecaRunner } from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import {
  moduleLoadOrder,
  parseLdd,
  parseShowDepends,
  sharedLibraries,
} from "../src/_internal/closure.js";
import { RECOVERY_PARTITION_TYPE, renderInit } from "../src/_internal/init-script.js";
import {
  buildRecoveryEnvironment,
  DEFAULT_MODULES,
  DEFAULT_TOOLS,
  installProgram,
  LUKS_MODULES,
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

  it("refuses a trusted key that is a path or not an Ed25519 public key, before building", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const ed = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-renv-"));
    try {
      await writeFile(path.join(dir, "cli.js"), "console.log('x')\n");
      for (const [keys, index, said] of [
        [["keys/public.pem"], 0, /got "keys\/public\.pem".*not its path/],
        [[ed.toString(), rsa], 1, /a rsa key/],
      ] as const) {
        const r = await buildRecoveryEnvironment(createExecaRunner(), {
          cliBundle: path.join(dir, "cli.js"),
          outDir: path.join(dir, "out"),
          trustedKeys: keys,
        });
        const e = r._unsafeUnwrapErr();
        expect(e).toMatchObject({ code: "INVALID_ARGUMENT", argument: `trustedKeys[${index}]` });
        expect(e.message).toMatch(said);
      }
      // Refused before anything was built.
      expect(await readdir(dir)).toEqual(["cli.js"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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

describe("LUKS in the recovery environment", () => {
  it("takes dm-crypt with its dependencies and cryptsetup with its libraries from this machine", async () => {
    const runner = createExecaRunner();
    const version = (await readdir("/lib/modules")).sort().at(-1) as string;
    for (const m of LUKS_MODULES) expect(DEFAULT_MODULES).toContain(m);
    const files = (await moduleLoadOrder(runner, version, LUKS_MODULES))._unsafeUnwrap();
    const names = files.map((f) => path.basename(f).replace(/\.ko(\.\w+)?$/, ""));
    expect(names).toEqual(expect.arrayContaining(["dm-mod", "dm-crypt", "xts", "algif_skcipher"]));
    // dm-mod is loaded before dm-crypt, which needs it.
    expect(names.indexOf("dm-mod")).toBeLessThan(names.indexOf("dm-crypt"));
    expect(DEFAULT_TOOLS).toContain("cryptsetup");
    const libs = (await sharedLibraries(runner, "/usr/sbin/cryptsetup"))._unsafeUnwrap();
    const libNames = libs.map((l) => path.basename(l));
    expect(libNames.some((l) => l.startsWith("libcryptsetup.so"))).toBe(true);
    expect(libNames.some((l) => l.startsWith("libdevmapper.so"))).toBe(true);
  });
});

describe("installProgram", () => {
  it("copies a program and the libraries the root lacks, once; refuses a path out of the root", async () => {
    const runner = createExecaRunner();
    const sysroot = await mkdtemp(path.join(tmpdir(), "lifeboat-install-program-"));
    try {
      const first = (
        await installProgram(runner, { program: "/usr/sbin/cryptsetup", sysroot, as: "/opt/cs" })
      )._unsafeUnwrap();
      expect(first.path).toBe(path.join(sysroot, "opt/cs"));
      const names = first.librariesAdded.map((l) => path.basename(l));
      expect(names.some((l) => l.startsWith("libcryptsetup.so"))).toBe(true);
      expect(names.some((l) => l.startsWith("ld-linux"))).toBe(true);
      const { stat } = await import("node:fs/promises");
      for (const lib of first.librariesAdded) {
        expect((await stat(path.join(sysroot, lib))).isFile()).toBe(true);
      }
      expect((await stat(first.path)).mode & 0o777).toBe(0o755);
      // The root now has them all: nothing more to add.
      const again = (
        await installProgram(runner, { program: "/usr/sbin/cryptsetup", sysroot })
      )._unsafeUnwrap();
      expect(again.path).toBe(path.join(sysroot, "usr/sbin/cryptsetup"));
      expect(again.librariesAdded).toEqual([]);
      const outside = await installProgram(runner, {
        program: "/usr/sbin/cryptsetup",
        sysroot,
        as: "../cs",
      });
      expect(outside._unsafeUnwrapErr().code).toBe("UNSAFE_PATH");
    } finally {
      await rm(sysroot, { recursive: true, force: true });
    }
  });

  it("gives mtools glibc's code page 850 converter, so mcopy reads a FAT inside the root", async () => {
    const runner = createExecaRunner();
    const sysroot = await mkdtemp(path.join(tmpdir(), "lifeboat-install-mtools-"));
    try {
      const r = (
        await installProgram(runner, { program: "/usr/bin/mcopy", sysroot })
      )._unsafeUnwrap();
      const names = r.librariesAdded.map((l) => path.basename(l));
      expect(names).toEqual(expect.arrayContaining(["IBM850.so", "gconv-modules.cache"]));
      await mkdir(path.join(sysroot, "tmp"));
      const fat = path.join(sysroot, "esp.img");
      execFileSync("truncate", ["-s", "40M", fat]);
      execFileSync("mkfs.vfat", [fat], { stdio: "ignore" });
      // Run inside the root: only what installProgram put there is available.
      const run = spawnSync(
        "/usr/sbin/chroot",
        [sysroot, "/usr/bin/mcopy", "-n", "-i", "/esp.img", "::/EFI/BOOT/BOOTX64.EFI", "/tmp/x"],
        { encoding: "utf8", env: { MTOOLS_SKIP_CHECK: "1", PATH: "/usr/bin" } },
      );
      expect(run.stderr).not.toContain("codepage");
      expect(run.stderr).toMatch(/File "::\/EFI\/BOOT\/BOOTX64\.EFI" not found/);
    } finally {
      await rm(sysroot, { recursive: true, force: true });
    }
  });
});
