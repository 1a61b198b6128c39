// Before any content is read: every file is there and regular, each tree's
// superblock is the one this manifest describes, and every size matches.
import { lstat, open } from "node:fs/promises";
import { joinInside } from "@lifeboat/core";
import type { ImageError } from "../errors.js";
import type { Manifest, ManifestFile } from "../manifest.js";
import { hashMismatch } from "./verify-merkle.js";
import { BLOCK, encodeSuperblock, SUPERBLOCK_UUID_RANGE, verityGeometry } from "./verity-layout.js";

export interface FilePaths {
  readonly data: string;
  readonly tree: string | undefined;
}

async function regularSize(file: string): Promise<number | undefined> {
  try {
    const st = await lstat(file);
    return st.isFile() ? st.size : undefined;
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
}

async function checkSuperblock(f: ManifestFile, treePath: string): Promise<ImageError | undefined> {
  const m = f.merkle!;
  const want = encodeSuperblock({
    uuid: m.uuid,
    dataBlocks: m.dataBlocks,
    salt: Buffer.from(m.salt, "hex"),
  });
  const got = Buffer.alloc(BLOCK);
  const h = await open(treePath, "r");
  let n: number;
  try {
    n = (await h.read(got, 0, BLOCK, m.hashOffset)).bytesRead;
  } finally {
    await h.close();
  }
  const [u0, u1] = SUPERBLOCK_UUID_RANGE;
  if (n >= u1 && !got.subarray(u0, u1).equals(want.subarray(u0, u1))) {
    const hex = (b: Buffer) => b.subarray(u0, u1).toString("hex");
    return {
      code: "IMAGE_MANIFEST_MISMATCH",
      message: `The hash tree ${m.hashTreeFile} belongs to another build (superblock uuid ${hex(got)}, the manifest names ${hex(want)}).`,
      file: m.hashTreeFile,
      field: "merkle.uuid",
      expected: hex(want),
      actual: hex(got),
    };
  }
  if (!got.subarray(0, n).equals(want.subarray(0, n))) {
    const block = m.hashOffset / BLOCK;
    let d = 0;
    while (got[d] === want[d]) d++;
    // expected/actual: the 16 bytes from the first differing byte, prefixed with its offset.
    const window = (b: Buffer) => `@${d}:${b.subarray(d, Math.min(d + 16, n)).toString("hex")}`;
    return hashMismatch(
      m.hashTreeFile,
      "superblock",
      block,
      block,
      window(want),
      window(got),
      `The verity superblock (byte ${d})`,
    );
  }
  return undefined;
}

export async function checkStructure(
  dir: string,
  manifest: Manifest,
  onSizes: () => void,
): Promise<Map<string, FilePaths> | ImageError> {
  const paths = new Map<string, FilePaths>();
  const sizes: Array<{ file: string; abs: string; expected: number }> = [];
  for (const f of manifest.files) {
    const data = joinInside(dir, f.path);
    if (data.isErr()) return data.error;
    if ((await regularSize(data.value)) === undefined)
      return {
        code: "IMAGE_FILE_MISSING",
        message: `The image set lacks ${f.path}.`,
        file: f.path,
      };
    sizes.push({ file: f.path, abs: data.value, expected: f.size });
    let tree: string | undefined;
    if (f.merkle) {
      const t = joinInside(dir, f.merkle.hashTreeFile);
      if (t.isErr()) return t.error;
      tree = t.value;
      if ((await regularSize(tree)) === undefined) {
        return {
          code: "IMAGE_FILE_MISSING",
          message: `The image set lacks the hash tree ${f.merkle.hashTreeFile}.`,
          file: f.merkle.hashTreeFile,
        };
      }
      const g = verityGeometry(f.merkle.dataBlocks, f.merkle.superblock);
      if (g.treeBytes !== f.merkle.hashTreeSize) {
        return {
          code: "IMAGE_MANIFEST_INVALID",
          message: `The manifest gives ${f.path} a tree of ${f.merkle.hashTreeSize} bytes; its geometry needs ${g.treeBytes}.`,
          manifestPath: "manifest.json",
          issues: [`${f.path}: merkle.hashTreeSize`],
        };
      }
      if (f.merkle.superblock) {
        const bad = await checkSuperblock(f, tree);
        if (bad) return bad;
      }
      sizes.push({
        file: f.merkle.hashTreeFile,
        abs: tree,
        expected: f.merkle.hashOffset + f.merkle.hashTreeSize,
      });
    }
    paths.set(f.path, { data: data.value, tree });
  }
  onSizes();
  for (const s of sizes) {
    const actual = (await regularSize(s.abs)) ?? 0;
    if (actual !== s.expected) {
      return {
        code: "IMAGE_SIZE_MISMATCH",
        message: `${s.file} is ${actual} bytes; the manifest says ${s.expected} (${actual < s.expected ? "truncated" : "bytes appended"}).`,
        file: s.file,
        expectedBytes: s.expected,
        actualBytes: actual,
      };
    }
  }
  return paths;
}
