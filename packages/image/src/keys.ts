/**
 * Ed25519 signing keys in standard PEM: PKCS#8 for private keys, SPKI for
 * public keys. A key id is the first 16 bytes (hex) of SHA-256 over the
 * public key's SPKI DER encoding, so it is the same whoever computes it.
 *
 * @module
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { type IoFailedError, writeFileAtomic } from "@lifeboat/core";
import { err, ok, type Result, type ResultAsync } from "neverthrow";
import type { ImageKeyInvalidError } from "./errors.js";

/** A public key a verifier trusts, with its id. */
export interface PublicKey {
  /** 32 hex characters: SHA-256(SPKI DER)[0..16]. */
  readonly keyId: string;
  readonly keyObject: KeyObject;
}

/** A private signing key, with the id of its public half. */
export interface PrivateKey {
  readonly keyId: string;
  readonly keyObject: KeyObject;
  readonly publicKey: PublicKey;
}

/** Bytes of a key id (in the signature file). */
export const KEY_ID_BYTES = 16;

function keyError(reason: string): ImageKeyInvalidError {
  return { code: "IMAGE_KEY_INVALID", message: `Not a usable Ed25519 key: ${reason}`, reason };
}

function publicFromObject(keyObject: KeyObject): PublicKey {
  const der = keyObject.export({ type: "spki", format: "der" });
  const keyId = createHash("sha256")
    .update(der)
    .digest("hex")
    .slice(0, KEY_ID_BYTES * 2);
  return Object.freeze({ keyId, keyObject });
}

/**
 * Make a new Ed25519 key pair.
 *
 * @example
 * ```ts
 * const key = generateKeyPair();
 * await savePrivateKey("/secure/lifeboat.key", key);
 * await writeFile("lifeboat.pub", exportPublicKeyPem(key.publicKey));
 * ```
 */
export function generateKeyPair(): PrivateKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  const publicKey = publicFromObject(createPublicKey(privateKey));
  return Object.freeze({ keyId: publicKey.keyId, keyObject: privateKey, publicKey });
}

/**
 * Load a private key from PEM (PKCS#8, `-----BEGIN PRIVATE KEY-----`).
 *
 * @example
 * ```ts
 * const key = loadPrivateKey(await readFile("/secure/lifeboat.key", "utf8"));
 * ```
 */
export function loadPrivateKey(pem: string | Uint8Array): Result<PrivateKey, ImageKeyInvalidError> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: Buffer.from(pem), format: "pem" });
  } catch (e) {
    return err(keyError((e as Error).message));
  }
  if (keyObject.asymmetricKeyType !== "ed25519")
    return err(keyError(`key type is ${keyObject.asymmetricKeyType}, not ed25519`));
  const publicKey = publicFromObject(createPublicKey(keyObject));
  return ok(Object.freeze({ keyId: publicKey.keyId, keyObject, publicKey }));
}

/**
 * Load a public key from PEM (SPKI, `-----BEGIN PUBLIC KEY-----`).
 *
 * @example
 * ```ts
 * const trusted = loadPublicKey(await readFile("lifeboat.pub", "utf8"))._unsafeUnwrap();
 * trusted.keyId; // "3f1c…" (32 hex)
 * ```
 */
export function loadPublicKey(pem: string | Uint8Array): Result<PublicKey, ImageKeyInvalidError> {
  let keyObject: KeyObject;
  try {
    const text = Buffer.from(pem).toString("utf8");
    if (text.includes("PRIVATE KEY")) return err(keyError("this is a private key"));
    keyObject = createPublicKey({ key: Buffer.from(pem), format: "pem" });
  } catch (e) {
    return err(keyError((e as Error).message));
  }
  if (keyObject.asymmetricKeyType !== "ed25519")
    return err(keyError(`key type is ${keyObject.asymmetricKeyType}, not ed25519`));
  return ok(publicFromObject(keyObject));
}

/**
 * The PEM (SPKI) text of a public key.
 *
 * @example
 * ```ts
 * await writeFile("lifeboat.pub", exportPublicKeyPem(key.publicKey));
 * ```
 */
export function exportPublicKeyPem(key: PublicKey): string {
  return key.keyObject.export({ type: "spki", format: "pem" }).toString();
}

/**
 * The PEM (PKCS#8, unencrypted) text of a private key. Keep it secret.
 *
 * @example
 * ```ts
 * const pem = exportPrivateKeyPem(generateKeyPair());
 * ```
 */
export function exportPrivateKeyPem(key: PrivateKey): string {
  return key.keyObject.export({ type: "pkcs8", format: "pem" }).toString();
}

/**
 * Write a private key as PEM, atomically, readable by its owner only (0600).
 *
 * @example
 * ```ts
 * await savePrivateKey("/secure/lifeboat.key", generateKeyPair());
 * ```
 */
export function savePrivateKey(path: string, key: PrivateKey): ResultAsync<void, IoFailedError> {
  return writeFileAtomic(path, exportPrivateKeyPem(key), { mode: 0o600 });
}
