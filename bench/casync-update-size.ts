/**
 * Update-size experiment on real data no one here wrote: two successive
 * releases of a software tree, each packed as a whole image. For each way of
 * building the image, the bytes a machine holding v1 must download to get v2:
 *
 * - full compressed image: v2 as tar + `xz -9` and as tar + `zstd -19 --long=27`;
 *   the smaller one is the reference (100%);
 * - casync on that compressed image: real `casync make` of v1's and v2's
 *   compressed tar, the new chunks' .cacnk files plus the v2 index;
 * - Lifeboat: chunk the uncompressed content (a reproducible tar, or an
 *   uncompressed EROFS / squashfs image) at several average chunk sizes
 *   (casync's rule min = avg/4, max = 4·avg) and compress the chunks one by one
 *   at zstd level 3 (casync's default) and 19. Download = the compressed chunks
 *   v1 does not have + the v2 index;
 * - the overlap of the two trees (`treeOverlap`): identical bytes, and the sum
 *   of per-file `zstd -19 --patch-from` deltas as a yardstick;
 * then the best Lifeboat method is run for real: `makeIndex` into a store,
 * `extractImage` with v1 as the seed (must rebuild v2 byte for byte and
 * download exactly the estimate), and real `casync extract --seed` of the same
 * index and store (must rebuild v2 byte for byte too).
 *
 *   pnpm exec tsx bench/casync-update-size.ts typescript     # npm typescript 5.8.3 -> 5.9.2
 *   pnpm exec tsx bench/casync-update-size.ts typescript-patch  # npm typescript 5.9.2 -> 5.9.3
 *   pnpm exec tsx bench/casync-update-size.ts mui            # npm @mui/icons-material 7.3.10 -> 7.3.11
 *   pnpm exec tsx bench/casync-update-size.ts linux          # Debian linux-image 6.1.0-47 -> 6.1.0-50
 *   pnpm exec tsx bench/casync-update-size.ts dirs V1_DIR V2_DIR
 *   options: --formats tar,erofs,squashfs  --avg 65536,16384,4096  --levels 3,19  --no-patch-from
 *            --full xz,zstd (or "none": only the distributor's own file, linux)  --sample N  --publish-level L
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compressChunk } from "../packages/casync/src/_internal/compression.js";
import {
  type ChunkSizes,
  estimateUpdate,
  extractImage,
  type IndexChunk,
  makeIndex,
  parseIndex,
} from "../packages/casync/src/index.js";
import { type TreeOverlap, treeOverlap } from "./casync-update-overlap.js";

export type ImageFormat = "tar" | "erofs" | "squashfs";

export interface UpdateRow {
  readonly method: string;
  /** Size of the v2 image as built by this method (uncompressed for chunked methods). */
  readonly imageBytes: number;
  /** Bytes a machine with v1 downloads to get v2 (index included for chunked methods). */
  readonly downloadBytes: number;
  /** For chunked methods: uncompressed bytes of v2 found in v1's chunks, and the index size. */
  readonly reusedBytes?: number;
  readonly indexBytes?: number;
  readonly chunks?: number;
}

export interface UpdateOptions {
  readonly formats?: readonly ImageFormat[];
  /** Average chunk sizes to try (min = avg/4, max = 4·avg). Default 64, 16, 4 KiB. */
  readonly averages?: readonly number[];
  /** zstd levels for chunks. Default 3 and 19. */
  readonly levels?: readonly number[];
  /** Full-image compressors. Default both xz -9 and zstd -19 --long=27. */
  readonly full?: readonly ("xz" | "zstd")[];
  readonly normalise?: (relativePath: string) => string;
  /** Run the per-file patch-from yardstick (slow on big trees). Default true. */
  readonly patchFrom?: boolean;
  /** The distributor's own compressed images of v1 and v2 (e.g. a .deb's data.tar.xz), as another full row. */
  readonly given?: { readonly label: string; readonly files: readonly [string, string] };
  /** For levels above 3, compress only every n-th missing chunk and scale up (a CPU-starved machine). Default 1. */
  readonly sampleEvery?: number;
  /** Publish and extract for real the best row at this level (default 3: makeIndex's store compressor ignores other levels). */
  readonly publishLevel?: number;
}

