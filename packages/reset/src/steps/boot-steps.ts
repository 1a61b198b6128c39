import { readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fsyncDirectory, joinInside, type PlanStep } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import { z } from "zod";
import { type FileIdentity, fileIdentity, sameIdentity } from "../_internal/file-identity.js";
import { copyFileVerified, exists, io, sha256File } from "../_internal/fs.js";
import { isBootPayloadFile } from "../boot-payload.js";
import type { ResetError } from "../errors.js";
import { count } from "../planner/words.js";
import { type ResetEnvironment, unexpected } from "./context.js";
import { adds, bytesSchema, defineStep, relativePath } from "./define.js";
import { originOf } from "./words.js";

const payloadFileSchema = z.strictObject({
  /** Path relative to /boot. */
  path: relativePath,
  bytes: bytesSchema,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

type PayloadFile = z.infer<typeof payloadFileSchema>;

function bootDir(step: PlanStep, env: ResetEnvironment): ResultAsync<string, ResetError> {
  return env.boot
    ? okAsync(env.boot)
    : errAsync(unexpected(step, "/boot is not mounted (pass `boot`)"));
}

/** A file's identity when this run checked it, and its SHA-256 then. */
interface Identity extends FileIdentity {
  readonly sha256: string;
}

/**
 * Files this run already checked or wrote, with the identity they had then,
 * per environment (so per run): a later step of the same run does not hash
 * them again unless they changed. A resumed run (a new process) starts empty
 * and hashes everything.
 */
const checked = new WeakMap<ResetEnvironment, Map<string, Identity>>();

function memoOf(env: ResetEnvironment): Map<string, Identity> {
  let memo = checked.get(env);
  if (memo === undefined) {
    memo = new Map();
    checked.set(env, memo);
  }
  return memo;
}

/** True when `file` holds exactly `f` (hashed, unless this run hashed it unchanged before). */
async function holds(file: string, f: PayloadFile, memo: Map<string, Identity>): Promise<boolean> {
  const id = await fileIdentity(file);
  if (id === undefined || id.size !== BigInt(f.bytes)) return false;
  const known = memo.get(file);
  if (known !== undefined && sameIdentity(known, id)) return known.sha256 === f.sha256;
  const sha256 = await sha256File(file);
  const after = await fileIdentity(file);
  if (after !== undefined && sameIdentity(after, id)) memo.set(file, { ...id, sha256 });
  return sha256 === f.sha256;
}

/** Remember a file this run just wrote and checked while writing. */
async function remember(file: string, sha256: string, memo: Map<string, Identity>) {
  const id = await fileIdentity(file);
  if (id !== undefined) memo.set(file, { ...id, sha256 });
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
export const stageBootStep = defineStep({
  kind: "reset.stage-boot",
  schema: z.strictObject({
    /** Where the payload comes from, on the Btrfs top level (it also names the origin). */
    sourceDir: relativePath,
    /** The staging directory in /boot. */
    staging: relativePath,
    files: z.array(payloadFileSchema),
  }),
  makes: (p) => ({ subvolumes: [], bootDirs: [p.staging] }),
  describe: (p) =>
    adds(
      `Stage ${originOf(p.sourceDir).payload} (${count(p.files.length, "file")}) beside the current one`,
      ["/boot is mounted and has room for the payload"],
    ),
  run: (p, step, _ctx, env) =>
    bootDir(step, env).andThen((boot) => {
      const source = path.join(env.top, p.sourceDir);
      const staging = path.join(boot, p.staging);
      const memo = memoOf(env);
      return io(
        (async () => {
          for (const f of p.files) {
            const final = under(boot, f);
            const staged = under(staging, f);
            if ((await holds(staged, f, memo)) || (await holds(final, f, memo))) continue;
            await remember(
              staged,
              await copyFileVerified(under(source, f), staged, f.sha256),
              memo,
            );
          }
        })(),
        staging,
        "stage the /boot payload",
      );
    }),
});

/**
 * `reset.install-boot`: move each staged file over its place in /boot (one
 * atomic rename each, BLS entries included), then remove kernels and BLS
 * entries that are not the factory's, then the staging directory. The old
 * files stay until the new ones are in place.
 */
export const installBootStep = defineStep({
  kind: "reset.install-boot",
  schema: z.strictObject({
    staging: relativePath,
    files: z.array(payloadFileSchema),
    /** Where the payload came from, on the Btrfs top level (names the origin in words). */
    sourceDir: relativePath,
  }),
  describe: (p) => {
    const origin = originOf(p.sourceDir);
    return {
      title: `Bring /boot back to ${origin.kernels}`,
      destroys: [
        {
          kind: "boot-entry",
          what: `kernels and boot entries in /boot that did not come from ${origin.from}`,
          detail: "their modules are no longer in the new root",
        },
      ],
      reversible: false,
      preconditions: [],
    };
  },
  run: (p, step, _ctx, env) =>
    bootDir(step, env).andThen((boot) => {
      const staging = path.join(boot, p.staging);
      const payload = p.files;
      const memo = memoOf(env);
      return io(
        (async () => {
          // Every rename first, then one fsync per directory, all before anything is removed.
          const moved = new Set<string>();
          for (const f of payload) {
            const final = under(boot, f);
            if (await holds(final, f, memo)) continue;
            const staged = under(staging, f);
            if (!(await holds(staged, f, memo)))
              throw new Error(`staged ${f.path} is missing or differs`);
            await rename(staged, final);
            moved.add(path.dirname(final));
          }
          for (const dir of moved) await fsyncDirectory(dir);
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
            if (isBootPayloadFile(name) && !keep.has(name))
              await rm(path.join(boot, name), { force: true });
          }
          await rm(staging, { recursive: true, force: true });
          await fsyncDirectory(boot);
        })(),
        boot,
        "install the /boot payload",
      );
    }),
});
