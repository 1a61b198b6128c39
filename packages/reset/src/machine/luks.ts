import { readFile } from "node:fs/promises";
import { type CommandRunner, ioError } from "@lifeboat/core";
import { fail } from "../_internal/await.js";
import { type LuksKey, lockLuks, unlockLuks } from "../luks.js";
import { blkidType } from "./devices.js";

/** Where the key of a LUKS container comes from, when one must be opened. */
export interface LuksKeySource {
  /** A key file: its bytes are tried once. */
  readonly keyFile?: string;
  /**
   * Ask a person (attempt 0, 1, 2); `undefined` gives up and leaves the
   * container locked. Without `keyFile` or `ask` a locked container stays locked.
   */
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
          fail(ioError(e, file, "read the LUKS key file"));
        }
      });
    } else if (source.ask !== undefined) {
      const ask = source.ask;
      for (let i = 0; i < ATTEMPTS; i++) keys.push(() => ask(container, i));
    }
    for (const [i, next] of keys.entries()) {
      const key = await next();
      if (key === undefined) return { btrfs: undefined, container };
      const opened = await unlockLuks(runner, container, { key });
      if (opened.isErr()) {
        if (opened.error.code === "RESET_LUKS_WRONG_KEY" && i < keys.length - 1) continue;
        fail(opened.error);
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