export interface UpdateReport {
  readonly rows: UpdateRow[];
  readonly full: number;
  readonly overlap: TreeOverlap;
  /** Missing when no row was at the publish level. */
  readonly extracted?: {
    readonly method: string;
    readonly estimated: number;
    readonly downloaded: number;
    readonly fromSeeds: number;
    readonly identical: boolean;
    readonly casyncIdentical: boolean;
  };
}

const run = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, {
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 1 << 26,
    ...(cwd ? { cwd } : {}),
  });
const size = (p: string) => statSync(p).size;

const builders: Record<ImageFormat, (dir: string, out: string) => void> = {
  tar: (dir, out) =>
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
    ]),
  erofs: (dir, out) =>
    run("mkfs.erofs", [
      "--quiet",
      "-T0",
      "--all-root",
      "-U",
      "00000000-0000-0000-0000-000000000001",
      out,
      dir,
    ]),
  squashfs: (dir, out) =>
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
    ]),
};

export const sizesFor = (avg: number): ChunkSizes => ({ min: avg / 4, avg, max: avg * 4 });
const kib = (n: number) => `${n / 1024} KiB`;

/**
 * Compressed size of the given chunks of `image` at a zstd level, one zstd frame
 * per chunk as the store holds them. Level 3 goes through the store's own
 * compressor; other levels through the zstd CLI over one file per chunk, because
 * @mongodb-js/zstd 1.2.2 (the store's compressor) ignores its level argument.
 */
async function compressedBytes(
  image: string,
  all: readonly IndexChunk[],
  level: number,
  every: number,
): Promise<number> {
  const chunks = every <= 1 ? all : all.filter((_, i) => i % every === 0);
  const fd = openSync(image, "r");
  let total = 0;
  try {
    if (level !== 3) total = cliCompressedBytes(fd, chunks, level);
    else
      for (let i = 0; i < chunks.length; i += 64) {
        const batch = chunks.slice(i, i + 64).map((c) => {
          const b = Buffer.allocUnsafe(c.size);
          readSync(fd, b, 0, c.size, c.offset);
          return compressChunk(b, level);
        });
        for (const z of await Promise.all(batch)) total += z.length;
      }
  } finally {
    closeSync(fd);
  }
  if (chunks === all) return total;
  const sum = (cs: readonly IndexChunk[]) => cs.reduce((n, c) => n + c.size, 0);
  return Math.round((total * sum(all)) / Math.max(1, sum(chunks)));
}

