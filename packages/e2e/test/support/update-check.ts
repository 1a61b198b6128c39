/**
 * The recovery image update as a person runs it (docs/updates.md, docs/cli.md), and the
 * checker of its crash states (issue 22). The update is the documented command,
 * `lifeboat update <release>/root.caibx <staging>/root.squashfs --store <release>/default.castr
 * --seed <root>/current/root.squashfs --manifest <release> --trusted-key <pem> --recovery-root
 * <root>` (the signed manifest checked against the installed set's epoch before anything is
 * fetched; the payload assembled from the installed set's chunks first, then the store, into
 * `<root>/update-staging` on the recovery partition), then the release's small files beside
 * it and `lifeboat image install <staging> --recovery-root <root>`, which verifies the
 * assembled set and switches `current`, and the staging folder removed. The same commands run
 * in the guest (joined by `&&`) and in the checker.
 *
 * Checker, per state (on the host, on a disk image made from the write log): the GPT is
 * valid; `current` is the old set or the new one and verifies in full (the staging folder or
 * a half-made set is never `current`); the same commands run again on the state finish, and
 * then `current` is the new set, verified, the only set on the partition, and no staging is left.
 */

import { execFile } from "node:child_process";
import { readdir, realpath } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { repositoryRoot } from "@lifeboat/testkit";
import {
  checkSetState,
  currentOf,
  type InstallVerdict,
  type SetExpectation,
  short,
  verifyCurrent,
  withRecovery,
} from "./install-check.js";

const run = promisify(execFile);

/** The staging folder on the recovery partition the update assembles the new set in. */
export const UPDATE_STAGING = "update-staging";
/** The set's payload the casync index assembles; the release's other files are copied. */
const PAYLOAD = "root.squashfs";
const SMALL_FILES = ["manifest.json", "manifest.json.sig", "root.squashfs.verity"];

/**
 * The folders of the native zstd addon `lifeboat update` needs beside the single-file CLI
 * (docs/cli.md): `@mongodb-js/zstd` and its platform package, to copy into a
 * `node_modules/@mongodb-js` beside the bundle.
 */
export async function zstdAddonDirs(): Promise<string[]> {
  const fromCasync = createRequire(path.join(repositoryRoot(), "packages/casync/package.json"));
  const zstd = path.dirname(await realpath(fromCasync.resolve("@mongodb-js/zstd")));
  const platform = createRequire(path.join(zstd, "index.js")).resolve(
    `@mongodb-js/zstd-${process.platform}-${process.arch}-gnu`,
  );
  return [zstd, path.dirname(await realpath(platform))];
}

/** Where the update's inputs are: the CLI, the release folder, the recovery root, the key. */
export interface UpdatePaths {
  /** The program and its first arguments (e.g. `["node", "/lifeboat/cli.js"]`). */
  readonly cli: readonly string[];
  /** manifest.json, manifest.json.sig, root.squashfs.verity, root.caibx, default.castr/. */
  readonly release: string;
  readonly recoveryRoot: string;
  readonly trustedKey: string;
}

/** The update, command by command (argument arrays). */
export function updateCommands(p: UpdatePaths): string[][] {
  const staging = path.join(p.recoveryRoot, UPDATE_STAGING);
  return [
    ["mkdir", "-p", staging],
    [
      ...p.cli,
      "update",
      path.join(p.release, "root.caibx"),
      path.join(staging, PAYLOAD),
      "--store",
      path.join(p.release, "default.castr"),
      "--seed",
      path.join(p.recoveryRoot, "current", PAYLOAD),
      "--manifest",
      p.release,
      "--trusted-key",
      p.trustedKey,
      "--recovery-root",
      p.recoveryRoot,
    ],
    ["cp", ...SMALL_FILES.map((f) => path.join(p.release, f)), staging],
    [
      ...p.cli,
      "image",
      "install",
      staging,
      "--trusted-key",
      p.trustedKey,
      "--recovery-root",
      p.recoveryRoot,
    ],
    ["rm", "-r", staging],
  ];
}

/** What the update must leave. */
export interface UpdateExpectation extends SetExpectation {
  /** The release folder on the host (what the guest's copy was made from). */
  readonly release: string;
  /** The CLI for the update: a copy of the bundle with the zstd addon beside it. */
  readonly updateCli: string;
}

/** Check one crash state's image (changed in place: the update runs again on it). */
export async function checkUpdateState(
  image: string,
  want: UpdateExpectation,
  work: string,
): Promise<InstallVerdict> {
  const mnt = path.join(work, "update-mnt");
  const { failures, current, unreadable } = await checkSetState(image, want, mnt);
  if (unreadable) return { failures, current };
  try {
    await withRecovery(
      image,
      want,
      mnt,
      async (root) => {
        const commands = updateCommands({
          cli: ["node", want.updateCli],
          release: want.release,
          recoveryRoot: root,
          trustedKey: want.trustedKey,
        });
        for (const [program, ...args] of commands) {
          if (program === undefined) continue;
          const r = await run(program, args, { maxBuffer: 16 * 1024 * 1024 }).catch(
            (e: { code?: number; stdout?: string; stderr?: string }) => e,
          );
          if ("code" in r && r.code !== undefined && r.code !== 0) {
            failures.push(
              `update again: ${[program, ...args].slice(0, 4).join(" ")}: exit ${r.code}: ${String(r.stdout ?? "").slice(-600)} ${String(r.stderr ?? "").slice(-900)}`,
            );
            return;
          }
        }
      },
      { writable: true },
    );
  } catch (e) {
    failures.push(`update again: ${short(e)}`);
  }
  if (failures.length > 0) return { failures, current };
  try {
    await withRecovery(image, want, mnt, async (root) => {
      const after = await currentOf(want, root);
      if (after !== "new") failures.push(`after update again: current is ${after}`);
      failures.push(...(await verifyCurrent(want, root)).map((f) => `after update again: ${f}`));
      const sets = await readdir(path.join(root, "sets"));
      if (sets.length !== 1)
        failures.push(`after update again: ${sets.length} sets (${sets.join(", ")})`);
      const left = (await readdir(root)).filter((n) => n === UPDATE_STAGING);
      if (left.length > 0) failures.push(`after update again: ${UPDATE_STAGING} left`);
    });
  } catch (e) {
    failures.push(`after update again: ${short(e)}`);
  }
  return { failures, current };
}
