/**
 * Update-size experiment on real data no one here wrote: two successive
 * releases of a software tree, each packed as a whole image. For each way of
 * building the image, the bytes a machine holding v1 must download to get v2:
 *
 * - full compressed image: v2 as tar + zstd -19, downloaded whole;
 * - casync on the compressed image: real `casync make` of each .tar.zst, the
 *   new chunks' .cacnk files plus the v2 index;
 * - Lifeboat, chunking the uncompressed content (a reproducible tar, an
 *   uncompressed EROFS or squashfs image) and compressing chunks one by one,
 *   at casync's 64 KiB average and at a 16 KiB average;
 * and then a real `extractImage` of the best one with v1 as the seed, which
 *   must rebuild v2 byte for byte and download what the estimate said.
 *
 *   pnpm exec tsx bench/casync-update-size.ts typescript   # npm pack typescript@5.8.3 / 5.9.2
 *   pnpm exec tsx bench/casync-update-size.ts linux        # apt-get download linux-image 6.1.0-47 / -50
 *   pnpm exec tsx bench/casync-update-size.ts dirs V1_DIR V2_DIR [--formats tar,erofs,squashfs] [--level 19]
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CasyncIndex,
  type ChunkSizes,
  chunkPath,
  estimateUpdate,
  extractImage,
  makeIndex,
  parseIndex,
} from "../packages/casync/src/index.js";

export interface UpdateRow {
  readonly method: string;
  /** Size of the v2 image as built by this method (uncompressed for chunked methods). */
  readonly imageBytes: number;
  /** Bytes a machine with v1 downloads to get v2. */
  readonly downloadBytes: number;
}

const run = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, {
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 1 << 26,
    ...(cwd ? { cwd } : {}),
  });
const size = (p: string) => statSync(p).size;

function buildTar(dir: string, out: string): void {
  run("tar", [
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--format=gnu",
    "-C",
    dir,
    "-cf",
    out,
    ".",
  ]);
}

function buildErofs(dir: string, out: string): void {
  run("mkfs.erofs", [
    "--quiet",
    "-T0",
    "--all-root",
    "-U",
    "00000000-0000-0000-0000-000000000001",
    out,
    dir,
  ]);
}

function buildSquashfs(dir: string, out: string): void {
  run("mksquashfs", [
    dir,
    out,
    "-noI",
    "-noD",
    "-noF",
    "-noX",
    "-all-root",
    "-mkfs-time",
    "0",
    "-all-time",
    "0",
    "-no-progress",
    "-quiet",
  ]);
}

function storeBytes(store: string, ids: Iterable<string>): number {
  let total = 0;
  for (const id of ids) total += size(path.join(store, chunkPath(id)));
  return total;
}

async function chunked(
  v1Image: string,
  v2Image: string,
  work: string,
  name: string,
  chunkSizes?: ChunkSizes,
): Promise<{ row: UpdateRow; v2: CasyncIndex; store: string; indexBytes: number }> {
  const store = path.join(work, `${name}.castr`);
  const opts = chunkSizes === undefined ? {} : { chunkSizes };
  const i1 = (await makeIndex(v1Image, opts))._unsafeUnwrap().index;
  const made = (await makeIndex(v2Image, { ...opts, store }))._unsafeUnwrap();
  const missing = estimateUpdate(made.index, [i1]).missing.map((c) => c.id);
  const downloadBytes = storeBytes(store, missing) + made.indexBytes.length;
  return {
    row: { method: name, imageBytes: size(v2Image), downloadBytes },
    v2: made.index,
    store,
    indexBytes: made.indexBytes.length,
  };
}

function casyncOnCompressed(v1: string, v2: string, work: string): UpdateRow {
  const store = path.join(work, "casync-zst.castr");
  run("casync", ["make", `--store=${store}`, path.join(work, "v1.zst.caibx"), v1]);
  run("casync", ["make", `--store=${store}`, path.join(work, "v2.zst.caibx"), v2]);
  const i1 = parseIndex(readFileSync(path.join(work, "v1.zst.caibx")))._unsafeUnwrap();
  const i2 = parseIndex(readFileSync(path.join(work, "v2.zst.caibx")))._unsafeUnwrap();
  const missing = estimateUpdate(i2, [i1]).missing.map((c) => c.id);
  return {
    method: "casync make on the tar.zst (64 KiB avg)",
    imageBytes: size(v2),
    downloadBytes: storeBytes(store, missing) + size(path.join(work, "v2.zst.caibx")),
  };
}

