// Keys, signatures and the manifest schema: pure and fast, error shapes pinned.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import {
  encodeManifest,
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  type Manifest,
  parseManifest,
  signManifest,
  verifyImageSet,
  verifyManifestSignature,
} from "../src/index.js";
import { SIGNATURE_BYTES } from "../src/signature.js";

const manifest: Manifest = {
  formatVersion: 1,
  product: "p",
  version: "1",
  buildDate: "2026-01-01T00:00:00.000Z",
  minimumPartitionBytes: 0,
  layout: { gpt: { partitions: [] }, subvolumes: [] },
  files: [{ path: "a.conf", kind: "file", size: 3, sha256: "ab".repeat(32) }],
};

test("keys round-trip through PEM; the key id is the SPKI hash and survives the round trip", () => {
  const k = generateKeyPair();
  const priv = loadPrivateKey(exportPrivateKeyPem(k))._unsafeUnwrap();
  const pub = loadPublicKey(exportPublicKeyPem(k.publicKey))._unsafeUnwrap();
  expect(priv.keyId).toBe(k.keyId);
  expect(pub.keyId).toBe(k.keyId);
  expect(k.keyId).toMatch(/^[0-9a-f]{32}$/);
  expect(exportPublicKeyPem(pub)).toContain("BEGIN PUBLIC KEY");
  expect(loadPublicKey(exportPrivateKeyPem(k))._unsafeUnwrapErr().code).toBe("IMAGE_KEY_INVALID");
  expect(loadPrivateKey("junk")._unsafeUnwrapErr().code).toBe("IMAGE_KEY_INVALID");
});

test("signatures: 88 bytes, bound to the manifest, the key id names the signer", () => {
  const k = generateKeyPair();
  const other = generateKeyPair();
  const bytes = encodeManifest(manifest)._unsafeUnwrap();
  const sig = signManifest(bytes, k);
  expect(sig.length).toBe(SIGNATURE_BYTES);
  expect(
    verifyManifestSignature(bytes, sig, [other.publicKey, k.publicKey])._unsafeUnwrap().keyId,
  ).toBe(k.keyId);
  const changed = Buffer.from(bytes);
  changed[5] = changed[5]! ^ 1;
  const bad = verifyManifestSignature(changed, sig, [k.publicKey])._unsafeUnwrapErr();
  expect(bad.code === "IMAGE_BAD_SIGNATURE" && bad.keyId).toBe(k.keyId);
  expect({ ...bad, keyId: "<key id>" }).toMatchInlineSnapshot(`
    {
      "code": "IMAGE_BAD_SIGNATURE",
      "keyId": "<key id>",
      "message": "The signature manifest.json.sig does not match the manifest: it was changed after signing.",
      "reason": "mismatch",
      "signaturePath": "manifest.json.sig",
    }
  `);
  expect(verifyManifestSignature(bytes, sig, [other.publicKey])._unsafeUnwrapErr()).toMatchObject({
    code: "IMAGE_UNTRUSTED_KEY",
    keyId: k.keyId,
    trustedKeyIds: [other.keyId],
  });
  expect(
    verifyManifestSignature(bytes, sig.subarray(1), [k.publicKey])._unsafeUnwrapErr(),
  ).toMatchObject({
    code: "IMAGE_BAD_SIGNATURE",
    reason: "malformed",
  });
});

test("the schema refuses paths that leave the set, duplicates and unknown fields", () => {
  for (const p of ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "./a", "manifest.json"]) {
    const m = { ...manifest, files: [{ ...manifest.files[0]!, path: p }] };
    const r = parseManifest(encodeManifest(m as Manifest)._unsafeUnwrap());
    expect([p, r.isErr() && r.error.code]).toEqual([p, "IMAGE_MANIFEST_INVALID"]);
  }
  const dup = { ...manifest, files: [manifest.files[0]!, manifest.files[0]!] };
  expect(
    parseManifest(encodeManifest(dup)._unsafeUnwrap())._unsafeUnwrapErr().issues.join(),
  ).toContain("used twice");
  const extra = new TextEncoder().encode(JSON.stringify({ ...manifest, surprise: 1 }));
  expect(parseManifest(extra).isErr()).toBe(true);
  expect(parseManifest(new Uint8Array([0xff, 0xfe]))._unsafeUnwrapErr().code).toBe(
    "IMAGE_MANIFEST_INVALID",
  );
  expect(parseManifest(encodeManifest(manifest)._unsafeUnwrap())._unsafeUnwrap()).toEqual(manifest);
});

test("a validly signed manifest naming ../ is refused before any file is opened", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-image-traversal-"));
  try {
    const k = generateKeyPair();
    // Hand-made JSON: the schema would never let encodeManifest's caller build this.
    const evil = new TextEncoder().encode(
      JSON.stringify({ ...manifest, files: [{ ...manifest.files[0]!, path: "../../etc/passwd" }] }),
    );
    await writeFile(path.join(dir, "manifest.json"), evil);
    await writeFile(path.join(dir, "manifest.json.sig"), signManifest(evil, k));
    const v = await verifyImageSet(dir, { trustedKeys: [k.publicKey] });
    expect(v._unsafeUnwrapErr().code).toBe("IMAGE_MANIFEST_INVALID");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
