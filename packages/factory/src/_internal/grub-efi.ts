import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CommandRunner } from "@lifeboat/core";
import { Fail } from "./fail.js";

/**
 * A standalone GRUB EFI binary (`grub-mkstandalone -O x86_64-efi`) whose
 * memdisk holds `config` as /boot/grub/grub.cfg and GRUB's modules, so it
 * needs nothing else from the ESP. Returns the path of the binary inside
 * `workDir`.
 */
export async function makeStandaloneGrub(
  runner: CommandRunner,
  config: string,
  workDir: string,
  signal?: AbortSignal,
): Promise<string> {
  const dir = await mkdtemp(path.join(workDir, "grub-"));
  const cfg = path.join(dir, "grub.cfg");
  const out = path.join(dir, "BOOTX64.EFI");
  await writeFile(cfg, config);
  const r = await runner.run(
    "grub-mkstandalone",
    [
      "-O",
      "x86_64-efi",
      "-o",
      out,
      "--locales=",
      "--fonts=",
      "--themes=",
      "--modules=part_gpt ext2 fat search search_fs_uuid search_label linux normal configfile echo test",
      `boot/grub/grub.cfg=${cfg}`,
    ],
    signal ? { signal } : {},
  );
  if (r.isErr()) throw new Fail(r.error);
  return out;
}

/** A scratch directory under the system temp directory, removed by the returned function. */
export async function workDirectory(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-media-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
