/**
 * Detached Ed25519 signatures of manifests.
 *
 * Signature file (`manifest.json.sig`, 88 bytes): the ASCII magic
 * `LBSIG001`, the 16-byte key id, the 64-byte Ed25519 signature. The signed
 * message is `"lifeboat-manifest-v1\0"` followed by the manifest bytes, so a
 * Lifeboat signature can never be replayed as a signature of anything else.
 *
 * @module
 */
import { sign, verify } from "node:crypto";
import { err, ok, type Result } from "neverthrow";
import type { ImageBadSignatureError, ImageUntrustedKeyError } from "./errors.js";
import { KEY_ID_BYTES, type PrivateKey, type PublicKey } from "./keys.js";

const MAGIC = Buffer.from("LBSIG001", "ascii");
const DOMAIN = Buffer.from("lifeboat-manifest-v1\0", "ascii");
/** Size of a signature file in bytes. */
export const SIGNATURE_BYTES = MAGIC.length + KEY_ID_BYTES + 64;

/**
 * Sign manifest bytes; returns the signature file's bytes.
 *
 * @example
 * ```ts
 * const sig = signManifest(await readFile("set/manifest.json"), key);
 * await writeFile("set/manifest.json.sig", sig);
 * ```
 */
export function signManifest(manifestBytes: Uint8Array, key: PrivateKey): Uint8Array {
  const signature = sign(null, Buffer.concat([DOMAIN, manifestBytes]), key.keyObject);
  return Buffer.concat([MAGIC, Buffer.from(key.keyId, "hex"), signature]);
}

/**
 * Check a signature file against manifest bytes and a set of trusted keys
 * (several keys allow rotation). Returns the key that signed.
 *
 * @example
 * ```ts
 * const signer = verifyManifestSignature(manifestBytes, sigBytes, [oldKey, newKey]);
 * if (signer.isErr()) console.error(signer.error.code); // IMAGE_BAD_SIGNATURE | IMAGE_UNTRUSTED_KEY
 * ```
 */
export function verifyManifestSignature(
  manifestBytes: Uint8Array,
  signatureBytes: Uint8Array,
  trustedKeys: readonly PublicKey[],
  signaturePath = "manifest.json.sig",
): Result<PublicKey, ImageBadSignatureError | ImageUntrustedKeyError> {
  const sig = Buffer.from(signatureBytes);
  if (sig.length !== SIGNATURE_BYTES || !sig.subarray(0, MAGIC.length).equals(MAGIC)) {
    return err({
      code: "IMAGE_BAD_SIGNATURE",
      message: `The signature file ${signaturePath} is malformed (${sig.length} bytes; expected ${SIGNATURE_BYTES} starting with LBSIG001).`,
      signaturePath,
      reason: "malformed",
      keyId: undefined,
    });
  }
  const keyId = sig.subarray(MAGIC.length, MAGIC.length + KEY_ID_BYTES).toString("hex");
  const key = trustedKeys.find((k) => k.keyId === keyId);
  if (!key) {
    return err({
      code: "IMAGE_UNTRUSTED_KEY",
      message: `The manifest is signed by key ${keyId}, which is not trusted (trusted: ${trustedKeys.map((k) => k.keyId).join(", ") || "none"}).`,
      keyId,
      trustedKeyIds: trustedKeys.map((k) => k.keyId),
    });
  }
  const good = verify(
    null,
    Buffer.concat([DOMAIN, manifestBytes]),
    key.keyObject,
    sig.subarray(MAGIC.length + KEY_ID_BYTES),
  );
  if (!good) {
    return err({
      code: "IMAGE_BAD_SIGNATURE",
      message: `The signature ${signaturePath} does not match the manifest: it was changed after signing.`,
      signaturePath,
      reason: "mismatch",
      keyId,
    });
  }
  return ok(key);
}
