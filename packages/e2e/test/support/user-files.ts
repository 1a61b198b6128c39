/** The user's own files, added after the factory state, that a reset keeping /home must keep byte for byte. */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fixtureFingerprints, type MountedFixture, sh } from "@lifeboat/testkit";

/**
 * Write `Documents/after-factory.txt` and a 3 MiB `Pictures/photo.raw` (random
 * bytes) into `/home/<user>` of a mounted fixture, owned by the user (1000);
 * returns the fingerprint of `/home` with them (the marker's function).
 */
export async function addUserFiles(
  mounted: Pick<MountedFixture, "btrfsTop">,
  user: string,
): Promise<string> {
  const home = path.join(mounted.btrfsTop, "home", user);
  await mkdir(path.join(home, "Pictures"), { recursive: true });
  await writeFile(path.join(home, "Documents/after-factory.txt"), "written after OOBE\n");
  await writeFile(path.join(home, "Pictures/photo.raw"), randomBytes(3 * 1024 * 1024));
  await sh("chown", ["-R", "1000:1000", home]);
  return (await fixtureFingerprints(mounted)).home;
}
