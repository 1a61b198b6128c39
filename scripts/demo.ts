// The end-to-end demo, on a loop-backed disk image (no real disk is touched):
// lay out a Fedora-style disk with a recovery partition, install a system,
// provision it (factory snapshot, signed recovery image, GRUB entries), break
// it and add user files, show the reset plan, reset keeping /home through the
// `lifeboat` CLI, and prove the result. Cleans up after itself, also on Ctrl-C.
// Run: sudo bash scripts/demo.sh   (options: --keep to keep the image, --big for ~600 MiB)
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  attachDisk,
  installSystem,
  layOutDisk,
  mountDevice,
} from "../examples/preload-factory-image.ts";
import { createExecaRunner } from "../packages/core/src/index.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(repo, "packages/cli/dist/bin.js");
const runner = createExecaRunner();
const keep = process.argv.includes("--keep");
const KVER = "6.8.5-301.fc40.x86_64";
const STAMP = "20261125T210000Z";
const SOURCES = process.argv.includes("--big")
  ? ["/usr/share/perl", "/usr/lib/python3.11", "/usr/share/doc", "/usr/share/locale", "/etc/ssl"]
  : ["/usr/share/perl", "/usr/lib/python3.11", "/usr/share/doc", "/etc/ssl", "/etc/default"];

const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;
const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const green = (s: string) => `\x1b[32m${s}\x1b[0m`;
const red = (s: string) => `\x1b[31m${s}\x1b[0m`;
const cyan = (s: string) => `\x1b[36m${s}\x1b[0m`;

const undo: { what: string; run: () => Promise<unknown> }[] = [];
const timings: [string, number][] = [];
let cleaning = false;

async function cleanup(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  while (undo.length > 0) {
    const step = undo.pop();
    if (!step) break;
    try {
      await step.run();
    } catch (e) {
      console.error(red(`  clean-up failed (${step.what}): ${e instanceof Error ? e.message : e}`));
    }
  }
}

let interrupted = false;
let running: import("node:child_process").ChildProcess | undefined;
process.on("SIGINT", () => {
  if (interrupted) return;
  interrupted = true;
  console.error(
    red("\nInterrupted: cleaning up (unmounting, detaching loop devices, deleting the image)…"),
  );
  // A running `lifeboat` child got the same Ctrl-C: wait until it has released its own mounts.
  const child = running;
  const done =
    child && child.exitCode === null
      ? new Promise((r) => child.once("exit", r))
      : new Promise((r) => setTimeout(r, 300));
  void done.then(() => cleanup()).then(() => process.exit(130));
});

function chapter(n: number, title: string, why: string): void {
  console.log(`\n${bold(cyan(`━━ ${n}. ${title}`))}`);
  console.log(dim(`   ${why}`));
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const v = await fn();
  timings.push([name, Date.now() - started]);
  return v;
}

/** Run the real `lifeboat` binary, showing its output as a user would see it. */
function lifeboat(args: string[]): Promise<number> {
  console.log(
    `\n${dim("$")} ${bold(`lifeboat ${args.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" ")}`)}`,
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: "inherit" });
    running = child;
    child.on("exit", (code) => {
      running = undefined;
      resolve(code ?? 1);
    });
  });
}

async function mustLifeboat(args: string[]): Promise<void> {
  const code = await lifeboat(args);
  if (code !== 0) throw new Error(`lifeboat ${args[0]} failed with exit code ${code}`);
}

/** `lifeboat --json …`, parsed. */
function lifeboatJson(args: string[]): { ok: boolean; data: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [cli, "--json", ...args], { encoding: "utf8" });
  return JSON.parse(r.stdout);
}

/** Sorted "path type mode size sha256" lines of a tree. */
async function listing(
  dir: string,
  skip: (rel: string) => boolean = () => false,
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const abs = path.join(dir, r);
      const st = await lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${r} dir ${mode}`);
        await walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} link ${await readlink(abs)}`);
      else if (st.isFile()) {
        const h = createHash("sha256");
        for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
        out.push(`${r} file ${mode} ${st.size} ${h.digest("hex")}`);
      } else out.push(`${r} other ${mode}`);
    }
  };
  await walk("");
  return out;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Mount the Btrfs top level and /boot of the image for a moment. */
