import { readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory, joinInside, type LifeboatError, type PlanStep } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { copyFileVerified, exists, io, sha256File, statMaybe } from "../_internal/fs.js";
import { arr, type ResetEnvironment, type ResetStepBody, str, unexpected } from "./context.js";

interface PayloadFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

function files(step: PlanStep): PayloadFile[] {
  return arr(step, "files") as unknown as PayloadFile[];
}

function bootDir(step: PlanStep, env: ResetEnvironment): ResultAsync<string, LifeboatError> {
  return env.boot
    ? okAsync(env.boot)
    : errAsync(unexpected(step, "/boot is not mounted (pass `boot`)"));
}

/** True when `file` holds exactly `f`. */
async function holds(file: string, f: PayloadFile): Promise<boolean> {
  const st = await statMaybe(file);
  return st?.isFile() === true && st.size === f.bytes && (await sha256File(file)) === f.sha256;
}

/** Resolve every payload path safely under `dir`. */
function under(dir: string, f: PayloadFile): string {
  const joined = joinInside(dir, f.path);
  if (joined.isErr()) throw Object.assign(new Error(joined.error.message), { code: "UNSAFE_PATH" });
  return joined.value;
}

/**
 * `reset.stage-boot`: copy the factory /boot payload into a staging
 * directory on /boot, checking each file's SHA-256. Only adds files.
 */
export const stageBootStep: ResetStepBody = (step, _ctx, env) =>
  bootDir(step, env).andThen((boot) => {
    const source = path.join(env.top, str(step, "sourceDir"));
    const staging = path.join(boot, str(step, "staging"));
    return io(
      (async () => {
        for (const f of files(step)) {
          const final = under(boot, f);
          const staged = under(staging, f);
          if ((await holds(staged, f)) || (await holds(final, f))) continue;
          await copyFileVerified(under(source, f), staged, f.sha256);
        }
      })(),
      staging,
      "stage the /boot payload",
    );
  });

const KERNEL_FILE = /^(vmlinuz|initramfs|System\.map|config|symvers)-/;

/**
 * `reset.install-boot`: move each staged file over its place in /boot (one
 * atomic rename each, BLS entries included), then remove kernels and BLS
 * entries that are not the factory's, then the staging directory. The old
 * files stay until the new ones are in place.
 */
export const installBootStep: ResetStepBody = (step, _ctx, env) =>
  bootDir(step, env).andThen((boot) => {
    const staging = path.join(boot, str(step, "staging"));
    const payload = files(step);
    return io(
      (async () => {
        for (const f of payload) {
          const final = under(boot, f);
          if (await holds(final, f)) continue;
          const staged = under(staging, f);
          if (!(await holds(staged, f))) throw new Error(`staged ${f.path} is missing or differs`);
          await rename(staged, final);
          await fsyncDirectory(path.dirname(final));
        }
        const keep = new Set(payload.map((f) => f.path));
        const entries = path.join(boot, "loader/entries");
        if (await exists(entries)) {
          for (const name of await readdir(entries)) {
            // Lifeboat's own entries (factory reset, recovery) are not the old system's.
            if (
              name.endsWith(".conf") &&
              !name.startsWith("lifeboat-") &&
              !keep.has(`loader/entries/${name}`)
            )
              await rm(path.join(entries, name), { force: true });
          }
          await fsyncDirectory(entries);
        }
        for (const name of await readdir(boot)) {
          if (KERNEL_FILE.test(name) && !keep.has(name))
            await rm(path.join(boot, name), { force: true });
        }
        await rm(staging, { recursive: true, force: true });
        await fsyncDirectory(boot);
      })(),
      boot,
      "install the /boot payload",
    );
  });
