import type { CommandRunner } from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import type { ResetError } from "../errors.js";
import { useBtrfs } from "./btrfs.js";

/**
 * Whether the Btrfs mounted at `top` is the filesystem `fsUuid`: the agent
 * asks the filesystem itself (BTRFS_IOC_FS_INFO), the programs backend runs
 * `btrfs filesystem show`.
 */
export function isFilesystem(
  runner: CommandRunner,
  top: string,
  fsUuid: string,
): ResultAsync<boolean, ResetError> {
  return useBtrfs(runner, top, (fs) => fs.filesystem()).map((f) => f.uuid === fsUuid);
}
