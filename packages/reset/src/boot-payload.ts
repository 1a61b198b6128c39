/**
 * The /boot payload: which files of /boot belong to the installed kernels
 * (archived by provision and checkpoints, restored by a reset). One rule,
 * for Fedora's and Debian/Ubuntu's naming alike.
 *
 * @module
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { IoFailedError } from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import { exists, io, sha256File } from "./_internal/fs.js";
import type { BootFile } from "./state.js";

/**
 * Files at the top of /boot that belong to a kernel: `vmlinuz-*`,
 * `initramfs-*.img` (Fedora, dracut), `initrd.img-*` (Debian/Ubuntu,
 * initramfs-tools), `System.map-*`, `config-*`, `symvers-*`.
 */
const KERNEL_FILE =
  /^(?:vmlinuz-.+|initramfs-.+\.img|initrd\.img-.+|System\.map-.+|config-.+|symvers-.+)$/;

/** The directory of Boot Loader Specification entries, relative to /boot. */
export const BLS_ENTRIES_DIR = "loader/entries";

/**
 * Whether a path relative to /boot is part of the /boot payload: a kernel
 * file at the top of /boot (Fedora or Debian/Ubuntu naming) or a BLS entry
 * (`loader/entries/*.conf`).
 *
 * @example
 * ```ts
 * isBootPayloadFile("initrd.img-6.1.0-18-amd64"); // true (Debian)
 * isBootPayloadFile("initramfs-6.8.5-301.fc40.x86_64.img"); // true (Fedora)
 * isBootPayloadFile("loader/entries/abc-6.8.5.conf"); // true
 * isBootPayloadFile("grub2/grub.cfg"); // false
 * ```
 */
export function isBootPayloadFile(relative: string): boolean {
  const dir = path.posix.dirname(relative);
  const name = path.posix.basename(relative);
  if (dir === ".") return KERNEL_FILE.test(name);
  return dir === BLS_ENTRIES_DIR && name.endsWith(".conf");
}

/** The kernel versions a payload holds, from its `vmlinuz-<version>` files. */
export function kernelVersionsOf(files: readonly { readonly path: string }[]): string[] {
  return files
    .map((f) => /^vmlinuz-(.+)$/.exec(f.path)?.[1])
    .filter((v): v is string => v !== undefined);
}

/** The payload's paths relative to `boot`, kernel files first, sorted. */
export async function listBootPayload(boot: string): Promise<string[]> {
  const files = (await readdir(boot)).filter((n) => isBootPayloadFile(n)).sort();
  const entries = path.join(boot, BLS_ENTRIES_DIR);
  if (await exists(entries)) {
    for (const n of (await readdir(entries)).sort()) {
      const rel = `${BLS_ENTRIES_DIR}/${n}`;
      if (isBootPayloadFile(rel)) files.push(rel);
    }
  }
  return files;
}

/**
 * List a /boot payload directory (kernels, initramfs, BLS entries) with sizes and SHA-256.
 * Fails only with `IO_FAILED` (a file that cannot be listed, stat'ed or read).
 *
 * @example
 * ```ts
 * const files = await describeBootPayload("/boot");
 * ```
 */
export function describeBootPayload(dir: string): ResultAsync<BootFile[], IoFailedError> {
  return io(
    (async () => {
      const out: BootFile[] = [];
      for (const f of await listBootPayload(dir)) {
        const abs = path.join(dir, f);
        const { size } = await stat(abs);
        out.push({ path: f, bytes: size, sha256: await sha256File(abs) });
      }
      return out;
    })(),
    dir,
    "read the /boot payload",
  );
}