async function withMachine<T>(
  image: string,
  fn: (top: string, boot: string, btrfsDevice: string) => Promise<T>,
): Promise<T> {
  const disk = await attachDisk(runner, image);
  try {
    const top = await mountDevice(runner, disk.btrfs, "btrfs");
    try {
      const boot = await mountDevice(runner, disk.boot, "ext4");
      try {
        return await fn(top.dir, boot.dir, disk.btrfs);
      } finally {
        await boot.unmount();
      }
    } finally {
      await top.unmount();
    }
  } finally {
    await disk.detach();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root: sudo bash scripts/demo.sh");
  const started = Date.now();
  const work = await mkdtemp(path.join(tmpdir(), "lifeboat-demo-"));
  if (!keep)
    undo.push({ what: `delete ${work}`, run: () => rm(work, { recursive: true, force: true }) });
  const image = path.join(work, "laptop.img");
  const keys = path.join(work, "keys");
  // Whatever is still attached from the image (a `lifeboat` child killed mid-way): unmount and detach it.
  undo.push({
    what: "release loop devices of the image",
    run: async () => {
      const attached = spawnSync("losetup", ["-j", image], { encoding: "utf8" }).stdout;
      for (const device of attached
        .split("\n")
        .map((l) => l.split(":")[0])
        .filter(Boolean)) {
        const mounts = spawnSync("findmnt", ["-rn", "-S", device as string, "-o", "TARGET"], {
          encoding: "utf8",
        }).stdout;
        for (const target of mounts.split("\n").filter(Boolean).reverse()) {
          spawnSync("umount", [target]);
          await rm(target, { recursive: true, force: true });
        }
        spawnSync("losetup", ["-d", device as string]);
      }
    },
  });
  console.log(bold("Lifeboat demo: a factory reset that keeps /home, on a loop-backed disk image"));
  console.log(
    dim(
      `   work directory ${work} (deleted at the end${keep ? " — kept: --keep" : ""}); no real disk is touched`,
    ),
  );

  chapter(
    1,
    "Lay out the disk",
    "GPT written by @lifeboat/gpt: ESP, /boot (ext4), the recovery partition (type d999c366-…), Btrfs",
  );
  await timed("lay out disk", () => layOutDisk(runner, image, { diskMiB: 2048, recoveryMiB: 600 }));
  await mustLifeboat(["gpt", "show", image]);

  chapter(
    2,
    "Install the system",
    `Subvolumes root and home; root gets ${SOURCES.join(", ")} from this machine, an /etc, and /boot a kernel with BLS entries`,
  );
  await timed("install system", () =>
    installSystem(runner, image, { sources: SOURCES, kernelVersion: KVER }),
  );
  const rootBytes = await withMachine(image, async (top) =>
    Number(sh("du", ["-sb", path.join(top, "root")]).split("\t")[0]),
  );
  console.log(`   root holds ${(rootBytes / 1024 / 1024).toFixed(0)} MiB of real files`);

  chapter(
    3,
    "Provision (the OEM's last factory step)",
    "GRUB recovery entries, read-only factory snapshot, signed recovery image on the recovery partition",
  );
  await mustLifeboat(["image", "keygen", "--out", keys]);
  await timed("provision", () =>
    mustLifeboat([
      "provision",
      "--disk",
      image,
      "--product",
      "Contoso Laptop 14",
      "--build",
      "F40-2026.11",
      "--key",
      `${keys}/private.pem`,
      // The demo's kernel is a placeholder (no modules): no recovery environment to build.
      "--no-recovery-env",
    ]),
  );

  chapter(
    4,
    "Use the laptop: add user files, then break the system",
    "Files in /home/alice; /etc deleted, programs overwritten, junk added, a kernel the factory never had",
  );
  const { factory, home } = await withMachine(image, async (top, boot) => {
    const alice = path.join(top, "home/alice");
    await mkdir(path.join(alice, "Documents"), { recursive: true });
    await mkdir(path.join(alice, "Pictures"), { recursive: true });
    await writeFile(
      path.join(alice, "Documents/thesis.md"),
      "# My thesis\n\nChapter 1…\n".repeat(500),
    );
    for (let i = 0; i < 5; i++)
      await writeFile(path.join(alice, `Pictures/IMG_00${i}.jpg`), randomBytes(4 * 1024 * 1024));
    const root = path.join(top, "root");
    await rm(path.join(root, "etc"), { recursive: true, force: true });
    const victims = sh("find", [
      path.join(root, "usr/lib/python3.11"),
      "-name",
      "*.py",
      "-size",
      "+8k",
    ])
      .trim()
      .split("\n")
      .slice(0, 40);
    for (const f of victims) await writeFile(f, "# overwritten by a broken update\n");
    await mkdir(path.join(root, "opt/junk"), { recursive: true });
    await writeFile(path.join(root, "opt/junk/blob"), randomBytes(8 * 1024 * 1024));
    await writeFile(path.join(boot, "vmlinuz-6.9.0-broken"), randomBytes(1024 * 1024));
    await writeFile(
      path.join(boot, "loader/entries/0123456789abcdef-6.9.0-broken.conf"),
      "title broken\nlinux /vmlinuz-6.9.0-broken\n",
    );
    console.log(
      `   deleted /etc, overwrote ${victims.length} Python modules, added /opt/junk and a kernel 6.9.0-broken`,
    );
    console.log("   alice has Documents/thesis.md and 5 photos (20 MiB)");
    return {
      factory: await listing(path.join(top, ".lifeboat/factory/root")),
      home: await listing(path.join(top, "home")),
    };
  });

  chapter(
    5,
    "Inspect",
    "What a recovery UI shows first: the disk, the subvolumes, the factory snapshot, the verified recovery image",
  );
  await mustLifeboat(["inspect", "--disk", image, "--trusted-key", `${keys}/public.pem`]);

  chapter(
    6,
    "The reset plan",
    "Every step, and in red what it destroys; the plan's digest is what the user confirms",
  );
  await mustLifeboat(["plan", "--disk", image, "--stamp", STAMP]);
  const planned = lifeboatJson(["plan", "--disk", image, "--stamp", STAMP]);
  const digest = String(planned.data.digest);

  chapter(
    7,
    "Reset, keeping /home",
    `On a terminal lifeboat asks you to type RESET; a script passes --yes --confirm <digest> (${digest.slice(7, 19)}…)`,
  );
  await timed("reset", () =>
    mustLifeboat(["apply", "--disk", image, "--stamp", STAMP, "--yes", "--confirm", digest]),
  );

  chapter(
    8,
    "Verify",
    "Mount subvol=root as the next boot would; compare with the factory snapshot and /home as they were",
  );
  const verdict = await timed("verify", () =>
    withMachine(image, async (top, boot, device) => {
      const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-demo-root-"));
      sh("mount", ["-t", "btrfs", "-o", "ro,subvol=root", device, dir]);
      try {
        const resetOnPurpose = (rel: string) =>
          rel === "etc/machine-id" || rel.startsWith("var/lib/lifeboat");
        const now = await listing(dir, resetOnPurpose);
        const expected = factory.filter((l) => !resetOnPurpose(l.split(" ")[0] ?? ""));
        const homeNow = await listing(path.join(top, "home"));
        const bootNow = (await readdir(boot)).filter((n) => n.startsWith("vmlinuz")).sort();
        const oldRoot = (await readdir(top)).filter((n) => n.startsWith("root.old-"));
        const nowSet = new Set(now);
        const expectedSet = new Set(expected);
        const differences = [
          ...expected.filter((l) => !nowSet.has(l)).map((l) => `missing  ${l}`),
          ...now.filter((l) => !expectedSet.has(l)).map((l) => `extra    ${l}`),
        ];
        return {
          differences,
          rootOk: JSON.stringify(now) === JSON.stringify(expected),
          rootEntries: now.length,
          homeOk: JSON.stringify(homeNow) === JSON.stringify(home),
          homeEntries: homeNow.length,
          bootNow,
          oldRoot,
        };
      } finally {
        sh("umount", [dir]);
        await rm(dir, { recursive: true, force: true });
      }
    }),
  );
  const mark = (ok: boolean) => (ok ? green("✓") : red("✗"));
  console.log(
    `   ${mark(verdict.rootOk)} root equals the factory snapshot: ${verdict.rootEntries} entries compared by path, type, mode, size and SHA-256`,
  );
  for (const d of verdict.differences.slice(0, 10)) console.log(red(`       ${d}`));
  console.log(`   ${mark(verdict.homeOk)} /home byte-identical: ${verdict.homeEntries} entries`);
  const bootOk = verdict.bootNow.length === 1 && verdict.bootNow[0] === `vmlinuz-${KVER}`;
  console.log(
    `   ${mark(bootOk)} /boot holds the factory kernel only: ${verdict.bootNow.join(", ")}`,
  );
  console.log(
    `   ${mark(verdict.oldRoot.length === 1)} the broken system is kept as ${verdict.oldRoot.join(", ")} (\`lifeboat apply --mode cleanup\` removes it)`,
  );

  console.log(`\n${bold("Summary")}`);
  for (const [name, ms] of timings)
    console.log(`   ${name.padEnd(16)} ${(ms / 1000).toFixed(1).padStart(6)} s`);
  console.log(
    `   ${"total".padEnd(16)} ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`,
  );
  const ok = verdict.rootOk && verdict.homeOk && bootOk && verdict.oldRoot.length === 1;
  console.log(
    ok
      ? green(bold("\nThe system is back to factory state and alice's files are untouched."))
      : red(bold("\nVerification FAILED.")),
  );
  if (!ok) process.exitCode = 1;
}

try {
  await main();
} catch (e) {
  if (!interrupted) {
    console.error(red(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`));
    process.exitCode = 1;
  }
} finally {
  if (!interrupted) await cleanup();
}
