import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CommandRunner } from "@lifeboat/core";

/** What matching a GRUB's signature against the certificate built into a shim found. */
export interface ShimTrust {
  /** The subject of the shim's built-in (vendor) certificate, e.g. `CN = Debian Secure Boot CA`. */
  readonly shimCertificate: string;
  /** Whether the GRUB's signature verifies against that certificate (`sbverify --cert`). */
  readonly trusted: boolean;
}

/**
 * Match `grub`'s signature against the vendor certificate shim carries (its `.vendor_cert`
 * section: a 16-byte header of sizes and offsets, then the DER certificate), with objcopy,
 * openssl and sbverify. `undefined` when it cannot be told: a tool missing, no `.vendor_cert`,
 * or a vendor database instead of one certificate.
 */
export async function grubTrustedByShim(
  runner: CommandRunner,
  shim: string,
  grub: string,
  signal?: AbortSignal,
): Promise<ShimTrust | undefined> {
  const opts = signal ? { signal } : {};
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-shim-cert-"));
  try {
    const section = path.join(dir, "vendor_cert.bin");
    const extracted = await runner.run(
      "objcopy",
      ["-O", "binary", "--only-section=.vendor_cert", shim, section],
      opts,
    );
    if (extracted.isErr()) return undefined;
    const bytes = await readFile(section).catch(() => Buffer.alloc(0));
    if (bytes.length < 16) return undefined;
    const size = bytes.readUInt32LE(0);
    const offset = bytes.readUInt32LE(8);
    const der = bytes.subarray(offset, offset + size);
    if (size === 0 || der.length !== size || der[0] !== 0x30) return undefined;
    const derFile = path.join(dir, "vendor.der");
    const pem = path.join(dir, "vendor.pem");
    await writeFile(derFile, der);
    const converted = await runner.run(
      "openssl",
      ["x509", "-inform", "DER", "-in", derFile, "-out", pem],
      opts,
    );
    if (converted.isErr()) return undefined;
    const subject = await runner.run(
      "openssl",
      ["x509", "-in", pem, "-noout", "-subject", "-nameopt", "oneline"],
      opts,
    );
    if (subject.isErr()) return undefined;
    const verified = await runner.run("sbverify", ["--cert", pem, grub], {
      ...opts,
      okExitCodes: [0, 1],
    });
    if (verified.isErr()) return undefined;
    return {
      shimCertificate: subject.value.stdout.trim().replace(/^subject=\s*/, ""),
      trusted: verified.value.exitCode === 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
