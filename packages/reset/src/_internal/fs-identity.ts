import type { CommandRunner, LifeboatError } from "@lifeboat/core";
import { okAsync, type ResultAsync } from "neverthrow";
import { agentFor, filesystemHasUuid } from "./btrfs.js";
import { io } from "./fs.js";

/**
 * Whether the Btrfs mounted at `top` is the filesystem `fsUuid`: asked of the
 * filesystem itself through the agent (BTRFS_IOC_FS_INFO), else sysfs and the
 * mount table, else `btrfs filesystem show`.
 */
export function isFilesystem(
  runner: CommandRunner,
  top: string,
  fsUuid: string,
): ResultAsync<boolean, LifeboatError> {
  return agentFor(runner)
    .andThen((agent) =>
      agent
        ? agent.devices(top).map((d): boolean | undefined => d.fsUuid === fsUuid)
        : io(filesystemHasUuid(top, fsUuid), top, "read /sys/fs/btrfs"),
    )
    .andThen((known) =>
      known === undefined
        ? runner.run("btrfs", ["filesystem", "show", top]).map((r) => r.stdout.includes(fsUuid))
        : okAsync(known),
    );
}
