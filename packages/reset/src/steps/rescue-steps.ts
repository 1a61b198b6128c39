import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fsyncDirectory, type LifeboatError, type StepContext } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { z } from "zod";
import { exists, io, listTree, sha256File } from "../_internal/fs.js";
import type { VerifyFailedError } from "../errors.js";
import { formatBytes } from "../planner/words.js";
import type { ResetEnvironment } from "./context.js";
import { absolutePath, adds, bytesSchema, defineStep, relativePath } from "./define.js";

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
  p: CopyParams,
  ctx: StepContext,
  env: ResetEnvironment,
): ResultAsync<void, LifeboatError> {
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
    const sources = paths.length ? paths.map((p) => `${snapshot}/./${p}`) : [`${snapshot}/./`];
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
    return child.done.andThen(() =>
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

/** `reset.rescue-verify`: read the copy back and compare it with the snapshot. */
export const rescueVerifyStep = defineStep({
  kind: "reset.rescue-verify",
  schema: copySchema,
  describe: () => adds("Read the copy back and compare it with home, file by file"),
  run: (p, _step, _ctx, env) => rescueVerify(p, env),
});

function rescueVerify(p: CopyParams, env: ResetEnvironment): ResultAsync<void, LifeboatError> {
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
        : errAsync<void, LifeboatError>(verifyFailed(final, recorded, actual)),
    );
  }
  const inside = (p: string) =>
    paths.length === 0 ||
    paths.some((q) => p === q || p.startsWith(`${q}/`) || q.startsWith(`${p}/`));
  return ResultAsync.fromSafePromise(Promise.resolve())
    .andThen(() =>
      io(
        Promise.all([listTree(snapshot, { exclude: (p) => !inside(p) }), listTree(final)]),
        final,
        "compare",
      ),
    )
    .andThen(([want, got]) => {
      const a = JSON.stringify(want);
      const b = JSON.stringify(got);
      if (a === b) return okAsync(undefined);
      const diff = want.find((w, i) => JSON.stringify(w) !== JSON.stringify(got[i]));
      const e: VerifyFailedError = {
        code: "RESET_VERIFY_FAILED",
        message: `The rescue copy differs from home at ${diff?.path ?? "(extra files)"}.`,
        path: diff?.path ?? final,
        expected: `${want.length} entries`,
        actual: `${got.length} entries`,
      };
      return errAsync<void, LifeboatError>(e);
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
