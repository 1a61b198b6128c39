/**
 * Test support for the CLI: the REAL binary (packages/cli/dist/bin.js,
 * rebuilt when older than src), spawned; and small Fedora-shaped disk images
 * built with the preload example's functions.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createExecaRunner } from "@lifeboat/core";
import { requireRoot, requireTools, type Scratch } from "@lifeboat/testkit";
import type { z } from "zod";
import { installSystem, layOutDisk } from "../../../examples/preload-factory-image.js";
import {
  imageKeygenDataSchema,
  jsonFailureSchema,
  jsonSuccessSchema,
  provisionDataSchema,
} from "../src/json-schemas.js";

export const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = path.resolve(cliDir, "../..");
export const bin = path.join(cliDir, "dist/bin.js");
export const runner = createExecaRunner();
export const KVER = "6.8.5-301.fc40.x86_64";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Build the CLI when dist is missing or older than src. */
export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(bin).mtimeMs;
  } catch {
    built = 0;
  }
  if (built < newestMtime(path.join(cliDir, "src"))) {
    execFileSync("pnpm", ["--filter", "lifeboat", "build"], { cwd: repoRoot, stdio: "ignore" });
  }
}

/** What a run of the binary gave. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawn `node dist/bin.js …args` (no terminal: stdin is empty, stdout a pipe). */
export function cli(args: readonly string[]): CliRun {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    input: "",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 180_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Run with `--json` and check the success document against the command's schema. */
export function cliJson<T extends z.ZodType>(args: readonly string[], data: T): z.infer<T> {
  const r = cli(["--json", ...args]);
  if (r.code !== 0)
    throw new Error(`lifeboat ${args.join(" ")} exited ${r.code}: ${r.stdout}${r.stderr}`);
  const doc = jsonSuccessSchema(data).parse(JSON.parse(r.stdout)) as { data: z.infer<T> };
  return doc.data;
}

/** Run with `--json`, expecting a failure document; returns it (schema-checked) and the exit code. */
export function cliJsonFailure(args: readonly string[]) {
  const r = cli(["--json", ...args]);
  const doc = jsonFailureSchema.parse(JSON.parse(r.stdout));
  return { code: r.code, doc };
}

/** A small Fedora-shaped disk image (ESP, /boot, recovery, Btrfs with root and home; 800 MiB unless `diskMiB`), not provisioned. */
export async function smallDisk(
  scratch: Scratch,
  name = "disk.img",
  diskMiB = 800,
): Promise<string> {
  requireRoot();
  requireTools("sgdisk", "mkfs.btrfs", "mkfs.ext4", "mkfs.vfat", "mksquashfs", "unsquashfs");
  const image = scratch.path(name);
  await layOutDisk(runner, image, { diskMiB, recoveryMiB: 160 });
  await installSystem(runner, image, { sources: ["/usr/share/zoneinfo"], kernelVersion: KVER });
  return image;
}

/** Keys made with `image keygen` in `scratch/keys`. */
export function keygen(scratch: Scratch): { privateKey: string; publicKey: string } {
  return cliJson(["image", "keygen", "--out", scratch.path("keys")], imageKeygenDataSchema);
}

/** `lifeboat provision` of a {@link smallDisk} with `privateKey` (product P, build B). */
export function provisionSmall(disk: string, privateKey: string): void {
  cliJson(
    [
      "provision",
      "--disk",
      disk,
      "--product",
      "P",
      "--build",
      "B",
      "--key",
      privateKey,
      // The small disk's kernel is a placeholder: provision-env.test.ts builds the environment.
      "--no-recovery-env",
    ],
    provisionDataSchema,
  );
}

/** `lifeboat --json …` with extra environment; the parsed success document's data. */
export function json<T>(env: Record<string, string>, args: readonly string[]): T {
  const r = spawnSync(process.execPath, [bin, "--json", ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...env },
    input: "",
  });
  const out = r.stdout ?? "";
  // A failure says why: the failure document on stdout, and stderr.
  if (r.status !== 0)
    throw new Error(
      `lifeboat --json ${args.join(" ")} exited ${r.status}: ${out}${r.stderr ?? ""}`,
    );
  const doc = JSON.parse(out) as { ok: boolean; data: T };
  if (!doc.ok) throw new Error(`lifeboat ${args.join(" ")}: ${out}`);
  return doc.data;
}

/**
 * Start `apply` and SIGKILL it as soon as it reports that `stepId` started.
 * Resolves to whether the kill landed before the run finished.
 */
export function applyAndKill(
  env: Record<string, string>,
  args: readonly string[],
  stepId: (e: { stepId: string; kind: string }) => boolean,
): Promise<"killed" | "finished"> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "--json", "--progress", "json", ...args], {
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buffered = "";
    let killed = false;
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      buffered += c.toString();
      for (;;) {
        const nl = buffered.indexOf("\n");
        if (nl < 0) break;
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        const e = JSON.parse(line) as { type: string; stepId: string; kind: string };
        if (!killed && e.type === "step-started" && stepId(e)) {
          killed = true;
          child.kill("SIGKILL");
        }
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal === "SIGKILL") resolve("killed");
      else if (code === 0) resolve("finished");
      else reject(new Error(`apply ${args.join(" ")} exited ${code}: ${out}`));
    });
  });
}
