import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, statfs, writeFile } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type CommandError, fsyncDirectory, type StepContext } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { z } from "zod";
import { exists, io, sha256File } from "../_internal/fs.js";
import type { InsufficientSpaceError, ResetError, VerifyFailedError } from "../errors.js";
import { formatBytes } from "../planner/words.js";
import type { ResetEnvironment } from "./context.js";
import { absolutePath, adds, bytesSchema, defineStep, relativePath } from "./define.js";
import {
  apparentCopyBytes,
  checkChosenPaths,
  keyOf,
  listByteTree,
  onChosenPath,
  showKey,
} from "./rescue-tree.js";

const copySchema = z.strictObject({
  /** The read-only snapshot of home copied from, on the Btrfs top level. */
  snapshot: relativePath,
  /** Where the copy goes (the mounted rescue medium). */
  directory: absolutePath,
  /** The copy's name in `directory`. */
  name: z
    .string()
    .min(1)
    .refine((n) => !n.includes("/") && n !== "." && n !== "..", { message: "a plain name" }),
  /** Paths inside home to copy (empty: all of home). */
  paths: z.array(relativePath),
  format: z.enum(["tree", "send-stream"]),
});

type CopyParams = z.infer<typeof copySchema>;

/** `reset.rescue-copy`: copy home (or chosen paths) out; the copy is published by a rename. */
export const rescueCopyStep = defineStep({
  kind: "reset.rescue-copy",
  schema: copySchema.extend({ bytes: bytesSchema }),
  describe: (p) =>
    adds(
      `Copy ${p.paths.length ? p.paths.join(", ") : "all of home"} (up to ${formatBytes(p.bytes)}) to ${p.directory}/${p.name}`,
      [`${formatBytes(p.bytes)} free at ${p.directory}`],
    ),
  run: (p, _step, ctx, env) => rescueCopy(p, ctx, env),
});

function rescueCopy(
  p: CopyParams & { readonly bytes: number },
  ctx: StepContext,
  env: ResetEnvironment,
): ResultAsync<void, ResetError> {
  const snapshot = path.join(env.top, p.snapshot);
  const final = path.join(p.directory, p.name);
  const partial = `${final}.partial`;
  const paths = p.paths;
  return io(exists(final), final, "stat").andThen((done) => {
    if (done) return okAsync(undefined);
    if (p.format === "send-stream") {
      const hash = createHash("sha256");
      let bytes = 0;
      const child = env.runner.spawn("btrfs", ["send", "-q", snapshot], { signal: ctx.signal });
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          bytes += chunk.length;
          ctx.reportBytes(bytes);
          cb(null, chunk);
        },
      });
      return io(pipeline(child.stdout, counter, createWriteStream(partial)), partial, "write")
        .orElse((e) =>
          e.errno === "ENOSPC"
            ? ResultAsync.fromSafePromise(freeBytes(p.directory).catch(() => 0)).andThen((free) =>
                errAsync<never, ResetError>({
                  ...noSpace(p.directory, Math.max(p.bytes, bytes), free, "during", "", "stream"),
                  cause: e,
                }),
              )
            : errAsync<never, ResetError>(e),
        )
        .andThen(() => child.done)
        .andThen(() =>
          io(
            (async () => {
              await writeFile(
                `${final}.sha256`,
                `${hash.digest("hex")}  ${path.basename(final)}\n`,
              );
              await rename(partial, final);
              await fsyncDirectory(path.dirname(final));
            })(),
            final,
            "publish",
          ),
        );
    }
    // Before anything is written: the chosen paths stay inside home, and the
    // files fit the target at their apparent size (rsync writes holes in full).
    return io(preflight(snapshot, p.directory, paths), p.directory, "measure the rescue copy")
      .andThen((checked) =>
        checked.ok ? okAsync(checked.neededBytes) : errAsync<number, ResetError>(checked.error),
      )
      .andThen((neededBytes) => copyTree(p, ctx, env, snapshot, partial, neededBytes))
      .andThen(() =>
        io(
          (async () => {
            await rename(partial, final);
            await fsyncDirectory(path.dirname(final));
          })(),
          final,
          "publish",
        ),
      );
  });
}

type Preflight =
  | { readonly ok: true; readonly neededBytes: number }
  | { readonly ok: false; readonly error: ResetError };

async function freeBytes(directory: string): Promise<number> {
  const fs = await statfs(directory);
  return Number(fs.bavail) * Number(fs.bsize);
}

async function preflight(
  snapshot: string,
  directory: string,
  paths: readonly string[],
): Promise<Preflight> {
  const refused = await checkChosenPaths(snapshot, paths);
  if (refused) return { ok: false, error: refused };
  const neededBytes = await apparentCopyBytes(snapshot, paths);
  const availableBytes = await freeBytes(directory);
  if (neededBytes > availableBytes)
    return { ok: false, error: noSpace(directory, neededBytes, availableBytes, "before") };
  return { ok: true, neededBytes };
}

