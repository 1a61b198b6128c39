/**
 * `lifeboat provision` installs the recovery environment the GRUB recovery
 * entry boots (issue #16): through the real binary on a loop-backed disk
 * image whose /boot holds the build host's real kernel and whose root holds
 * that kernel's modules (a second, newer kernel in /boot has no modules and
 * must be passed over). Checked on the partition: the files, their SHA-256
 * against the record, a second run that rewrites nothing, a changed input
 * that switches to a new environment, a damaged file that is replaced, and
 * a missing input that changes nothing.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { RECOVERY_ENVIRONMENT_BOOT, RECOVERY_ENVIRONMENT_FILES } from "@lifeboat/core/layout";
import { DEFAULT_MODULES } from "@lifeboat/recovery-env";
import { openMachine } from "@lifeboat/reset";
import { requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageKeygenDataSchema, provisionDataSchema } from "../src/json-schemas.js";
import {
  cli,
  cliDir,
  cliJson,
  cliJsonFailure,
  ensureBuilt,
  KVER,
  runner,
  smallDisk,
} from "./support.js";

let scratch: Scratch;
let disk: string;
let privateKey: string;
/** The build host's kernel, copied into the disk's /boot with its modules in the root subvolume. */
let hostKernel: string;

/** The zstd addon the CLI package has (as an installed lifeboat package has it in node_modules). */
const ZSTD_ADDON = path.join(cliDir, "node_modules/@mongodb-js/zstd");

const sha256 = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

async function withMachine<T>(
  image: string,
  body: (m: { top: string; boot: string; recovery: string | undefined }) => Promise<T>,
  recoveryWritable = false,
): Promise<T> {
  const m = (await openMachine(runner, { disk: image, recoveryWritable }))._unsafeUnwrap();
  try {
    if (!m.top || !m.boot) throw new Error("the test disk has no Btrfs or /boot");
    return await body({ top: m.top, boot: m.boot, recovery: m.recoveryRoot });
  } finally {
    await m.close();
  }
}

/** The host's newest kernel that has its modules installed. */
async function newestHostKernel(): Promise<string> {
  const versions = (await readdir("/boot"))
    .filter((n) => n.startsWith("vmlinuz-"))
    .map((n) => n.slice("vmlinuz-".length))
    .sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
  for (const v of versions)
    if (
      await stat(`/lib/modules/${v}/modules.dep`).then(
        () => true,
        () => false,
      )
    )
      return v;
  throw new Error(
    "the build host has no kernel with modules (apt-get install -y linux-image-amd64)",
  );
}

/** Put the host's kernel in /boot and the modules the environment needs (and the index files) in root's /lib/modules. */
async function installHostKernel(image: string, version: string): Promise<void> {
  const wanted = execFileSync(
    "modprobe",
    ["--show-depends", "-a", "-S", version, ...DEFAULT_MODULES],
    {
      encoding: "utf8",
    },
  );
  const files = [...wanted.matchAll(/^insmod (\S+)/gm)].map((m) => m[1] as string);
  await withMachine(image, async ({ top, boot }) => {
    await copyFile(`/boot/vmlinuz-${version}`, path.join(boot, `vmlinuz-${version}`));
    // The fixture's own kernel (KVER, newer) stays in /boot without its modules.
    await rm(path.join(top, "root/usr/lib/modules", KVER), { recursive: true, force: true });
    const base = `/lib/modules/${version}`;
    const into = path.join(top, "root/lib/modules", version);
    await mkdir(into, { recursive: true });
    for (const name of await readdir(base))
      if (name.startsWith("modules.")) await copyFile(path.join(base, name), path.join(into, name));
    for (const f of files) {
      const rel = path.relative(base, f);
      await mkdir(path.dirname(path.join(into, rel)), { recursive: true });
      await copyFile(f, path.join(into, rel));
    }
  });
}

interface OnPartition {
  link: string;
  id: string;
  record: { kernelVersion: string; files: Record<string, { sha256: string; bytes: number }> };
  recordDigest: string;
  digests: Record<string, string>;
  inodes: Record<string, number>;
  folders: string[];
  rootLinks: Record<string, string>;
  bootKernelDigest: string;
  grubScript: string | undefined;
}

