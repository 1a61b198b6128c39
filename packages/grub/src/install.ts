/**
 * Writing GRUB files safely: the new content goes to a temporary file beside
 * the target, is checked (`grub-script-check`, `sh -n`), and only then
 * renamed over the old file, which stays in place until that moment.
 *
 * @module
 */
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import {
  type CommandRunner,
  type IoFailedError,
  ioError,
  joinInside,
  tail,
  writeFileAtomic,
} from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import { stageFile } from "./_internal/staged.js";
import { type BlsEntry, blsToMenuEntry, renderBlsEntry } from "./bls.js";
import type { GrubError, GrubScriptInvalidError } from "./errors.js";
import type { GrubdScript } from "./grubd.js";
import { renderGrubScript } from "./script.js";

const NOISE = new Set([
  "error: syntax error.",
  "error: Incorrect command.",
  "error: out of memory.",
]);

/** Common options of the effectful functions here. */
export interface GrubWriteOptions {
  readonly signal?: AbortSignal;
}

/**
 * Check GRUB script text with `grub-script-check` (given on stdin).
 *
 * @example
 * ```ts
 * const r = await checkGrubScript(createExecaRunner(), "menuentry 'x' { true\n}\n");
 * r.isOk(); // true
 * ```
 */
export function checkGrubScript(
  runner: CommandRunner,
  text: string,
  options: GrubWriteOptions & { readonly name?: string } = {},
): ResultAsync<void, GrubError> {
  const name = options.name ?? "the script";
  return runner
    .run("grub-script-check", [], {
      stdin: text,
      // Exit 1 is a rejection, read below: grub-script-check prints some
      // reasons on stdout ("fatal error: token too large").
      okExitCodes: [1],
      ...(options.signal ? { signal: options.signal } : {}),
    })
    .andThen((run) => {
      if (run.exitCode === 0) return okAsync(undefined);
      const said = `${run.stderr}\n${run.stdout}`
        .replaceAll("Aborted. Press any key to exit.", "")
        .split("\n")
        .map((l) => l.trim())
        // GRUB's parser repeats these for every error; the line number says more.
        .filter((l) => l !== "" && !NOISE.has(l))
        .join("; ");
      const line = /line (\d+)/.exec(said);
      const why =
        said === ""
          ? "grub-script-check exited 1 without a message (look for an unfinished block, `if` or quote)"
          : said;
      const invalid: GrubScriptInvalidError = {
        code: "GRUB_SCRIPT_INVALID",
        message: `grub-script-check rejected ${name}: ${why}`,
        path: options.name ?? "-",
        line: line?.[1] === undefined ? undefined : Number(line[1]),
        stderrTail: tail(`${run.stderr}${run.stdout}`),
      };
      return errAsync<void, GrubError>(invalid);
    });
}

function readIfExists(file: string): ResultAsync<string | undefined, IoFailedError> {
  return ResultAsync.fromPromise(
    readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw e;
    }),
    (e) => ioError(e, file, "read"),
  );
}

/** What an install or removal did. */
export interface GrubFileChange {
  readonly path: string;
  /** False when the file already had this content (or was already absent). */
  readonly changed: boolean;
}

/**
 * Write a GRUB config file (`custom.cfg`, a generated `grub.cfg`) atomically,
 * after `grub-script-check` accepted the new text. Writing the same content
 * again changes nothing.
 *
 * @example
 * ```ts
 * await writeGrubConfig(runner, "/boot/grub2/custom.cfg", renderGrubScript(cmds)._unsafeUnwrap());
 * ```
 */
export function writeGrubConfig(
  runner: CommandRunner,
  file: string,
  text: string,
  options: GrubWriteOptions = {},
): ResultAsync<GrubFileChange, GrubError> {
  return readIfExists(file).andThen((old) => {
    if (old === text) return okAsync({ path: file, changed: false });
    return checkGrubScript(runner, text, { ...options, name: file })
      .andThen(() => writeFileAtomic(file, text, { mode: 0o644 }))
      .map(() => ({ path: file, changed: true }));
  });
}

/** Options for {@link installGrubdScript} and {@link removeGrubdScript}. */
export interface GrubdInstallOptions extends GrubWriteOptions {
  /** Default `/etc/grub.d`. */
  readonly directory?: string;
  /** Default `41_lifeboat` (after `40_custom`/`41_custom`, so never the first entry). */
  readonly name?: string;
}

