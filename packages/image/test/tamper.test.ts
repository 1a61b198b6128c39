// Tamper tests on a real image set: a squashfs (zstd -1) of /usr/bin (~140 MiB), the
// machine's kernel and initramfs, and a BLS entry. Every case runs the public
// verifyImageSet; a flip must be rejected with the code its location implies.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { copyFile, open, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { requireTools } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createHashTree,
  generateKeyPair,
  type ImageError,
  type Manifest,
  type PrivateKey,
  signImageSet,
  type VerifyProgress,
  verifyImageSet,
} from "../src/index.js";
import { buildFixtureSet } from "./fixtures/build-set.js";

requireTools("mksquashfs", "veritysetup");
const work = mkdtempSync("/dev/shm/lifeboat-image-tamper-");
const setA = path.join(work, "a");
const setB = path.join(work, "b");
const setC = path.join(work, "c");
let key: PrivateKey;
let manifest: Manifest;

beforeAll(async () => {
  key = generateKeyPair();
  const fixture = {
    sourceDir: "/usr/bin",
    key,
    boot: true,
    compression: "zstd",
    compressionLevel: 1,
  } as const;
  const a = await buildFixtureSet({ dir: setA, ...fixture });
  manifest = a.manifest;
  await buildFixtureSet({ dir: setB, ...fixture });
  // Another build: other input, other version, same file names, same key.
  await buildFixtureSet({ dir: setC, sourceDir: "/usr/include", key, version: "2.0" });
});
afterAll(() => rm(work, { recursive: true, force: true }));

const verify = (dir = setA, extra: Partial<Parameters<typeof verifyImageSet>[1]> = {}) =>
  verifyImageSet(dir, { trustedKeys: [key.publicKey], ...extra });

function allFiles(m: Manifest): string[] {
  const names = ["manifest.json", "manifest.json.sig"];
  for (const f of m.files) {
    names.push(f.path);
    if (f.merkle) names.push(f.merkle.hashTreeFile);
  }
  return names;
}

test("the set is a few hundred MiB of real files", async () => {
  const sizes = await Promise.all(allFiles(manifest).map((f) => stat(path.join(setA, f))));
  const total = sizes.reduce((n, s) => n + s.size, 0);
  expect(total).toBeGreaterThan(150 * 1024 * 1024);
  expect(manifest.files.map((f) => f.kind)).toEqual([
    "squashfs",
    "kernel",
    "initramfs",
    "bls-entry",
  ]);
});

test("two builds of the same input are byte-identical (image, trees, manifest, signature)", () => {
  for (const f of allFiles(manifest)) {
    const a = readFileSync(path.join(setA, f));
    const b = readFileSync(path.join(setB, f));
    expect(a.equals(b), f).toBe(true);
  }
});

describe("veritysetup accepts the trees", () => {
  test("with the superblock: veritysetup verify <image> <tree> <root>", () => {
    const f = manifest.files[0]!;
    const out = execFileSync("veritysetup", [
      "verify",
      "--debug",
      path.join(setA, f.path),
      path.join(setA, f.merkle!.hashTreeFile),
      f.merkle!.rootHash,
    ]).toString();
    expect(out).toContain("Verification of root hash");
    // And it does say no when the root is wrong, so the check above can fail.
    const wrong = `${f.merkle!.rootHash.slice(0, 63)}${f.merkle!.rootHash.endsWith("0") ? "1" : "0"}`;
    expect(() =>
      execFileSync(
        "veritysetup",
        ["verify", path.join(setA, f.path), path.join(setA, f.merkle!.hashTreeFile), wrong],
        { stdio: "ignore" },
      ),
    ).toThrow();
  });

  test("without a superblock: the exact options", async () => {
    const f = manifest.files[0]!;
    const tree = path.join(work, "nosb.verity");
    const t = await createHashTree(path.join(setA, f.path), tree, {
      salt: Buffer.from(f.merkle!.salt, "hex"),
      superblock: false,
    });
    const r = t._unsafeUnwrap();
    expect(r.rootHash).toBe(f.merkle!.rootHash);
    execFileSync("veritysetup", [
      "verify",
      "--no-superblock",
      "--format=1",
      "--hash=sha256",
      "--data-block-size=4096",
      "--hash-block-size=4096",
      `--data-blocks=${r.dataBlocks}`,
      `--salt=${r.salt}`,
      path.join(setA, f.path),
      tree,
      r.rootHash,
    ]);
  });
});