function noSpace(
  directory: string,
  neededBytes: number,
  availableBytes: number,
  when: "before" | "during",
  detail = "",
  format: "tree" | "stream" = "tree",
): InsufficientSpaceError {
  const said =
    when === "before"
      ? "nothing was copied"
      : "the copy stopped; its unfinished part stays as *.partial";
  const measure =
    format === "tree"
      ? "the files' full size, sparse files included"
      : "at least; the send stream was this long when the target filled up";
  return {
    code: "RESET_INSUFFICIENT_SPACE",
    message: `No space on ${directory} for the rescue copy: it needs ${formatBytes(neededBytes)} (${measure}) and ${formatBytes(availableBytes)} is free; ${said}.${detail ? ` rsync: ${detail}` : ""}`,
    where: directory,
    neededBytes,
    availableBytes,
  };
}

/** rsync's own lines from its standard error: what failed, on which file. */
function rsyncSaid(stderr: string): string {
  return stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("rsync") || l.includes("failed") || l.includes("No space"))
    .slice(-6)
    .join("; ");
}

function copyTree(
  p: CopyParams,
  ctx: StepContext,
  env: ResetEnvironment,
  snapshot: string,
  partial: string,
  neededBytes: number,
): ResultAsync<unknown, ResetError> {
  const paths = p.paths;
  const sources = paths.length ? paths.map((q) => `${snapshot}/./${q}`) : [`${snapshot}/./`];
  const args = [
    "-aHAX",
    "--relative",
    "--info=progress2",
    "--no-inc-recursive",
    ...sources,
    `${partial}/`,
  ];
  const child = env.runner.spawn("rsync", args, { signal: ctx.signal });
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (text: string) => {
    const m = /([0-9,]+)\s+\d+%/.exec(text.split("\r").pop() ?? "");
    if (m?.[1]) ctx.reportBytes(Number(m[1].replaceAll(",", "")));
  });
  const what = paths.length ? paths.join(", ") : "all of home";
  return child.done.orElse((e: CommandError) => {
    if (e.code !== "COMMAND_FAILED") return errAsync<never, ResetError>(e);
    const said = rsyncSaid(e.stderrTail) || e.stderrTail.trim();
    if (/No space left on device|ENOSPC/.test(e.stderrTail))
      return ResultAsync.fromSafePromise(freeBytes(p.directory).catch(() => 0)).andThen((free) =>
        errAsync<never, ResetError>({
          ...noSpace(p.directory, neededBytes, free, "during", said),
          cause: e,
        }),
      );
    return errAsync<never, ResetError>({
      ...e,
      message: `Copying ${what} to ${partial} failed (rsync exit ${e.exitCode ?? e.signal}): ${said || "rsync printed nothing"}`,
    });
  });
}

/** `reset.rescue-verify`: read the copy back and compare it with the snapshot. */
export const rescueVerifyStep = defineStep({
  kind: "reset.rescue-verify",
  schema: copySchema,
  describe: () => adds("Read the copy back and compare it with home, file by file"),
  run: (p, _step, _ctx, env) => rescueVerify(p, env),
});

function rescueVerify(p: CopyParams, env: ResetEnvironment): ResultAsync<void, ResetError> {
  const snapshot = path.join(env.top, p.snapshot);
  const final = path.join(p.directory, p.name);
  const paths = p.paths;
  if (p.format === "send-stream") {
    return io(
      (async () => {
        const recorded = (await import("node:fs/promises")).readFile(`${final}.sha256`, "utf8");
        return { recorded: (await recorded).split(/\s/)[0] ?? "", actual: await sha256File(final) };
      })(),
      final,
      "read",
    ).andThen(({ recorded, actual }) =>
      recorded === actual
        ? env.runner.run("btrfs", ["receive", "--dump", "-f", final]).map(() => undefined)
        : errAsync<void, ResetError>(verifyFailed(final, recorded, actual)),
    );
  }
  const chosen = paths.map(keyOf);
  return io(
    Promise.all([listByteTree(snapshot, (key) => onChosenPath(key, chosen)), listByteTree(final)]),
    final,
    "compare",
  ).andThen(([want, got]) => {
    if (JSON.stringify(want) === JSON.stringify(got)) return okAsync(undefined);
    const diff = want.find((w, i) => JSON.stringify(w) !== JSON.stringify(got[i]));
    const where = diff ? showKey(diff.key) : "(extra files)";
    const e: VerifyFailedError = {
      code: "RESET_VERIFY_FAILED",
      message: `The rescue copy differs from home at ${where}.`,
      path: diff ? where : final,
      expected: `${want.length} entries`,
      actual: `${got.length} entries`,
    };
    return errAsync<void, ResetError>(e);
  });
}

function verifyFailed(file: string, expected: string, actual: string): VerifyFailedError {
  return {
    code: "RESET_VERIFY_FAILED",
    message: `The rescue stream ${file} does not read back as written.`,
    path: file,
    expected,
    actual,
  };
}
