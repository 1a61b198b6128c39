/**
 * LUKS containers the system's Btrfs may sit in: which one a reset needs
 * opened (none when the Btrfs is already readable), checking a key, opening
 * and closing the mapping. The key goes to `cryptsetup` on its standard
 * input, never on a command line.
 *
 * @module
 */
import type { CommandRunner, CoreError, RunOptions } from "@lifeboat/core";
import { errAsync, okAsync, type ResultAsync } from "neverthrow";
import type { LuksWrongKeyError } from "./errors.js";
import type { PartitionState, SystemState } from "./state.js";

/** An opened LUKS container. */
export interface LuksMapping {
  /** The container's partition device (`/dev/nvme0n1p3`). */
  readonly container: string;
  /** The device-mapper name (`luks-<uuid>`, as Fedora names it). */
  readonly name: string;
  /** The opened block device (`/dev/mapper/luks-<uuid>`), where the Btrfs is. */
  readonly device: string;
}

/** The key of a LUKS key slot: the passphrase's bytes (no trailing newline) or a key file's bytes. */
export type LuksKey = Uint8Array | string;

/** Options of {@link unlockLuks}. */
export interface UnlockLuksOptions {
  readonly key: LuksKey;
  /** Mapping name (default `luks-<uuid of the container>`). */
  readonly name?: string;
  readonly signal?: AbortSignal;
}

const KEY_REJECTED_EXIT = 2; // cryptsetup(8): "no permission (bad passphrase)"

function wrongKey(container: string): LuksWrongKeyError {
  return {
    code: "RESET_LUKS_WRONG_KEY",
    message: `No key slot of the encrypted volume ${container} opens with this key; nothing was changed.`,
    device: container,
  };
}

function runOptions(key: LuksKey, signal: AbortSignal | undefined): RunOptions {
  return { stdin: key, ...(signal ? { signal } : {}) };
}

/**
 * The LUKS container a reset must open to reach the system's Btrfs, or
 * `undefined` when none must be: the Btrfs is already readable (plain, or
 * its container is open), or there is no container. Pure: a front end asks
 * for a key only when this returns a partition.
 *
 * @example
 * ```ts
 * const container = luksContainerToUnlock(state);
 * if (container) console.log(`${container.device} is locked: a key is needed`);
 * ```
 */
export function luksContainerToUnlock(state: SystemState): PartitionState | undefined {
  if (state.btrfs !== undefined) return undefined;
  return state.disks
    .flatMap((d) => d.partitions)
    .find((p) => p.luks !== undefined && p.luks.openAs === undefined);
}

/**
 * Check a key against a LUKS container's key slots without opening it
 * (`cryptsetup open --test-passphrase`; needs no device-mapper). A key no
 * slot takes gives `RESET_LUKS_WRONG_KEY`.
 *
 * @example
 * ```ts
 * const r = await checkLuksKey(runner, "/dev/nvme0n1p3", { key: "correct horse" });
 * if (r.isErr() && r.error.code === "RESET_LUKS_WRONG_KEY") console.log("try again");
 * ```
 */
export function checkLuksKey(
  runner: CommandRunner,
  container: string,
  options: { readonly key: LuksKey; readonly signal?: AbortSignal },
): ResultAsync<void, LuksWrongKeyError | CoreError> {
  return runner
    .run(
      "cryptsetup",
      ["open", "--test-passphrase", "--key-file", "-", container],
      runOptions(options.key, options.signal),
    )
    .map(() => undefined)
    .orElse((e) =>
      e.code === "COMMAND_FAILED" && e.exitCode === KEY_REJECTED_EXIT
        ? errAsync(wrongKey(container))
        : errAsync(e),
    );
}

/**
 * Open a LUKS container (`cryptsetup open --type luks --key-file -`, the
 * key on standard input) and return its mapping. A key no slot takes gives
 * `RESET_LUKS_WRONG_KEY` and changes nothing. Close it with
 * {@link lockLuks}.
 *
 * @example
 * ```ts
 * const m = await unlockLuks(runner, "/dev/nvme0n1p3", { key: passphrase });
 * if (m.isOk()) {
 *   // mount m.value.device, reset, unmount...
 *   await lockLuks(runner, m.value);
 * }
 * ```
 */
export function unlockLuks(
  runner: CommandRunner,
  container: string,
  options: UnlockLuksOptions,
): ResultAsync<LuksMapping, LuksWrongKeyError | CoreError> {
  const signal = options.signal ? { signal: options.signal } : {};
  const named: ResultAsync<string, CoreError> =
    options.name !== undefined
      ? okAsync(options.name)
      : runner
          .run("cryptsetup", ["luksUUID", container], signal)
          .map((r) => `luks-${r.stdout.trim()}`);
  return named.andThen((name) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
      return errAsync<never, CoreError>({
        code: "INVALID_ARGUMENT",
        message: `Not a usable device-mapper name: ${JSON.stringify(name)}.`,
        argument: "name",
      });
    return runner
      .run(
        "cryptsetup",
        ["open", "--type", "luks", "--key-file", "-", container, name],
        runOptions(options.key, options.signal),
      )
      .map(() => ({ container, name, device: `/dev/mapper/${name}` }))
      .orElse((e) =>
        e.code === "COMMAND_FAILED" && e.exitCode === KEY_REJECTED_EXIT
          ? errAsync(wrongKey(container))
          : errAsync(e),
      );
  });
}

/**
 * Close an opened LUKS container (`cryptsetup close`), after everything on
 * it is unmounted.
 *
 * @example
 * ```ts
 * await lockLuks(runner, { container: "/dev/vda3", name: "luks-1b2c…", device: "/dev/mapper/luks-1b2c…" });
 * ```
 */
export function lockLuks(
  runner: CommandRunner,
  mapping: LuksMapping,
  options: { readonly signal?: AbortSignal } = {},
): ResultAsync<void, CoreError> {
  return runner
    .run("cryptsetup", ["close", mapping.name], options.signal ? { signal: options.signal } : {})
    .map(() => undefined);
}
