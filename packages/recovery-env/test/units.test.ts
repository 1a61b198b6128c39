import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
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

const REPO = fileURLToPath(new URL("../../..", import.meta.url));

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
        zstdAddon: false,
      });
      const e = r._unsafeUnwrapErr();
      expect(e.code).toBe("RECOVERY_ENV_MODULE_NOT_FOUND");
      expect(e).toMatchObject({ module: "no_such_module_lifeboat" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the zstd addon `lifeboat update` loads", () => {
  it("is refused as missing, before anything is built, when it is not beside the bundle or not where given", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-renv-"));
    try {
      await writeFile(path.join(dir, "cli.js"), "console.log('x')\n");
      const beside = await buildRecoveryEnvironment(createExecaRunner(), {
        cliBundle: path.join(dir, "cli.js"),
        outDir: path.join(dir, "out"),
      });
      const e = beside._unsafeUnwrapErr();
      expect(e).toMatchObject({ code: "RECOVERY_ENV_INPUT_MISSING", input: "zstd-addon" });
      expect(e.message).toMatch(/zstdAddon: false/);
      const given = await buildRecoveryEnvironment(createExecaRunner(), {
        cliBundle: path.join(dir, "cli.js"),
        outDir: path.join(dir, "out"),
        zstdAddon: path.join(dir, "no-such-folder"),
      });
      expect(given._unsafeUnwrapErr()).toMatchObject({
        input: "zstd-addon",
        path: path.join(dir, "no-such-folder"),
      });
      expect(await readdir(dir)).toEqual(["cli.js"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is in the initramfs beside the CLI with the libraries it links, and loads there (chroot)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-renv-zstd-"));
    try {
      // A bundle where the CLI's dist would be: node_modules with the addon beside it, as an
      // installed lifeboat package has it (pnpm's links included: the real folders are taken).
      const pkg = path.join(dir, "pkg");
      await mkdir(path.join(pkg, "dist"), { recursive: true });
      const fromCli = createRequire(path.join(REPO, "packages/cli/package.json"));
      await symlink(
        path.join(path.dirname(fromCli.resolve("@mongodb-js/zstd")), "../.."),
        path.join(pkg, "node_modules"),
      );
      await writeFile(
        path.join(pkg, "dist/probe.js"),
        [
          'import("@mongodb-js/zstd").then(async (z) => {',
          '  const data = Buffer.from("lifeboat ".repeat(1000));',
          "  const back = await z.decompress(await z.compress(data));",
          '  console.log(back.equals(data) ? "zstd round trip ok" : "zstd round trip differs");',
          "});",
          "",
        ].join("\n"),
      );
      const built = (
        await buildRecoveryEnvironment(createExecaRunner(), {
          cliBundle: path.join(pkg, "dist/probe.js"),
          outDir: path.join(dir, "out"),
          modules: ["loop"],
          tools: [],
        })
      )._unsafeUnwrap();
      const root = path.join(dir, "root");
      await mkdir(root);
      execFileSync("sh", [
        "-c",
        'zstd -dc "$1" | (cd "$2" && cpio -id --quiet)',
        "sh",
        built.initrd,
        root,
      ]);
      const addon = path.join(root, "lifeboat/node_modules/@mongodb-js");
      expect(await readdir(path.join(addon, "zstd"))).toContain("index.js");
      expect(
        (await readdir(path.join(addon, `zstd-${process.platform}-${process.arch}-gnu`))).some(
          (f) => f.endsWith(".node"),
        ),
      ).toBe(true);
      // librt.so.1 is linked by the addon only (not by node): it came with it.
      expect(await readdir(path.join(root, "lib/x86_64-linux-gnu"))).toContain("librt.so.1");
      // Only what the initramfs holds is there: node loads the addon and it works.
      const run = spawnSync("/usr/sbin/chroot", [root, "/usr/bin/node", "/lifeboat/cli.js"], {
        encoding: "utf8",
        env: { PATH: "/usr/bin:/bin" },
      });
      expect(run.stderr).toBe("");
      expect(run.stdout.trim()).toBe("zstd round trip ok");
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