/** Run the experiment on two unpacked trees; returns the rows and the measured extraction. */
export async function updateSizes(
  v1Dir: string,
  v2Dir: string,
  work: string,
  options: { zstdLevel?: number; formats?: readonly ("tar" | "erofs" | "squashfs")[] } = {},
): Promise<{
  rows: UpdateRow[];
  full: number;
  extracted: { method: string; downloaded: number; fromSeeds: number; identical: boolean };
}> {
  const level = options.zstdLevel ?? 19;
  const formats = options.formats ?? ["tar", "erofs", "squashfs"];
  for (const v of ["v1", "v2"] as const) {
    buildTar(v === "v1" ? v1Dir : v2Dir, path.join(work, `${v}.tar`));
    run("zstd", [
      `-${level}`,
      "-T0",
      "-q",
      "-f",
      path.join(work, `${v}.tar`),
      "-o",
      path.join(work, `${v}.tar.zst`),
    ]);
  }
  const full = size(path.join(work, "v2.tar.zst"));
  const rows: UpdateRow[] = [
    { method: `full image: tar + zstd -${level}`, imageBytes: full, downloadBytes: full },
    casyncOnCompressed(path.join(work, "v1.tar.zst"), path.join(work, "v2.tar.zst"), work),
  ];
  const candidates: Array<Awaited<ReturnType<typeof chunked>> & { v1: string; v2Path: string }> =
    [];
  const small: ChunkSizes = { min: 4096, avg: 16384, max: 65536 };
  for (const format of formats) {
    const [v1, v2] = ["v1", "v2"].map((v) => path.join(work, `${v}.${format}`)) as [string, string];
    if (format === "erofs") {
      buildErofs(v1Dir, v1);
      buildErofs(v2Dir, v2);
    } else if (format === "squashfs") {
      buildSquashfs(v1Dir, v1);
      buildSquashfs(v2Dir, v2);
    }
    for (const [label, sizes] of [
      ["64 KiB avg", undefined],
      ["16 KiB avg", small],
    ] as const) {
      const c = await chunked(
        v1,
        v2,
        work,
        `Lifeboat: uncompressed ${format}, chunks zstd-3 (${label})`,
        sizes,
      );
      rows.push(c.row);
      candidates.push({ ...c, v1, v2Path: v2 });
    }
  }
  const best = candidates.reduce((a, b) => (b.row.downloadBytes < a.row.downloadBytes ? b : a));
  const out = path.join(work, "extracted.img");
  const r = (
    await extractImage(best.v2, out, { stores: [best.store], seeds: [best.v1] })
  )._unsafeUnwrap();
  const identical = readFileSync(out).equals(readFileSync(best.v2Path));
  return {
    rows,
    full,
    extracted: {
      method: best.row.method,
      downloaded: r.bytesDownloaded + best.indexBytes,
      fromSeeds: r.bytesFromSeeds,
      identical,
    },
  };
}

function prepare(kind: string, work: string, args: string[]): [string, string, string] {
  const dl = path.join(work, "download");
  mkdirSync(dl, { recursive: true });
  if (kind === "typescript") {
    run("npm", ["pack", "typescript@5.8.3", "typescript@5.9.2"], dl);
    for (const v of ["5.8.3", "5.9.2"]) {
      mkdirSync(path.join(dl, v));
      run("tar", ["-xzf", path.join(dl, `typescript-${v}.tgz`), "-C", path.join(dl, v)]);
    }
    return [path.join(dl, "5.8.3"), path.join(dl, "5.9.2"), "npm typescript 5.8.3 -> 5.9.2"];
  }
  if (kind === "linux") {
    run("apt-get", ["download", "linux-image-6.1.0-47-amd64", "linux-image-6.1.0-50-amd64"], dl);
    const debs = readdirSync(dl)
      .filter((f) => f.endsWith(".deb"))
      .sort();
    const dirs = debs.map((deb) => {
      const dir = path.join(dl, deb.replace(/\.deb$/, ""));
      run("dpkg-deb", ["-x", path.join(dl, deb), dir]);
      return dir;
    });
    return [dirs[0] as string, dirs[1] as string, `Debian ${debs.join(" -> ")}`];
  }
  return [args[0] as string, args[1] as string, `${args[0]} -> ${args[1]}`];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const fi = argv.indexOf("--formats");
  const formats = (fi >= 0 ? argv.splice(fi, 2)[1]?.split(",") : undefined) as
    | ("tar" | "erofs" | "squashfs")[]
    | undefined;
  const li = argv.indexOf("--level");
  const levelArg = li >= 0 ? Number(argv.splice(li, 2)[1]) : undefined;
  const [kind = "typescript", ...rest] = argv;
  const work = mkdtempSync(path.join(tmpdir(), "lifeboat-casync-update-"));
  try {
    const [v1, v2, label] = prepare(kind, work, rest);
    const level = levelArg ?? (kind === "linux" ? 12 : 19);
    const { rows, full, extracted } = await updateSizes(v1, v2, work, {
      zstdLevel: level,
      ...(formats === undefined ? {} : { formats }),
    });
    const mb = (n: number) => (n / 1e6).toFixed(2);
    console.log(`### ${label}\n`);
    console.log(
      "| method | v2 image (MB) | download for v1 -> v2 (MB) | % of full compressed image |",
    );
    console.log("|---|---|---|---|");
    for (const r of rows) {
      console.log(
        `| ${r.method} | ${mb(r.imageBytes)} | ${mb(r.downloadBytes)} | ${((100 * r.downloadBytes) / full).toFixed(1)}% |`,
      );
    }
    console.log(
      `\nReal extractImage of the best (${extracted.method}) with v1 as seed: downloaded ${mb(extracted.downloaded)} MB (index included), ${mb(extracted.fromSeeds)} MB from the seed, output ${extracted.identical ? "byte-identical to" : "DIFFERENT from"} v2.`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
