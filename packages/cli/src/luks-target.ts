import { readFile } from "node:fs/promises";
import { type CommandRunner, ioError } from "@lifeboat/core";
import { type LuksKey, lockLuks, unlockLuks } from "@lifeboat/reset";
import { readPassphrase } from "./ui/passphrase.js";

/** Where the key of a LUKS container comes from, when one must be opened. */
export interface LuksKeySource {
  /** `--luks-key-file`: the key file's bytes, tried once. */
  readonly keyFile?: string;
  /** Ask a person (attempt 0, 1, 2); `undefined` gives up. Default: the terminal, when there is one. */
  readonly ask?: (container: string, attempt: number) => Promise<string | undefined>;
}

/** What {@link openEncryptedBtrfs} found. */
export interface EncryptedBtrfs {
  /** The opened mapping holding the Btrfs, or `undefined` when it stays locked. */
  readonly btrfs: string | undefined;
  /** The container it is in. */
  readonly container: string;
}

const ATTEMPTS = 3;

/** Ask on the terminal (stdin a TTY), never echoing; nothing when there is no terminal. */
export function askOnTerminal(container: string, attempt: number): Promise<string | undefined> {
  if (attempt > 0) process.stderr.write("That key opens no key slot; try again.\n");
  return readPassphrase(
    process.stdin,
    process.stderr,
    `Passphrase for the encrypted volume ${container}: `,
  );
}

async function blkidType(runner: CommandRunner, device: string): Promise<string | undefined> {
  const r = await runner.run("blkid", ["-p", "-o", "value", "-s", "TYPE", device], {
    okExitCodes: [0, 2],
  });
  return r.isOk() ? r.value.stdout.trim() || undefined : undefined;
}

/** The mapping a container is open as already (`lsblk`: its `crypt` holder). */
async function openAs(runner: CommandRunner, container: string): Promise<string | undefined> {
  const r = await runner.run("lsblk", ["-J", "-o", "PATH,TYPE", container]);
  if (r.isErr()) return undefined;
  return /"path":\s*"([^"]+)",\s*"type":\s*"crypt"/.exec(r.value.stdout)?.[1];
}

/**
 * Reach a Btrfs that sits in one of `containers` (LUKS partitions). A
 * container open already is used as it is; otherwise the key is read from
 * the key file, or asked for (three attempts), and the container opened;
 * its closing is pushed on `undo`. Only called when no plain Btrfs was
 * found: a key is never asked for when it is not needed.
 */
export async function openEncryptedBtrfs(
  runner: CommandRunner,
  containers: readonly string[],
  source: LuksKeySource,
  undo: (() => unknown)[],
): Promise<EncryptedBtrfs | undefined> {
  for (const container of containers) {
    const existing = await openAs(runner, container);
    if (existing !== undefined) {
      if ((await blkidType(runner, existing)) === "btrfs") return { btrfs: existing, container };
      continue;
    }
    const keys: (() => Promise<LuksKey | undefined>)[] = [];
    if (source.keyFile !== undefined) {
      const file = source.keyFile;
      keys.push(async () => {
        try {
          return new Uint8Array(await readFile(file));
        } catch (e) {
          throw ioError(e, file, "read the LUKS key file");
        }
      });
    } else {
      const ask = source.ask ?? askOnTerminal;
      for (let i = 0; i < ATTEMPTS; i++) keys.push(() => ask(container, i));
    }
    for (const [i, next] of keys.entries()) {
      const key = await next();
      if (key === undefined) return { btrfs: undefined, container };
      const opened = await unlockLuks(runner, container, { key });
      if (opened.isErr()) {
        if (opened.error.code === "RESET_LUKS_WRONG_KEY" && i < keys.length - 1) continue;
        throw opened.error;
      }
      const mapping = opened.value;
      undo.push(async () => await lockLuks(runner, mapping));
      if ((await blkidType(runner, mapping.device)) === "btrfs")
        return { btrfs: mapping.device, container };
      break;
    }
  }
  return containers[0] === undefined ? undefined : { btrfs: undefined, container: containers[0] };
}
