import type { CheckpointManifest } from "@lifeboat/reset";
import pc from "picocolors";
import { type CliContext, succeed } from "./context.js";
import type { ExitCodeValue } from "./exit-codes.js";

/**
 * The outcome of `checkpoint create`, in process or through lifeboatd: the
 * same JSON document and the same text from the checkpoint's manifest.
 */
export function checkpointCreated(
  ctx: CliContext,
  command: string,
  m: CheckpointManifest,
): ExitCodeValue {
  return succeed(
    ctx,
    command,
    {
      checkpoint: {
        id: m.id,
        reason: m.reason,
        createdAt: m.createdAt,
        parent: m.parent,
        rootPath: m.root.path,
        bootPath: m.boot.path,
        kernelVersions: m.boot.kernelVersions,
      },
    },
    (d) =>
      [
        pc.green(`Checkpoint ${d.checkpoint.id} taken.`),
        `  root ${d.checkpoint.rootPath} (read-only), /boot payload ${d.checkpoint.bootPath}`,
        `  kernels ${d.checkpoint.kernelVersions.join(", ")}; parent ${d.checkpoint.parent ?? "none"}`,
        pc.dim(`Roll back: lifeboat checkpoint rollback ${d.checkpoint.id} …`),
      ].join("\n"),
  );
}
