import { stat } from "node:fs/promises";
import type { CommandRunner, DataLoss } from "@lifeboat/core";
import { readGpt } from "@lifeboat/gpt";
import { Fail } from "./fail.js";

/** What a media target is now, and what writing to it would erase. */
export async function describeTarget(
  runner: CommandRunner,
  target: string,
): Promise<{ kind: "file" | "device"; bytes: number; exists: boolean; loss: DataLoss[] }> {
  const st = await stat(target).catch(() => undefined);
  if (!st) return { kind: "file", bytes: 0, exists: false, loss: [] };
  const device = st.isBlockDevice();
  let bytes = st.size;
  if (device) {
    const r = await runner.run("blockdev", ["--getsize64", target]);
    if (r.isErr()) throw new Fail(r.error);
    bytes = Number(r.value.stdout.trim());
  } else if (!st.isFile()) {
    throw new Fail({
      code: "FACTORY_UNSUPPORTED_LAYOUT",
      message: `${target} is neither a block device nor a regular file.`,
      reason: "target kind",
    });
  }
  const loss: DataLoss[] = [];
  const gpt = bytes > 0 ? await readGpt(runner, target) : undefined;
  if (gpt?.isOk()) {
    for (const p of gpt.value.partitions) {
      const size = Number((p.lastLba - p.firstLba + 1n) * BigInt(gpt.value.sectorSize));
      loss.push({
        kind: "partition",
        what: `partition ${p.slot} of ${target}${p.name ? ` (${p.name})` : ""}`,
        bytes: size,
        detail: `type ${p.typeGuid}`,
      });
    }
  } else if (bytes > 0 && (device || st.blocks > 0)) {
    loss.push({ kind: "files", what: `everything on ${target}`, bytes });
  }
  return { kind: device ? "device" : "file", bytes, exists: true, loss };
}
