import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { LifeboatError } from "@lifeboat/core";
import { TRUSTED_KEYS_DIR } from "@lifeboat/core/layout";
import { loadPublicKey, type PublicKey, readMinimumEpoch } from "@lifeboat/image";
import { MINIMUM_EPOCH_FILE } from "@lifeboat/image/layout";
import type { Command } from "commander";
import type { Result } from "neverthrow";
import { type CliContext, fail } from "../context.js";
import type { ExitCodeValue } from "../exit-codes.js";
import { asLifeboatError, type TargetOptions } from "../target.js";

/** Add `--disk`, `--top`, `--boot`, `--recovery-root` to a command. */
export function targetOptions(cmd: Command): Command {
  return cmd
    .option(
      "--disk <path>",
      "disk image file or whole-disk device (partitions attached/mounted for you)",
    )
    .option("--top <dir>", "the Btrfs top level (subvolid=5), already mounted")
    .option("--boot <dir>", "/boot, already mounted")
    .option("--recovery-root <dir>", "the recovery partition, already mounted")
    .option(
      "--luks-key-file <file>",
      "key of the LUKS container the Btrfs is in, read only if it must be opened (else asked on the terminal)",
    );
}

/** Add `--yes`, `--confirm <digest>`, `--dry-run`. */
export function confirmOptions(cmd: Command): Command {
  return cmd
    .option("--yes", "do not ask (needs --confirm <digest>)")
    .option("--confirm <digest>", "the digest of the plan you reviewed")
    .option("--dry-run", "only show the plan");
}

/** The target part of parsed options. */
export function targetOf(opts: TargetOptions): TargetOptions {
  return {
    ...(opts.disk ? { disk: opts.disk } : {}),
    ...(opts.top ? { top: opts.top } : {}),
    ...(opts.boot ? { boot: opts.boot } : {}),
    ...(opts.recoveryRoot ? { recoveryRoot: opts.recoveryRoot } : {}),
    ...(opts.luksKeyFile ? { luksKeyFile: opts.luksKeyFile } : {}),
  };
}

/**
 * How the failure note of a run names this machine again, and where its
 * journal lives for real (on the disk, not in a mount directory of this run).
 */
export function journalTarget(opts: TargetOptions): {
  readonly args: string;
  readonly journalWhere: string;
} {
  if (opts.disk)
    return {
      args: `--disk ${opts.disk}`,
      journalWhere: `on ${opts.disk} itself (.lifeboat/journal.json in the top level of its Btrfs)`,
    };
  const top = opts.top ?? "<top>";
  return {
    args: `--top ${top}${opts.boot ? ` --boot ${opts.boot}` : ""}`,
    journalWhere: `at ${top}/.lifeboat/journal.json`,
  };
}

/** A usage error: nothing was done. */
export function usage(ctx: CliContext, command: string, message: string): ExitCodeValue {
  return fail(ctx, command, { code: "CLI_USAGE", message });
}

/** Run a command body; anything thrown (an error value from a package, or a bug) is reported. */
export async function guarded(
  ctx: CliContext,
  command: string,
  body: () => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  try {
    return await body();
  } catch (e) {
    return fail(ctx, command, asLifeboatError(e));
  }
}

/** Unwrap a Result-like, throwing its error (caught by {@link guarded}). */
export function must<T, E extends LifeboatError>(r: Result<T, E>): T {
  if (r.isErr()) throw r.error;
  return r.value;
}

/** Load the trusted public keys given with `--trusted-key` (repeatable). */
export async function loadTrustedKeys(files: readonly string[]): Promise<PublicKey[]> {
  const keys: PublicKey[] = [];
  for (const f of files.length > 0 ? files : await defaultKeyFiles())
    keys.push(must(loadPublicKey(await readFile(f))));
  return keys;
}

/**
 * Without `--trusted-key`: the `*.pem` files in `$LIFEBOAT_TRUSTED_KEYS_DIR`
 * or `/etc/lifeboat/trusted-keys` (where `provision` puts the OEM's key in
 * the recovery environment); none when the folder is not there.
 */
async function defaultKeyFiles(): Promise<string[]> {
  const dir = process.env.LIFEBOAT_TRUSTED_KEYS_DIR || TRUSTED_KEYS_DIR;
  try {
    return (await readdir(dir))
      .filter((f) => f.endsWith(".pem"))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/**
 * The OEM's anti-rollback floor: the highest `minimum-epoch` file found
 * beside the trusted key files (none: `undefined`).
 */
export async function loadMinimumEpoch(keyFiles: readonly string[]): Promise<number | undefined> {
  let floor: number | undefined;
  for (const f of keyFiles.length > 0 ? keyFiles : await defaultKeyFiles()) {
    const m = must(await readMinimumEpoch(path.join(path.dirname(f), MINIMUM_EPOCH_FILE)));
    if (m !== undefined && (floor === undefined || m > floor)) floor = m;
  }
  return floor;
}

/** The `--allow-rollback <reason>` option of commands that install or unpack an image set. */
export function allowRollbackOption(cmd: Command): Command {
  return cmd.option(
    "--allow-rollback <reason>",
    "service engineers: accept an image set older (lower security epoch) than the installed one or the OEM minimum; the reason is written to rollback-log.jsonl on the recovery partition",
  );
}

/** commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
