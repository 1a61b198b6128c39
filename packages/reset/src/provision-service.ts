import { constants } from "node:fs";
import { access, chmod, mkdir, readFile, readlink, symlink } from "node:fs/promises";
import path from "node:path";
import { ioError, type PreconditionFailedError, writeFileAtomic } from "@lifeboat/core";
import { errAsync, okAsync, ResultAsync } from "neverthrow";
import type { ResetError } from "./errors.js";
import { FACTORY_ROOT, ROOT_SUBVOLUME } from "./layout.js";

/** What {@link provisionService} installs: files shipped with `@lifeboat/service`. */
export interface ProvisionServiceOptions {
  /** The service package's `data/` directory (unit, bus policy, polkit policy, activation file). */
  readonly dataDirectory: string;
  /** lifeboatd as one JavaScript file (all dependencies bundled), run by the system's `node`. */
  readonly daemon: string;
  /** Public keys (PEM text) lifeboatd trusts recovery image sets with: `/etc/lifeboat/keys/`, passed in `/etc/default/lifeboatd`. */
  readonly trustedKeysPem?: readonly string[];
}

/** One file {@link provisionService} placed in the root. */
export interface ProvisionedServiceFile {
  /** Path inside the root, absolute (`/usr/lib/systemd/system/lifeboatd.service`). */
  readonly path: string;
  /** `written` (new or changed) or `kept` (already the same). */
  readonly status: "written" | "kept";
}

/** What {@link provisionService} did. */
export interface ProvisionedService {
  readonly files: readonly ProvisionedServiceFile[];
  /** Whether the root has `/usr/bin/node`, which lifeboatd runs on (it is not installed here). */
  readonly hasNode: boolean;
}

/** Where each shipped file goes in the root: [file in dataDirectory, path in root, mode]. */
export const SERVICE_FILES = [
  ["lifeboatd.service", "/usr/lib/systemd/system/lifeboatd.service", 0o644],
  ["org.lifeboat.Lifeboat1.conf", "/usr/share/dbus-1/system.d/org.lifeboat.Lifeboat1.conf", 0o644],
  [
    "org.lifeboat.Lifeboat1.policy",
    "/usr/share/polkit-1/actions/org.lifeboat.Lifeboat1.policy",
    0o644,
  ],
  [
    "org.lifeboat.Lifeboat1.service",
    "/usr/share/dbus-1/system-services/org.lifeboat.Lifeboat1.service",
    0o644,
  ],
] as const;

/** Where lifeboatd's bundle goes; `/usr/bin/lifeboatd` (the unit's `ExecStart`) links to it. */
export const SERVICE_DAEMON_PATH = "/usr/lib/lifeboat/lifeboatd.mjs";

async function place(
  root: string,
  inRoot: string,
  content: Buffer,
  mode: number,
): Promise<ProvisionedServiceFile> {
  const file = path.join(root, inRoot);
  const old = await readFile(file).catch(() => undefined);
  if (old?.equals(content)) {
    await chmod(file, mode);
    return { path: inRoot, status: "kept" };
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const w = await writeFileAtomic(file, content, { mode });
  // The Node.js error: provisionService maps it to IO_FAILED with its message and errno.
  if (w.isErr()) throw w.error.cause;
  await chmod(file, mode);
  return { path: inRoot, status: "written" };
}

async function install(
  top: string,
  options: ProvisionServiceOptions,
): Promise<ProvisionedService | PreconditionFailedError> {
  const root = path.join(top, ROOT_SUBVOLUME);
  // Taken already without the service: a reset would bring the system back without it.
  const snapshotUnit = path.join(top, FACTORY_ROOT, SERVICE_FILES[0][1]);
  const hasSnapshot = await access(path.join(top, FACTORY_ROOT)).then(
    () => true,
    () => false,
  );
  if (
    hasSnapshot &&
    !(await access(snapshotUnit).then(
      () => true,
      () => false,
    ))
  )
    return {
      code: "PRECONDITION_FAILED",
      precondition: "factory snapshot includes lifeboatd",
      message:
        "The factory snapshot was taken without lifeboatd: installing it in the root now would be undone by every reset. Provision the service before the factory snapshot (a fresh image). Nothing was changed.",
    };
  const files: ProvisionedServiceFile[] = [];
  for (const [name, inRoot, mode] of SERVICE_FILES)
    files.push(
      await place(root, inRoot, await readFile(path.join(options.dataDirectory, name)), mode),
    );
  const bundle = await readFile(options.daemon);
  const shebang = Buffer.from("#!/usr/bin/env node\n");
  const daemon =
    bundle.subarray(0, 2).toString() === "#!" ? bundle : Buffer.concat([shebang, bundle]);
  files.push(await place(root, SERVICE_DAEMON_PATH, daemon, 0o755));
  const link = path.join(root, "usr/bin/lifeboatd");
  const linked = await readlink(link).catch(() => undefined);
  if (linked !== SERVICE_DAEMON_PATH) {
    await mkdir(path.dirname(link), { recursive: true, mode: 0o755 });
    await symlink(SERVICE_DAEMON_PATH, `${link}.lifeboat-new`).catch(async (e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    });
    const { rename } = await import("node:fs/promises");
    await rename(`${link}.lifeboat-new`, link);
  }
  files.push({
    path: "/usr/bin/lifeboatd",
    status: linked === SERVICE_DAEMON_PATH ? "kept" : "written",
  });
  const keys = options.trustedKeysPem ?? [];
  if (keys.length > 0) {
    const args: string[] = [];
    for (const [i, pem] of keys.entries()) {
      const inRoot = `/etc/lifeboat/keys/lifeboatd-${i + 1}.pem`;
      files.push(await place(root, inRoot, Buffer.from(pem), 0o644));
      args.push(`--trusted-key ${inRoot}`);
    }
    files.push(
      await place(
        root,
        "/etc/default/lifeboatd",
        Buffer.from(
          `# Written by lifeboat provision: the keys lifeboatd trusts recovery image sets with.\nLIFEBOATD_OPTIONS="${args.join(" ")}"\n`,
        ),
        0o644,
      ),
    );
  }
  const hasNode = await access(path.join(root, "usr/bin/node"), constants.X_OK).then(
    () => true,
    () => false,
  );
  return { files, hasNode };
}

/**
 * Install lifeboatd into the `root` subvolume, before the factory snapshot
 * is taken (so every reset keeps it): the hardened systemd unit, the D-Bus
 * system policy, the polkit actions, the D-Bus activation file, the daemon
 * bundle (`/usr/lib/lifeboat/lifeboatd.mjs`, linked from `/usr/bin/lifeboatd`)
 * and, with `trustedKeysPem`, its keys and `/etc/default/lifeboatd`.
 * Idempotent: a file already the same is `kept`. A factory snapshot taken
 * without the service is `PRECONDITION_FAILED` (a reset would remove it again).
 *
 * @example
 * ```ts
 * const r = await provisionService("/mnt/top", {
 *   dataDirectory: "node_modules/@lifeboat/service/data",
 *   daemon: "node_modules/@lifeboat/service/dist/lifeboatd-standalone.mjs",
 * });
 * if (r.isOk()) for (const f of r.value.files) console.log(f.status, f.path);
 * ```
 */
export function provisionService(
  top: string,
  options: ProvisionServiceOptions,
): ResultAsync<ProvisionedService, ResetError> {
  return ResultAsync.fromPromise(install(top, options), (e) =>
    ioError(e, path.join(top, ROOT_SUBVOLUME), "install lifeboatd"),
  ).andThen((r) => ("code" in r ? errAsync(r) : okAsync(r)));
}