/** What is on the recovery partition, read back from the disk (mounted read-only). */
async function onPartition(image: string, kernel: string): Promise<OnPartition> {
  return withMachine(image, async ({ top, boot, recovery }) => {
    if (!recovery) throw new Error("no recovery partition mounted");
    const link = await readlink(path.join(recovery, "environment"));
    const dir = path.join(recovery, link);
    const recordBytes = await readFile(path.join(dir, "environment.json"));
    const digests: Record<string, string> = {};
    const inodes: Record<string, number> = {};
    for (const name of Object.values(RECOVERY_ENVIRONMENT_FILES)) {
      digests[name] = await sha256(path.join(dir, name));
      inodes[name] = (await stat(path.join(dir, name))).ino;
    }
    const rootLinks: Record<string, string> = {};
    for (const name of Object.values(RECOVERY_ENVIRONMENT_FILES)) {
      expect((await lstat(path.join(recovery, name))).isSymbolicLink()).toBe(true);
      rootLinks[name] = await readlink(path.join(recovery, name));
    }
    const grubScript = await readFile(path.join(top, "root/etc/grub.d/41_lifeboat"), "utf8").catch(
      () => undefined,
    );
    return {
      link,
      id: path.basename(link),
      record: JSON.parse(recordBytes.toString("utf8")),
      recordDigest: `sha256:${createHash("sha256").update(recordBytes).digest("hex")}`,
      digests,
      inodes,
      folders: (await readdir(path.join(recovery, "environments"))).sort(),
      rootLinks,
      bootKernelDigest: await sha256(path.join(boot, `vmlinuz-${kernel}`)),
      grubScript,
    };
  });
}

const provisionArgs = (image: string, ...more: string[]) => [
  "provision",
  "--disk",
  image,
  "--product",
  "P",
  "--build",
  "B",
  "--key",
  privateKey,
  ...more,
];

beforeAll(async () => {
  requireTools("modprobe", "cc", "zstd", "cpio", "busybox");
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-cli-env-");
  privateKey = cliJson(
    ["image", "keygen", "--out", scratch.path("keys")],
    imageKeygenDataSchema,
  ).privateKey;
  hostKernel = await newestHostKernel();
  disk = await smallDisk(scratch, "env.img");
  await installHostKernel(disk, hostKernel);
}, 600_000);
afterAll(async () => {
  await scratch?.cleanup();
});