function cliCompressedBytes(fd: number, chunks: readonly IndexChunk[], level: number): number {
  const dir = mkdtempSync(path.join(tmpdir(), "lifeboat-chunks-"));
  try {
    const halves: string[][] = [[], []];
    chunks.forEach((c, i) => {
      const b = Buffer.allocUnsafe(c.size);
      readSync(fd, b, 0, c.size, c.offset);
      const file = path.join(dir, `${i}`);
      writeFileSync(file, b);
      halves[i % 2]?.push(file);
    });
    // Two zstd processes (one per core); each writes <file>.zst, one frame per chunk.
    const lists = halves.map((files, i) => {
      const list = path.join(dir, `list${i}`);
      writeFileSync(list, files.join("\n"));
      return list;
    });
    execFileSync("sh", [
      "-c",
      'zstd -q -f -"$1" --filelist="$2" & zstd -q -f -"$1" --filelist="$3"; wait',
      "sh",
      String(level),
      ...lists,
    ]);
    let total = 0;
    for (const files of halves) for (const f of files) total += size(`${f}.zst`);
    return total;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compressFull(
  work: string,
  kind: "xz" | "zstd",
): { label: string; files: [string, string] } {
  const files = ["v1", "v2"].map((v) => path.join(work, `${v}.tar.${kind}`)) as [string, string];
  for (const [i, v] of (["v1", "v2"] as const).entries()) {
    const tar = path.join(work, `${v}.tar`);
    if (kind === "xz") run("sh", ["-c", 'xz -9 -T2 -c "$1" > "$2"', "sh", tar, files[i] as string]);
    else run("zstd", ["-19", "--long=27", "-T2", "-q", "-f", tar, "-o", files[i] as string]);
  }
  return { label: kind === "xz" ? "tar + xz -9" : "tar + zstd -19 --long=27", files };
}

function casyncOnCompressed(v1: string, v2: string, work: string, label: string): UpdateRow {
  const store = path.join(work, "casync-compressed.castr");
  const [i1p, i2p] = [path.join(work, "v1.c.caibx"), path.join(work, "v2.c.caibx")];
  run("casync", ["make", `--store=${store}`, i1p, v1]);
  run("casync", ["make", `--store=${store}`, i2p, v2]);
  const i1 = parseIndex(readFileSync(i1p))._unsafeUnwrap();
  const i2 = parseIndex(readFileSync(i2p))._unsafeUnwrap();
  let bytes = size(i2p);
  for (const c of estimateUpdate(i2, [i1]).missing)
    bytes += size(path.join(store, c.id.slice(0, 4), `${c.id}.cacnk`));
  return {
    method: `casync make on the ${label} (64 KiB avg)`,
    imageBytes: size(v2),
    downloadBytes: bytes,
  };
}

/** Run the experiment on two unpacked trees (work: an empty scratch folder). */
export async function updateSizes(
  v1Dir: string,
  v2Dir: string,
  work: string,
  options: UpdateOptions = {},
): Promise<UpdateReport> {
  const formats = options.formats ?? ["tar", "erofs"];
  const averages = options.averages ?? [65536, 16384, 4096];
  const levels = options.levels ?? [3, 19];
  const overlap = treeOverlap(v1Dir, v2Dir, {
    ...(options.normalise === undefined ? {} : { normalise: options.normalise }),
    ...(options.patchFrom === undefined ? {} : { patchFrom: options.patchFrom }),
  });
  builders.tar(v1Dir, path.join(work, "v1.tar"));
  builders.tar(v2Dir, path.join(work, "v2.tar"));
  const fulls = (options.full ?? ["xz", "zstd"]).map((k) => compressFull(work, k));
  if (options.given !== undefined)
    fulls.push({ label: options.given.label, files: [...options.given.files] });
  const fullRows: UpdateRow[] = fulls.map((f) => ({
    method: `full image: ${f.label}`,
    imageBytes: size(f.files[1]),
    downloadBytes: size(f.files[1]),
  }));
  const smallest = fulls.reduce((a, b) => (size(b.files[1]) < size(a.files[1]) ? b : a));
  const full = size(smallest.files[1]);
  const rows: UpdateRow[] = [
    ...fullRows,
    casyncOnCompressed(smallest.files[0], smallest.files[1], work, smallest.label),
  ];
  type Candidate = { row: UpdateRow; format: ImageFormat; avg: number; level: number };
  const candidates: Candidate[] = [];
  for (const format of formats) {
    const [v1, v2] = ["v1", "v2"].map((v) => path.join(work, `${v}.${format}`)) as [string, string];
    if (format !== "tar") {
      builders[format](v1Dir, v1);
      builders[format](v2Dir, v2);
    }
    for (const avg of averages) {
      const chunkSizes = sizesFor(avg);
      const i1 = (await makeIndex(v1, { chunkSizes }))._unsafeUnwrap();
      const i2 = (await makeIndex(v2, { chunkSizes }))._unsafeUnwrap();
      const e = estimateUpdate(i2.index, [i1.index]);
      for (const level of levels) {
        const every = level > 3 ? (options.sampleEvery ?? 1) : 1;
        const sampled = every > 1 ? ` (est. from 1/${every} of the chunks)` : "";
        const row: UpdateRow = {
          method: `Lifeboat: uncompressed ${format}, ${kib(avg)} avg chunks, zstd -${level}${sampled}`,
          imageBytes: size(v2),
          downloadBytes:
            (await compressedBytes(v2, e.missing, level, every)) + i2.indexBytes.length,
          reusedBytes: e.reusedBytes,
          indexBytes: i2.indexBytes.length,
          chunks: i2.index.chunks.length,
        };
        rows.push(row);
        candidates.push({ row, format, avg, level });
      }
    }
  }
  const publishable = candidates.filter((c) => c.level === (options.publishLevel ?? 3));
  if (publishable.length === 0) return { rows, full, overlap };
  const best = publishable.reduce((a, b) => (b.row.downloadBytes < a.row.downloadBytes ? b : a));
  const extracted = await extractBest(best, work);
  return { rows, full, overlap, extracted: { method: best.row.method, ...extracted } };
}

/** Publish the best method into a real store, then update v1 -> v2 with Lifeboat and with casync. */
async function extractBest(
  best: { row: UpdateRow; format: ImageFormat; avg: number; level: number },
  work: string,
) {
  const [v1, v2] = ["v1", "v2"].map((v) => path.join(work, `${v}.${best.format}`)) as [
    string,
    string,
  ];
  const store = path.join(work, "best.castr");
  const indexPath = path.join(work, "best-v2.caibx");
  const chunkSizes = sizesFor(best.avg);
  const i1 = (await makeIndex(v1, { chunkSizes }))._unsafeUnwrap();
  const made = (
    await makeIndex(v2, { chunkSizes, store, indexPath, compressionLevel: best.level })
  )._unsafeUnwrap();
  const missing = estimateUpdate(made.index, [i1.index]).missing;
  let estimated = made.indexBytes.length;
  for (const c of missing) estimated += size(path.join(store, c.id.slice(0, 4), `${c.id}.cacnk`));
  const out = path.join(work, "extracted.img");
  const r = (await extractImage(made.index, out, { stores: [store], seeds: [v1] }))._unsafeUnwrap();
  const v2Bytes = readFileSync(v2);
  const identical = readFileSync(out).equals(v2Bytes);
  rmSync(out, { force: true });
  const casyncOut = path.join(work, "casync-extracted.img");
  run("casync", ["extract", `--store=${store}`, `--seed=${v1}`, indexPath, casyncOut]);
  const casyncIdentical = readFileSync(casyncOut).equals(v2Bytes);
  rmSync(casyncOut, { force: true });
  return {
    estimated,
    downloaded: r.bytesDownloaded + made.indexBytes.length,
    fromSeeds: r.bytesFromSeeds,
    identical,
    casyncIdentical,
  };
}

function unpackNpm(dl: string, spec: string): string {
  const [name, version] = [
    spec.slice(0, spec.lastIndexOf("@")),
    spec.slice(spec.lastIndexOf("@") + 1),
  ];
  run("npm", ["pack", spec], dl);
  const tgz = `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
  const dir = path.join(dl, version);
  mkdirSync(dir);
  run("tar", ["-xzf", path.join(dl, tgz), "-C", dir]);
  return dir;
}

const npmPairs: Record<string, [string, string]> = {
  typescript: ["typescript@5.8.3", "typescript@5.9.2"],
  "typescript-patch": ["typescript@5.9.2", "typescript@5.9.3"],
  mui: ["@mui/icons-material@7.3.10", "@mui/icons-material@7.3.11"],
};

function prepare(
  kind: string,
  work: string,
  args: string[],
): {
  v1: string;
  v2: string;
  label: string;
  normalise?: (p: string) => string;
  given?: { label: string; files: [string, string] };
} {
  const dl = path.join(work, "download");
  mkdirSync(dl, { recursive: true });
  const pair = npmPairs[kind];
  if (pair !== undefined) {
    const [v1, v2] = pair.map((s) => unpackNpm(dl, s)) as [string, string];
    return { v1, v2, label: `npm ${pair[0]} -> ${pair[1]}` };
  }
  if (kind === "linux") {
    const debs = ["linux-image-6.1.0-47-amd64", "linux-image-6.1.0-50-amd64"];
    run("apt-get", ["download", ...debs], dl);
    const dirs = debs.map((name) => {
      const deb = execFileSync("sh", ["-c", `ls "$1"/${name}_*.deb`, "sh", dl])
        .toString()
        .trim();
      const dir = path.join(dl, name);
      run("dpkg-deb", ["-x", deb, dir]);
      return dir;
    }) as [string, string];
    const given = debs.map((name) => {
      const out = path.join(dl, `${name}.data.tar.xz`);
      run("sh", ["-c", 'ar p "$1"/"$2"_*.deb data.tar.xz > "$3"', "sh", dl, name, out]);
      return out;
    }) as [string, string];
    return {
      given: { label: "Debian's own .deb data.tar.xz", files: given },
      v1: dirs[0],
      v2: dirs[1],
      label:
        "Debian linux-image-6.1.0-47-amd64 (6.1.170-3) -> linux-image-6.1.0-50-amd64 (6.1.176-1)",
      normalise: (p) => p.replace(/6\.1\.0-(47|50)-amd64/g, "<abi>"),
    };
  }
  return { v1: args[0] as string, v2: args[1] as string, label: `${args[0]} -> ${args[1]}` };
}

function printReport(label: string, report: UpdateReport): void {
  const mb = (n: number) => (n / 1e6).toFixed(2);
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`;
  const o = report.overlap;
  console.log(`### ${label}\n`);
  console.log(
    `Overlap: v2 has ${o.v2Files} files, ${mb(o.v2Bytes)} MB; ${pct(o.samePathBytes, o.v2Bytes)} of its bytes at a path v1 has, ${pct(o.identicalBytes, o.v2Bytes)} in files identical to v1's (${o.identicalFiles} files). Changed files: ${mb(o.changedFilesZstdBytes)} MB as zstd -19 one by one, ${mb(o.patchFromBytes)} MB as zstd -19 --patch-from the v1 file (${pct(o.patchFromBytes, report.full)} of the full compressed image).\n`,
  );
  console.log(
    "| method | v2 image (MB) | v2 bytes found in v1 | index (MB) | download v1 -> v2 (MB) | % of full compressed image |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const r of report.rows) {
    const reused = r.reusedBytes === undefined ? "" : pct(r.reusedBytes, r.imageBytes);
    const index = r.indexBytes === undefined ? "" : mb(r.indexBytes);
    console.log(
      `| ${r.method} | ${mb(r.imageBytes)} | ${reused} | ${index} | ${mb(r.downloadBytes)} | ${pct(r.downloadBytes, report.full)} |`,
    );
  }
  const x = report.extracted;
  if (x === undefined) return;
  console.log(
    `\nBest: ${x.method}. Published for real: estimate ${mb(x.estimated)} MB; extractImage with v1 as seed downloaded ${mb(x.downloaded)} MB (index included), took ${mb(x.fromSeeds)} MB from the seed, output ${x.identical ? "byte-identical to" : "DIFFERENT from"} v2; casync extract --seed of the same index and store: ${x.casyncIdentical ? "byte-identical" : "DIFFERENT"}.`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv.splice(i, 2)[1] : undefined;
  };
  const list = (s: string | undefined) => s?.split(",");
  const formats = list(opt("--formats")) as ImageFormat[] | undefined;
  const averages = list(opt("--avg"))?.map(Number);
  const levels = list(opt("--levels"))?.map(Number);
  const full = list(opt("--full")) as ("xz" | "zstd")[] | undefined;
  const sample = opt("--sample");
  const publish = opt("--publish-level");
  const noPatchFrom = argv.includes("--no-patch-from");
  if (noPatchFrom) argv.splice(argv.indexOf("--no-patch-from"), 1);
  const [kind = "typescript", ...rest] = argv;
  const work = mkdtempSync(path.join(tmpdir(), "lifeboat-casync-update-"));
  try {
    const p = prepare(kind, work, rest);
    const report = await updateSizes(p.v1, p.v2, work, {
      ...(formats === undefined ? {} : { formats }),
      ...(averages === undefined ? {} : { averages }),
      ...(levels === undefined ? {} : { levels }),
      ...(p.normalise === undefined ? {} : { normalise: p.normalise }),
      ...(noPatchFrom ? { patchFrom: false } : {}),
      ...(p.given === undefined ? {} : { given: p.given }),
      ...(full === undefined ? {} : { full: full.filter((f) => f === "xz" || f === "zstd") }),
      ...(sample === undefined ? {} : { sampleEvery: Number(sample) }),
      ...(publish === undefined ? {} : { publishLevel: Number(publish) }),
    });
    printReport(p.label, report);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