test("an intact set passes full and sample verification, with ordered progress", async () => {
  const events: VerifyProgress[] = [];
  const v = await verify(setA, { onProgress: (e) => events.push(e) });
  if (v.isErr()) throw new Error(v.error.message);
  expect(v.value.mode).toBe("full");
  expect(v.value.keyId).toBe(key.keyId);
  const phases = [...new Set(events.map((e) => e.phase))];
  expect(phases).toEqual(["signature", "structure", "sizes", "content", "done"]);
  const total = manifest.files.reduce((n, f) => n + f.size, 0);
  expect(events.at(-1)).toEqual({ phase: "done", bytesVerified: total });
  const s = await verify(setA, { mode: { sample: 0.02, seed: 7 } });
  expect(s.isOk() && s.value.mode).toBe("sample");
});

test("an aborted verification returns ABORTED", async () => {
  const ac = new AbortController();
  const v = await verify(setA, {
    signal: ac.signal,
    onProgress: (e) => {
      if (e.phase === "content") ac.abort();
    },
  });
  expect(v.isErr() && v.error.code).toBe("ABORTED");
});

/** Where a byte is, and the error that a flip there must produce. */
interface Expectation {
  readonly code: ImageError["code"];
  readonly file?: string;
  readonly region?: string;
  readonly block?: number;
}

function expectationFor(file: string, offset: number): Expectation {
  if (file === "manifest.json") return { code: "IMAGE_BAD_SIGNATURE" };
  if (file === "manifest.json.sig")
    return { code: offset >= 8 && offset < 24 ? "IMAGE_UNTRUSTED_KEY" : "IMAGE_BAD_SIGNATURE" };
  const data = manifest.files.find((f) => f.path === file);
  if (data) {
    return data.merkle
      ? { code: "IMAGE_HASH_MISMATCH", file, region: "data", block: Math.floor(offset / 4096) }
      : { code: "IMAGE_HASH_MISMATCH", file, region: "whole-file", block: 0 };
  }
  if (offset >= 16 && offset < 32) return { code: "IMAGE_MANIFEST_MISMATCH", file };
  if (offset < 4096) return { code: "IMAGE_HASH_MISMATCH", file, region: "superblock", block: 0 };
  return {
    code: "IMAGE_HASH_MISMATCH",
    file,
    region: "hash-tree",
    block: Math.floor(offset / 4096),
  };
}

function check(e: ImageError, want: Expectation): string | undefined {
  if (e.code !== want.code) return `got ${e.code} (${e.message})`;
  if (e.code === "IMAGE_HASH_MISMATCH") {
    if (e.file !== want.file || e.region !== want.region || e.firstBlock !== want.block)
      return `got ${e.file} ${e.region} block ${e.firstBlock}`;
    if (e.expected === e.actual) return "expected equals actual";
  }
  if (e.code === "IMAGE_MANIFEST_MISMATCH" && e.file !== want.file) return `got file ${e.file}`;
  return undefined;
}