describe("lifeboat provision installs the recovery environment (issue #16)", () => {
  let first: OnPartition;

  it("builds it around the system's own kernel and installs kernel, initramfs and helpers with their digests recorded", async () => {
    const human = cli(provisionArgs(disk));
    expect(human.code, human.stdout + human.stderr).toBe(0);
    const out = human.stdout + human.stderr;
    expect(out).toContain("Recovery environment: kernel from the system");
    expect(out).toContain(`kernel ${hostKernel}`);
    expect(out).toMatch(/recovery environment [0-9a-f]{16} \(kernel .*, installed\)/);

    first = await onPartition(disk, hostKernel);
    expect(first.link).toMatch(/^environments\/[0-9a-f]{16}$/);
    expect(first.folders).toEqual([first.id]);
    // The newest kernel in /boot (KVER) has no modules in the root: the one that has them is used.
    expect(KVER.localeCompare(hostKernel, "en", { numeric: true })).toBe(1);
    expect(first.record.kernelVersion).toBe(hostKernel);
    // Every file matches the record; the kernel is the system's own file, byte for byte.
    for (const [name, digest] of Object.entries(first.digests))
      expect(first.record.files[name]?.sha256, name).toBe(digest);
    expect(first.digests[RECOVERY_ENVIRONMENT_FILES.kernel]).toBe(first.bootKernelDigest);
    // The names at the partition's root go through `environment`.
    for (const [name, target] of Object.entries(first.rootLinks))
      expect(target).toBe(`environment/${name}`);
    // The GRUB recovery entry boots what was installed.
    expect(first.grubScript).toContain(`linux ${RECOVERY_ENVIRONMENT_BOOT.kernel}`);
    expect(first.grubScript).toContain(`initrd ${RECOVERY_ENVIRONMENT_BOOT.initrd}`);
  }, 600_000);

  it("the initramfs holds the CLI, /init, the kernel's modules, the OEM's public key and each mode's CLI arguments", async () => {
    const { listing, key, factoryReset, init } = await withMachine(disk, async ({ recovery }) => {
      const initrd = path.join(recovery as string, RECOVERY_ENVIRONMENT_BOOT.initrd);
      const cpio = execFileSync("zstd", ["-dc", initrd], { maxBuffer: 1 << 30 });
      const file = (name: string) =>
        execFileSync("cpio", ["-i", "--quiet", "--to-stdout", name], {
          input: cpio,
          encoding: "utf8",
        });
      return {
        listing: execFileSync("cpio", ["-t", "--quiet"], { input: cpio, encoding: "utf8" }),
        key: file("etc/lifeboat/trusted-keys/key-1.pem"),
        factoryReset: file("lifeboat/args.factory-reset"),
        init: file("init"),
      };
    });
    // GRUB's "Reset to factory settings" (lifeboat.mode=factory-reset) runs the CLI's real command.
    expect(factoryReset).toBe("recovery\n--factory-reset\n--disk\n{disk}\n");
    expect(init).toContain("interactive|unattended|factory-reset)");
    const names = listing.split("\n");
    // The CLI there verifies the recovery image with it (its default trusted-keys folder).
    expect(key).toBe(await readFile(scratch.path("keys/public.pem"), "utf8"));
    expect(names).toContain("init");
    expect(names).toContain("lifeboat/cli.js");
    expect(names).toContain("usr/bin/node");
    // `lifeboat update` runs there: the zstd addon beside the CLI, and librt.so.1 it links.
    expect(names).toContain("lifeboat/node_modules/@mongodb-js/zstd/index.js");
    expect(names.some((n) => /^lifeboat\/node_modules\/@mongodb-js\/zstd-.*\.node$/.test(n))).toBe(
      true,
    );
    expect(names.some((n) => n.endsWith("/librt.so.1"))).toBe(true);
    expect(
      names.some((n) => n.startsWith(`lib/modules/${hostKernel}/`) && /btrfs\.ko$/.test(n)),
    ).toBe(true);
  }, 120_000);

  it("a second provision with the same inputs rewrites nothing (changed: false)", async () => {
    const again = cliJson(provisionArgs(disk), provisionDataSchema);
    expect(again.recoveryEnvironment).toMatchObject({
      id: first.id,
      digest: first.recordDigest,
      changed: false,
      kernelVersion: hostKernel,
    });
    const now = await onPartition(disk, hostKernel);
    expect(now.link).toBe(first.link);
    expect(now.inodes).toEqual(first.inodes);
  }, 600_000);

  it("a changed input (another CLI bundle) is a new environment, switched to atomically; the old one is removed after", async () => {
    const bundle = scratch.path("lifeboat-standalone.js");
    await copyFile(path.join(cliDir, "dist/lifeboat-standalone.js"), bundle);
    await writeFile(bundle, `${await readFile(bundle, "utf8")}\n// another build\n`);
    // Away from the package, no node_modules above it has the zstd addon `lifeboat update` loads.
    const alone = cliJsonFailure(provisionArgs(disk, "--cli-bundle", bundle));
    expect(alone.doc.error).toMatchObject({
      code: "RECOVERY_ENV_INPUT_MISSING",
      input: "zstd-addon",
    });
    expect(alone.doc.error.message).toContain("--zstd-addon");
    expect((await onPartition(disk, hostKernel)).link).toBe(first.link);
    const r = cliJson(
      provisionArgs(disk, "--cli-bundle", bundle, "--zstd-addon", ZSTD_ADDON),
      provisionDataSchema,
    );
    const env = r.recoveryEnvironment;
    expect(env?.changed).toBe(true);
    expect(env?.previousId).toBe(first.id);
    expect(env?.id).not.toBe(first.id);
    const now = await onPartition(disk, hostKernel);
    expect(now.link).toBe(`environments/${env?.id}`);
    expect(now.folders).toEqual([env?.id]);
    expect(now.recordDigest).toBe(env?.digest);
    expect(now.digests[RECOVERY_ENVIRONMENT_FILES.initrd]).not.toBe(
      first.digests[RECOVERY_ENVIRONMENT_FILES.initrd],
    );
    expect(now.digests[RECOVERY_ENVIRONMENT_FILES.kernel]).toBe(
      first.digests[RECOVERY_ENVIRONMENT_FILES.kernel],
    );
    for (const [name, digest] of Object.entries(now.digests))
      expect(now.record.files[name]?.sha256, name).toBe(digest);
    first = now;
  }, 600_000);

  it("a damaged file on the partition is found by its digest and the environment reinstalled", async () => {
    const bundle = scratch.path("lifeboat-standalone.js");
    await withMachine(
      disk,
      async ({ recovery }) => {
        const exch = path.join(
          recovery as string,
          first.link,
          RECOVERY_ENVIRONMENT_FILES.exchangeHelper,
        );
        const bytes = await readFile(exch);
        bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 0xff, bytes.length - 1);
        await writeFile(exch, bytes);
      },
      true,
    );
    const r = cliJson(
      provisionArgs(disk, "--cli-bundle", bundle, "--zstd-addon", ZSTD_ADDON),
      provisionDataSchema,
    );
    expect(r.recoveryEnvironment).toMatchObject({ id: first.id, changed: true });
    const now = await onPartition(disk, hostKernel);
    expect(now.digests).toEqual(first.digests);
  }, 600_000);

  it("a missing input is a typed error naming the flag, and the disk is left as it was", async () => {
    const fresh = await smallDisk(scratch, "fresh.img");
    await withMachine(fresh, ({ top }) =>
      rm(path.join(top, "root/usr/lib/modules", KVER), { recursive: true, force: true }),
    );
    const r = cliJsonFailure([
      "provision",
      "--disk",
      fresh,
      "--product",
      "P",
      "--build",
      "B",
      "--key",
      privateKey,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.doc.error).toMatchObject({ code: "RECOVERY_ENV_INPUT_MISSING", input: "kernel" });
    expect(r.doc.error.message).toContain("--recovery-kernel");
    await withMachine(fresh, async ({ top, recovery }) => {
      expect(await readdir(top)).not.toContain(".lifeboat");
      expect(await readdir(recovery as string)).not.toContain("environment");
    });
  }, 600_000);
});