function target(options: GrubdInstallOptions): ResultAsync<string, GrubError> {
  const dir = options.directory ?? "/etc/grub.d";
  const r = joinInside(dir, options.name ?? "41_lifeboat");
  return r.isOk() ? okAsync(r.value) : errAsync(r.error);
}

/**
 * Install the grub.d script (mode 0755), idempotently and atomically. The
 * script is checked with `sh -n`, written to a temporary file beside the
 * target, run once (with `LIFEBOAT_RECOVERY_FS_UUID` set to a sample UUID)
 * and its output checked with `grub-script-check` and against the expected
 * text; only then is it renamed over the old script, which stays in place
 * until that moment.
 *
 * @example
 * ```ts
 * const script = renderGrubdScript({ entries })._unsafeUnwrap();
 * const r = await installGrubdScript(runner, script);
 * // r.value: { path: "/etc/grub.d/41_lifeboat", changed: true }
 * ```
 */
export function installGrubdScript(
  runner: CommandRunner,
  script: GrubdScript,
  options: GrubdInstallOptions = {},
): ResultAsync<GrubFileChange, GrubError> {
  const signal = options.signal ? { signal: options.signal } : {};
  return target(options).andThen((file) =>
    readIfExists(file).andThen((old) => {
      if (old === script.script) return okAsync({ path: file, changed: false });
      return runner
        .run("sh", ["-n"], { stdin: script.script, ...signal })
        .mapErr((e): GrubError => e)
        .andThen(() => stageFile(file, script.script, 0o755))
        .andThen((staged) => {
          const checked = runner
            .run("sh", [staged.temp], {
              env: { LIFEBOAT_RECOVERY_FS_UUID: script.sampleFsUuid },
              timeoutMs: 60_000,
              ...signal,
            })
            .mapErr((e): GrubError => e)
            .andThen((run) =>
              run.stdout === script.sampleOutput
                ? checkGrubScript(runner, run.stdout, { ...options, name: `${file} (its output)` })
                : errAsync<void, GrubError>({
                    code: "GRUB_SCRIPT_INVALID",
                    message: `${file}: the script printed something other than the entries it was rendered with.`,
                    path: file,
                    line: undefined,
                    stderrTail: run.stderr,
                  }),
            )
            .andThen(() => staged.commit());
          return ResultAsync.fromSafePromise(
            (async () => {
              const r = await checked;
              if (r.isErr()) await staged.discard();
              return r;
            })(),
          ).andThen((r) => r);
        })
        .map(() => ({ path: file, changed: true }));
    }),
  );
}

/**
 * Remove the grub.d script; removing an absent one changes nothing.
 *
 * @example
 * ```ts
 * await removeGrubdScript({ directory: "/etc/grub.d" }); // { path, changed }
 * ```
 */
export function removeGrubdScript(
  options: GrubdInstallOptions = {},
): ResultAsync<GrubFileChange, GrubError> {
  return target(options).andThen((file) =>
    readIfExists(file).andThen((old) =>
      old === undefined
        ? okAsync({ path: file, changed: false })
        : ResultAsync.fromPromise(rm(file), (e) => ioError(e, file, "remove")).map(() => ({
            path: path.resolve(file),
            changed: true,
          })),
    ),
  );
}

/**
 * Write a BLS snippet atomically, after checking the menu entry `blscfg`
 * will make of it with `grub-script-check`. Same content: nothing changes.
 *
 * @example
 * ```ts
 * await writeBlsEntry(runner, "/boot/loader/entries/lifeboat-factory-reset.conf", entry);
 * ```
 */
export function writeBlsEntry(
  runner: CommandRunner,
  file: string,
  entry: BlsEntry,
  options: GrubWriteOptions = {},
): ResultAsync<GrubFileChange, GrubError> {
  const text = renderBlsEntry(entry);
  if (text.isErr()) return errAsync(text.error);
  const grub = renderGrubScript([blsToMenuEntry(entry)]);
  if (grub.isErr()) return errAsync(grub.error);
  return readIfExists(file).andThen((old) => {
    if (old === text.value) return okAsync({ path: file, changed: false });
    return checkGrubScript(runner, grub.value, { ...options, name: `${file} (as a menu entry)` })
      .andThen(() => writeFileAtomic(file, text.value, { mode: 0o644 }))
      .map(() => ({ path: file, changed: true }));
  });
}
