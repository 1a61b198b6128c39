/**
 * Verify a recovery image set before trusting it: the Ed25519 signature of
 * the manifest by a trusted key, every file's size, and every block against
 * its dm-verity hash tree, with progress.
 *
 * Run: pnpm exec tsx examples/verify-recovery-image.ts /mnt/recovery/current public.pem
 */
import { readFile } from "node:fs/promises";
import { formatError } from "@lifeboat/core";
import { loadPublicKey, verifyImageSet } from "@lifeboat/image";

/** Verify the set in `dir` with the public key in `publicKeyFile`; report progress in percent. */
export async function verifyRecoveryImage(
  dir: string,
  publicKeyFile: string,
  onPercent: (percent: number) => void = () => {},
) {
  const key = loadPublicKey(await readFile(publicKeyFile));
  if (key.isErr()) throw new Error(formatError(key.error));
  const verified = await verifyImageSet(dir, {
    trustedKeys: [key.value], // several during a key rotation: old and new
    onProgress: (e) => {
      if (e.phase === "content" && e.bytesTotal > 0)
        onPercent(Math.floor((100 * e.bytesDone) / e.bytesTotal));
    },
  });
  // A tampered or truncated set gives IMAGE_HASH_MISMATCH, IMAGE_BAD_SIGNATURE, IMAGE_SIZE_MISMATCH, …
  if (verified.isErr())
    return { ok: false as const, code: verified.error.code, message: formatError(verified.error) };
  const m = verified.value.manifest;
  return { ok: true as const, product: m.product, version: m.version, keyId: verified.value.keyId };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, pub] = process.argv.slice(2);
  if (!dir || !pub) {
    console.error("usage: verify-recovery-image.ts <set dir> <public.pem>");
    process.exit(2);
  }
  const r = await verifyRecoveryImage(dir, pub, (p) => process.stderr.write(`\rverifying ${p}%`));
  console.log(
    r.ok
      ? `\nverified ${r.product} ${r.version}, signed by ${r.keyId}`
      : `\nREJECTED: ${r.message}`,
  );
  process.exitCode = r.ok ? 0 : 5;
}
