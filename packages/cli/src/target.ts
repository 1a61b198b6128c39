import { type CommandRunner, type LifeboatError, lifeboatError } from "@lifeboat/core";
import { readCurrentImageSet } from "@lifeboat/image";
import { type LuksKeySource, type Machine, openMachine } from "@lifeboat/reset";
import { readPassphrase } from "./ui/passphrase.js";

/** Options every command that works on a machine accepts. */
export interface TargetOptions {
  /** A disk image file or a whole-disk block device. */
  readonly disk?: string;
  /** The Btrfs top level, already mounted (instead of `--disk`). */
  readonly top?: string;
  /** /boot, already mounted. */
  readonly boot?: string;
  /** The recovery partition, already mounted. */
  readonly recoveryRoot?: string;
  /** Key file of the LUKS container the Btrfs is in (read only when it must be opened). */
  readonly luksKeyFile?: string;
}

/** A machine opened for a command (see `openMachine`), released by `close()`. */
export type OpenedTarget = Machine;

/** Ask on the terminal (stdin a TTY), never echoing; nothing when there is no terminal. */
export function askOnTerminal(container: string, attempt: number): Promise<string | undefined> {
  if (attempt > 0) process.stderr.write("That key opens no key slot; try again.\n");
  return readPassphrase(
    process.stdin,
    process.stderr,
    `Passphrase for the encrypted volume ${container}: `,
  );
}

/**
 * Open what a command works on: `openMachine` from `@lifeboat/reset` (the
 * disk locked, each partition attached, the filesystems mounted under
 * `/run/lifeboat/disks/<disk GUID>/`, or `$LIFEBOAT_RUN_DIR` when set).
 */
export async function openTarget(
  runner: CommandRunner,
  options: TargetOptions,
  needs: {
    readonly mount?: boolean;
    readonly recoveryWritable?: boolean;
    /** How to ask a person for a LUKS key (default: the terminal, if any). */
    readonly askLuksKey?: LuksKeySource["ask"];
  } = {},
): Promise<OpenedTarget> {
  const runDirectory = process.env.LIFEBOAT_RUN_DIR;
  const opened = await openMachine(runner, {
    ...options,
    ...(needs.mount === false ? { mount: false } : {}),
    ...(needs.recoveryWritable ? { recoveryWritable: true } : {}),
    ...(runDirectory ? { runDirectory } : {}),
    luks: options.luksKeyFile
      ? { keyFile: options.luksKeyFile }
      : { ask: needs.askLuksKey ?? askOnTerminal },
  });
  if (opened.isErr()) throw opened.error;
  return opened.value;
}

/** The directory of the current recovery image set on a mounted recovery partition, if any. */
export async function currentSetDir(recoveryRoot: string | undefined): Promise<string | undefined> {
  if (!recoveryRoot) return undefined;
  const r = await readCurrentImageSet(recoveryRoot);
  return r.isOk() ? r.value.dir : undefined;
}

/**
 * Turn anything thrown in a command into a Lifeboat error: an error value
 * (thrown by `must`) as it is; an exception (a Node error, a bug) is
 * `CLI_FAILED` with its message, and its `errno` (`ENOENT`, ...) when it has one.
 */
export function asLifeboatError(e: unknown): LifeboatError {
  if (e instanceof Error) {
    const errno = (e as { code?: unknown }).code;
    return lifeboatError("CLI_FAILED", e.message, typeof errno === "string" ? { errno } : {});
  }
  if (e && typeof e === "object" && "code" in e && "message" in e) return e as LifeboatError;
  return lifeboatError("CLI_FAILED", String(e), {});
}

/** Run `body` with an opened target, always closing it. Errors become Lifeboat errors. */
export async function withTarget<T>(
  runner: CommandRunner,
  options: TargetOptions,
  needs: Parameters<typeof openTarget>[2],
  body: (t: OpenedTarget) => Promise<T>,
): Promise<T> {
  const t = await openTarget(runner, options, needs);
  try {
    return await body(t);
  } finally {
    await t.close();
  }
}