test("1,000 random single-byte flips anywhere in the set are all rejected with the right code; no false alarms", async () => {
  const rnd = (n: number) => randomBytes(4).readUInt32LE() % n;
  const payload = manifest.files
    .filter((f) => f.merkle)
    .map((f) => ({ file: f.path, size: f.size }));
  const trees = manifest.files.flatMap((f) =>
    f.merkle ? [{ file: f.merkle.hashTreeFile, size: f.merkle.hashTreeSize }] : [],
  );
  const bls = manifest.files.find((f) => !f.merkle)!;
  const manifestSize = (await stat(path.join(setA, "manifest.json"))).size;
  const pickBySize = (xs: { file: string; size: number }[]) => {
    let x = rnd(xs.reduce((n, f) => n + f.size, 0));
    for (const f of xs) {
      if (x < f.size) return { file: f.file, offset: x };
      x -= f.size;
    }
    throw new Error("unreachable");
  };
  const cases: Array<{ file: string; offset: number }> = [];
  // Flips in payload data cost a verification up to the flipped block (half the set on
  // average); manifest and signature flips are cheap. The mix keeps 1,000 cases affordable.
  for (let i = 0; i < 240; i++) cases.push(pickBySize(payload)); // payload, by size
  for (let i = 0; i < 10; i++) cases.push({ file: bls.path, offset: rnd(bls.size) });
  for (let i = 0; i < 150; i++) {
    const t = trees[i % trees.length]!;
    // A third each: superblock (uuid included), anywhere in the tree, first hash blocks.
    // (Every sixth flip lands in the superblock's uuid: IMAGE_MANIFEST_MISMATCH.)
    const offset =
      i % 3 === 0
        ? i % 6 === 0
          ? 16 + rnd(16)
          : rnd(4096)
        : i % 3 === 1
          ? rnd(t.size)
          : 4096 + rnd(Math.min(t.size - 4096, 65536));
    cases.push({ file: t.file, offset });
  }
  for (let i = 0; i < 450; i++) cases.push({ file: "manifest.json", offset: rnd(manifestSize) });
  for (let i = 0; i < 150; i++) cases.push({ file: "manifest.json.sig", offset: rnd(88) });
  expect(cases).toHaveLength(1000);

  const failures: string[] = [];
  const codes = new Map<string, number>();
  let intactChecks = 0;
  for (const [i, c] of cases.entries()) {
    const h = await open(path.join(setA, c.file), "r+");
    const orig = Buffer.alloc(1);
    await h.read(orig, 0, 1, c.offset);
    const flipped = Buffer.from([orig[0]! ^ (1 + rnd(255))]);
    await h.write(flipped, 0, 1, c.offset);
    try {
      const v = await verify();
      const want = expectationFor(c.file, c.offset);
      if (v.isOk()) failures.push(`${c.file}@${c.offset}: accepted`);
      else {
        codes.set(v.error.code, (codes.get(v.error.code) ?? 0) + 1);
        const bad = check(v.error, want);
        if (bad) failures.push(`${c.file}@${c.offset}: want ${want.code}, ${bad}`);
      }
    } finally {
      await h.write(orig, 0, 1, c.offset);
      await h.close();
    }
    if (i % 100 === 99) {
      // The restored set passes again: no false alarms.
      const ok = await verify();
      if (ok.isErr()) failures.push(`false alarm after case ${i}: ${ok.error.message}`);
      intactChecks++;
    }
  }
  console.log(
    "tamper cases by code:",
    Object.fromEntries(codes),
    "intact re-checks:",
    intactChecks,
  );
  expect(failures).toEqual([]);
  expect(intactChecks).toBe(10);
}, 600_000);

