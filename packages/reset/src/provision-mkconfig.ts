/**
 * The target's own `grub2-mkconfig`/`grub-mkconfig`, run inside the target
 * (a chroot into its `root` subvolume with /boot, /proc, /sys and /dev
 * mounted) after provision installed the grub.d script, so that grub.cfg has
 * the recovery entries at the next boot without a person running it.
 *
 * @module
 */
import { chmod, mkdtemp, readFile, rename, rm, rmdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type CommandRunner, findMountOf, fsyncDirectory } from "@lifeboat/core";
import { okAsync, ResultAsync } from "neverthrow";
import { exists } from "./_internal/fs.js";
import type { ResetError } from "./errors.js";
import { ROOT_SUBVOLUME } from "./layout.js";
import { type GrubIntegration, madeByGrubMkconfig } from "./provision-grub.js";

/** Where grub-mkconfig may be in the installed system, in the order they are tried (Fedora's spelling first). */
export const GRUB_MKCONFIG_CANDIDATES = [
  "/usr/sbin/grub2-mkconfig",
  "/usr/sbin/grub-mkconfig",
  "/sbin/grub2-mkconfig",
  "/sbin/grub-mkconfig",
  "/usr/bin/grub2-mkconfig",
  "/usr/bin/grub-mkconfig",
] as const;

/** The grub.cfg files grub-mkconfig may own, relative to /boot, in the order they are looked at. */
const GRUB_CFGS = ["grub2/grub.cfg", "grub/grub.cfg"] as const;

/** Suffix of the file grub-mkconfig writes before it replaces grub.cfg. */
const NEW_SUFFIX = ".lifeboat-new";

/** How long grub-mkconfig may take (it probes every disk). */
const MKCONFIG_TIMEOUT_MS = 600_000;

/** Options of {@link runTargetGrubMkconfig}. */
export interface TargetGrubMkconfigOptions {
  /** The Btrfs top level (subvolid=5), mounted: the `root` subvolume is the system run. */
  readonly top: string;
  /** The system's /boot, mounted. */
  readonly boot: string;
  /**
   * The recovery partition's filesystem UUID, passed to the grub.d script as
   * `LIFEBOAT_RECOVERY_FS_UUID` so it does not look through the host's disks.
   */
  readonly recoveryFsUuid?: string;
  readonly signal?: AbortSignal;
}

const skipped = (
  reason: "no-grub-mkconfig" | "no-grub-cfg" | "hand-written",
  detail: string,
): GrubIntegration => ({ kind: "grub-mkconfig", status: "skipped", reason, detail });

/** The last lines of a command's error output, for a one-paragraph reason. */
function tail(text: string, lines = 6): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/**
 * Run the installed system's grub-mkconfig inside it, writing the grub.cfg it
 * already owns (`/boot/grub2/grub.cfg`, else `/boot/grub/grub.cfg`, the first
 * one made by grub-mkconfig). The new config is written beside the old one
 * and renamed over it only when grub-mkconfig succeeded (it checks its output
 * with grub-script-check), so a failure leaves grub.cfg as it was. A system
 * without grub-mkconfig, or whose grub.cfg is hand-written or missing, is a
 * reported skip; a failed run is reported with its reason, never an `Err`.
 *
 * @example
 * ```ts
 * const r = await runTargetGrubMkconfig(runner, { top: "/mnt/top", boot: "/mnt/boot", recoveryFsUuid });
 * if (r.isOk() && r.value.status === "ran") console.log(`${r.value.command} wrote ${r.value.path}`);
 * ```
 */
