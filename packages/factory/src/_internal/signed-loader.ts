import { access } from "node:fs/promises";
import { Fail } from "./fail.js";

/** Where distributions install their signed shim and GRUB, tried in this order. */
export const SIGNED_BOOT_LOADER_CANDIDATES: readonly { shim: string; grub: string }[] = [
  // Debian and Ubuntu: packages shim-signed and grub-efi-amd64-signed.
  {
    shim: "/usr/lib/shim/shimx64.efi.signed",
    grub: "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
  },
  // Fedora: packages shim-x64 and grub2-efi-x64, installed straight onto the ESP.
  { shim: "/boot/efi/EFI/fedora/shimx64.efi", grub: "/boot/efi/EFI/fedora/grubx64.efi" },
];

/**
 * Folders of the stick's ESP that get its grub.cfg: beside GRUB (`$cmdpath`, read when the
 * prefix has none) and each distribution's prefix built into its signed GRUB (Debian's
 * `EFI/debian`, Ubuntu's `EFI/ubuntu`, Fedora's `EFI/fedora`), so whichever signed GRUB the
 * stick carries finds it.
 */
export const MEDIA_GRUB_CONFIG_DIRS = ["BOOT", "debian", "ubuntu", "fedora"] as const;

function present(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The signed shim and GRUB given, checked to exist, or the first pair of candidates on this system. */
export async function signedBootLoader(given?: {
  readonly shim: string;
  readonly grub: string;
}): Promise<{ shim: string; grub: string }> {
  if (given !== undefined) {
    for (const [key, file] of [
      ["shim", given.shim],
      ["grub", given.grub],
    ] as const)
      if (!(await present(file)))
        throw new Fail({
          code: "INVALID_ARGUMENT",
          message: `The signed ${key === "shim" ? "shim" : "GRUB"} ${file} is not there.`,
          argument: `bootLoader.${key}`,
        });
    return { shim: given.shim, grub: given.grub };
  }
  for (const c of SIGNED_BOOT_LOADER_CANDIDATES)
    if ((await present(c.shim)) && (await present(c.grub))) return { ...c };
  throw new Fail({
    code: "INVALID_ARGUMENT",
    message: `No signed shim and GRUB found (looked for ${SIGNED_BOOT_LOADER_CANDIDATES.map((c) => `${c.shim} + ${c.grub}`).join(", ")}): install the distribution's signed boot loader (Debian: shim-signed grub-efi-amd64-signed) or pass bootLoader.`,
    argument: "bootLoader",
  });
}