describe("truncation, appended bytes, swapped manifest, untrusted key", () => {
  test("every file truncated by one byte or with one byte appended is rejected", async () => {
    for (const f of allFiles(manifest)) {
      const p = path.join(setA, f);
      const backup = path.join(work, "backup");
      await copyFile(p, backup);
      const size = (await stat(p)).size;
      try {
        await truncate(p, size - 1);
        const t = await verify();
        await copyFile(backup, p);
        await writeFile(p, Buffer.from([0]), { flag: "a" });
        const a = await verify();
        const want =
          f === "manifest.json" || f === "manifest.json.sig"
            ? "IMAGE_BAD_SIGNATURE"
            : "IMAGE_SIZE_MISMATCH";
        expect([f, t.isErr() && t.error.code]).toEqual([f, want]);
        expect([f, a.isErr() && a.error.code]).toEqual([f, want]);
        if (t.isErr() && t.error.code === "IMAGE_SIZE_MISMATCH") {
          expect(t.error).toMatchObject({ file: f, expectedBytes: size, actualBytes: size - 1 });
        }
      } finally {
        await copyFile(backup, p);
      }
    }
    expect((await verify()).isOk()).toBe(true);
  });

  test("a manifest (with its valid signature) from another build is refused", async () => {
    const dir = path.join(work, "swapped");
    execFileSync("cp", ["-a", setA, dir]);
    for (const f of ["manifest.json", "manifest.json.sig"])
      await copyFile(path.join(setC, f), path.join(dir, f));
    const v = await verify(dir);
    expect(v.isErr() && v.error).toMatchObject({
      code: "IMAGE_MANIFEST_MISMATCH",
      file: "root.squashfs.verity",
      field: "merkle.uuid",
    });
    // And the other way round: build C's files under build A's manifest.
    await rm(dir, { recursive: true });
    execFileSync("cp", ["-a", setC, dir]);
    for (const f of ["manifest.json", "manifest.json.sig"])
      await copyFile(path.join(setA, f), path.join(dir, f));
    const w = await verify(dir);
    expect(w.isErr() && w.error.code).toMatch(/IMAGE_MANIFEST_MISMATCH|IMAGE_FILE_MISSING/);
    await rm(dir, { recursive: true });
  });

  test("a set signed by an untrusted key is refused; trusting both keys (rotation) accepts it", async () => {
    const dir = path.join(work, "rotated");
    execFileSync("cp", ["-a", setA, dir]);
    const other = generateKeyPair();
    (await signImageSet(dir, other))._unsafeUnwrap();
    const v = await verify(dir);
    expect(v.isErr() && v.error).toMatchObject({
      code: "IMAGE_UNTRUSTED_KEY",
      keyId: other.keyId,
      trustedKeyIds: [key.keyId],
    });
    const both = await verifyImageSet(dir, { trustedKeys: [key.publicKey, other.publicKey] });
    expect(both.isOk() && both.value.keyId).toBe(other.keyId);
    await rm(dir, { recursive: true });
  });

  test("a missing signature or payload file is named", async () => {
    const dir = path.join(work, "missing");
    execFileSync("cp", ["-a", setA, dir]);
    await rm(path.join(dir, "boot/vmlinuz"));
    const v = await verify(dir);
    expect(v.isErr() && v.error).toMatchObject({
      code: "IMAGE_FILE_MISSING",
      file: "boot/vmlinuz",
    });
    await rm(path.join(dir, "manifest.json.sig"));
    const s = await verify(dir);
    expect(s.isErr() && s.error).toMatchObject({ code: "IMAGE_BAD_SIGNATURE", reason: "missing" });
    await rm(dir, { recursive: true });
  });
});

test("the shape of a content error is stable", async () => {
  const p = path.join(setA, "boot/vmlinuz");
  const h = await open(p, "r+");
  const orig = Buffer.alloc(1);
  await h.read(orig, 0, 1, 5 * 4096 + 17);
  await h.write(Buffer.from([orig[0]! ^ 0xff]), 0, 1, 5 * 4096 + 17);
  try {
    const v = await verify();
    const e = v._unsafeUnwrapErr();
    expect({ ...e, expected: "<hex>", actual: "<hex>" }).toMatchInlineSnapshot(`
      {
        "actual": "<hex>",
        "byteLength": 4096,
        "byteOffset": 20480,
        "code": "IMAGE_HASH_MISMATCH",
        "expected": "<hex>",
        "file": "boot/vmlinuz",
        "firstBlock": 5,
        "lastBlock": 5,
        "message": "Data block 5 of boot/vmlinuz does not match the manifest (blocks 5-5, bytes 20480-24575): the file is corrupted or was changed.",
        "region": "data",
      }
    `);
  } finally {
    await h.write(orig, 0, 1, 5 * 4096 + 17);
    await h.close();
  }
  const raw = await readFile(p);
  expect(raw.length).toBe(manifest.files[1]!.size);
});