export function runTargetGrubMkconfig(
  runner: CommandRunner,
  options: TargetGrubMkconfigOptions,
): ResultAsync<GrubIntegration, ResetError> {
  const root = path.join(options.top, ROOT_SUBVOLUME);
  return ResultAsync.fromSafePromise(
    (async () => {
      let command: string | undefined;
      for (const c of GRUB_MKCONFIG_CANDIDATES)
        if (await exists(path.join(root, c))) {
          command = c;
          break;
        }
      const configs: { rel: string; text: string }[] = [];
      for (const rel of GRUB_CFGS) {
        const text = await readFile(path.join(options.boot, rel), "utf8").catch(() => undefined);
        if (text !== undefined) configs.push({ rel, text });
      }
      return { command, configs };
    })(),
  ).andThen(({ command, configs }) => {
    if (command === undefined)
      return okAsync(
        skipped(
          "no-grub-mkconfig",
          `The ${ROOT_SUBVOLUME} subvolume has no grub2-mkconfig or grub-mkconfig: run it in the system to add the grub.d script's entries.`,
        ),
      );
    const owned = configs.find((c) => madeByGrubMkconfig(c.text));
    if (owned === undefined)
      return okAsync(
        configs.length === 0
          ? skipped(
              "no-grub-cfg",
              `/boot has no grub2/grub.cfg or grub/grub.cfg: ${command} was not run (it would write a new boot configuration).`,
            )
          : skipped(
              "hand-written",
              `/boot/${configs[0]?.rel} was not made by grub-mkconfig: left as it is, ${command} was not run.`,
            ),
      );
    return ResultAsync.fromSafePromise(
      runInTarget(runner, { ...options, root, command, rel: owned.rel }),
    );
  });
}

/** Mount the target, run grub-mkconfig into grub.cfg.lifeboat-new, rename it over grub.cfg; always unmount. */
async function runInTarget(
  runner: CommandRunner,
  o: TargetGrubMkconfigOptions & { root: string; command: string; rel: string },
): Promise<GrubIntegration> {
  const inSystem = `/boot/${o.rel}`;
  const failed = (detail: string): GrubIntegration => ({
    kind: "grub-mkconfig",
    status: "failed",
    command: o.command,
    path: inSystem,
    detail: `${o.command} failed, ${inSystem} is unchanged: ${detail}`,
  });
  const signal = o.signal ? { signal: o.signal } : {};
  const top = await findMountOf(runner, o.top, signal);
  if (top.isErr()) return failed(top.error.message);
  const dir = await mkdtemp(path.join(os.tmpdir(), "lifeboat-mkconfig-"));
  const mounted: string[] = [];
  const mount = async (args: readonly string[], at: string) => {
    const r = await runner.run("mount", [...args, at], signal);
    if (r.isErr()) throw new Error(r.error.message);
    mounted.push(at);
  };
  const hostConfig = path.join(o.boot, o.rel);
  const hostNew = `${hostConfig}${NEW_SUFFIX}`;
  try {
    await mount(["-o", `subvol=${ROOT_SUBVOLUME}`, top.value.device], dir);
    await mount(["--bind", o.boot], path.join(dir, "boot"));
    await mount(["-t", "proc", "proc"], path.join(dir, "proc"));
    await mount(["--bind", "/sys"], path.join(dir, "sys"));
    await mount(["--bind", "/dev"], path.join(dir, "dev"));
    const run = await runner.run("chroot", [dir, o.command, "-o", `${inSystem}${NEW_SUFFIX}`], {
      ...signal,
      timeoutMs: MKCONFIG_TIMEOUT_MS,
      env: {
        LC_ALL: "C",
        ...(o.recoveryFsUuid ? { LIFEBOAT_RECOVERY_FS_UUID: o.recoveryFsUuid } : {}),
      },
    });
    if (run.isErr()) {
      const e = run.error;
      return failed(tail(("stderrTail" in e && e.stderrTail) || e.message));
    }
    const text = await readFile(hostNew, "utf8");
    if (!madeByGrubMkconfig(text))
      return failed(`its output has no "### BEGIN /etc/grub.d/" sections`);
    await chmod(hostNew, (await stat(hostConfig)).mode & 0o7777);
    await rename(hostNew, hostConfig);
    await fsyncDirectory(path.dirname(hostConfig));
    return {
      kind: "grub-mkconfig",
      status: "ran",
      command: o.command,
      path: inSystem,
      detail: `${o.command} ran in the system and wrote ${inSystem} (with the grub.d script's entries).`,
    };
  } catch (e) {
    return failed(e instanceof Error ? e.message : String(e));
  } finally {
    await rm(hostNew, { force: true }).catch(() => undefined);
    while (mounted.length > 0) {
      const at = mounted.pop() as string;
      if ((await runner.run("umount", [at])).isErr()) await runner.run("umount", ["-l", at]);
    }
    // rmdir, never a recursive remove: it must not reach into anything still mounted there.
    await rmdir(dir).catch(() => undefined);
  }
}
