import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** A scratch directory under the system temp directory, removed by the returned function. */
export async function workDirectory(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-media-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
