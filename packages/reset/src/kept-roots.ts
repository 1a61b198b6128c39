import path from "node:path";
import { readJsonMaybe } from "./_internal/fs.js";
import { KEPT_BOOT_MANIFEST, keptBootName } from "./layout.js";
import type { KeptRootState, SubvolumeState } from "./state.js";
import { keptBootManifestSchema } from "./steps/kept-boot-steps.js";

const KEPT_ROOT = /^root\.old-([0-9]{8}T[0-9]{6}Z)$/;

/**
 * The roots earlier resets kept (`root.old-<stamp>`), oldest first, each
 * with the /boot payload kept beside it when its manifest is readable and
 * names the same reset.
 */
export async function keptRootsOf(
  top: string,
  subvolumes: readonly SubvolumeState[],
): Promise<KeptRootState[]> {
  const out: KeptRootState[] = [];
  for (const s of subvolumes) {
    const stamp = KEPT_ROOT.exec(s.path)?.[1];
    if (stamp === undefined) continue;
    const bootPath = keptBootName(stamp);
    const hasBoot = subvolumes.some((b) => b.path === bootPath);
    const manifest = hasBoot
      ? keptBootManifestSchema.safeParse(
          await readJsonMaybe(path.join(top, bootPath, KEPT_BOOT_MANIFEST)).catch(() => undefined),
        )
      : undefined;
    const files = manifest?.success && manifest.data.stamp === stamp ? manifest.data.files : [];
    out.push({
      stamp,
      rootPath: s.path,
      bytes: s.bytes,
      bootPath: files.length > 0 ? bootPath : undefined,
      bootFiles: files,
    });
  }
  return out.sort((a, b) => a.stamp.localeCompare(b.stamp));
}
