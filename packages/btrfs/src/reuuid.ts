/**
 * New internal identifiers for a copy of a Btrfs: the device UUID (blkid's
 * `UUID_SUB`) and every subvolume UUID, which no btrfs-progs version can
 * change. Done offline, on an unmounted single-device filesystem, by the
 * bundled `lifeboat-btrfs-reuuid` helper (C source shipped in this package,
 * compiled on demand like `lifeboat-exch`).
 *
 * @module
 */
import type { CommandRunner, ParseFailedError } from "@lifeboat/core";
import { err, errAsync, ok, type Result, type ResultAsync } from "neverthrow";
import { compileHelper, type HelperSpec, helperPath } from "./_internal/build-helper.js";
import type { BtrfsError, BtrfsReuuidRefusedError } from "./errors.js";
import type { BuildHelperOptions, ExchangeHelper, ExchangeHelperLocation } from "./exchange.js";

const SPEC: HelperSpec = {
  name: "lifeboat-btrfs-reuuid",
  main: "lifeboat-btrfs-reuuid.c",
  envVar: "LIFEBOAT_REUUID_HELPER",
};

/**
 * Where the compiled `lifeboat-btrfs-reuuid` helper is (or will be once built):
 * `$LIFEBOAT_REUUID_HELPER` when set, else
 * `<cacheDir>/lifeboat-btrfs-reuuid-<hash of its source>` (cache directory as
 * for `exchangeHelperPath`). Pure: it does not build or check anything.
 *
 * @example
 * ```ts
 * reuuidHelperPath(); // "/var/cache/lifeboat/lifeboat-btrfs-reuuid-8c1d0e2f3a4b" (as root)
 * ```
 */
export function reuuidHelperPath(options: ExchangeHelperLocation = {}): string {
  return helperPath(SPEC, options.cacheDir);
}

/**
 * Compile `lifeboat-btrfs-reuuid` into its cache directory (statically when
 * `-static` links), or return the existing build.
 *
 * @example
 * ```ts
 * const h = await buildReuuidHelper(runner);
 * if (h.isOk()) h.value.path;
 * ```
 */
export function buildReuuidHelper(
  runner: CommandRunner,
  options: BuildHelperOptions = {},
): ResultAsync<ExchangeHelper, BtrfsError> {
  return compileHelper(runner, {
    ...SPEC,
    target: reuuidHelperPath(options),
    ...(options.compiler === undefined ? {} : { compiler: options.compiler }),
    ...(options.force === undefined ? {} : { force: options.force }),
  });
}

/** One UUID replaced: `id` is the subvolume id (or the devid for the device UUID). */
export interface ReissuedUuid {
  readonly id: number;
  readonly from: string;
  readonly to: string;
}

/** What {@link reissueUuids} changed (or, in a dry run, would change). */
export interface ReissuedUuids {
  /** The device UUID (`UUID_SUB`); `id` is the devid. */
  readonly device: ReissuedUuid;
  /** Every subvolume that had a UUID, the top level (id 5) included when it has one. */
  readonly subvolumes: readonly ReissuedUuid[];
  /**
   * `parent_uuid` of snapshots, through the same map. A parent that is no
   * longer on the filesystem (`dangling: true`) gets a fresh value, one per
   * old value, so copies share none and siblings stay siblings.
   */
  readonly parents: readonly (ReissuedUuid & { readonly dangling: boolean })[];
  /**
   * `received_uuid` values that named a subvolume of this same filesystem
   * (sent and received inside it), through the same map. A `received_uuid`
   * naming the sender's subvolume on another filesystem is kept: it is what
   * an incremental `btrfs receive` and `verifyReceived` match against.
   */
  readonly received: readonly ReissuedUuid[];
  readonly dryRun: boolean;
}

/** Options for {@link reissueUuids}. */
export interface ReissueOptions extends BuildHelperOptions {
  /** Read and check everything, report the new UUIDs, write nothing. */
  readonly dryRun?: boolean;
  /** Checked before the helper starts; the helper itself is never killed halfway. */
  readonly signal?: AbortSignal;
}

const LINE = /^(device|subvolume|parent|received) (\d+) ([0-9a-f-]{36}) ([0-9a-f-]{36})$/;

/**
 * Parse the helper's standard output (pure).
 *
 * @example
 * ```ts
 * parseReuuidOutput("device 1 79c8…ac a1b2…c3\n", false)._unsafeUnwrap().device.id; // 1
 * ```
 */
export function parseReuuidOutput(
  stdout: string,
  dryRun: boolean,
): Result<ReissuedUuids, ParseFailedError> {
  let device: ReissuedUuid | undefined;
  const subvolumes: ReissuedUuid[] = [];
  const parents: (ReissuedUuid & { dangling: boolean })[] = [];
  const received: ReissuedUuid[] = [];
  const issues: string[] = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const m = LINE.exec(line.trim());
    if (!m) {
      issues.push(`unexpected line: ${JSON.stringify(line)}`);
      continue;
    }
    const entry = { id: Number(m[2]), from: m[3] ?? "", to: m[4] ?? "" };
    if (m[1] === "device") device = entry;
    else if (m[1] === "subvolume") subvolumes.push(entry);
    else if (m[1] === "parent") parents.push({ ...entry, dangling: false });
    else received.push(entry);
  }
  if (!device) issues.push("no device line");
  if (issues.length > 0 || !device)
    return err({
      code: "PARSE_FAILED",
      message: `lifeboat-btrfs-reuuid printed what was not expected: ${issues.join("; ")}`,
      source: "lifeboat-btrfs-reuuid",
      issues,
    });
  const known = new Set(subvolumes.map((s) => s.from));
  return ok({
    device,
    subvolumes,
    parents: parents.map((p) => ({ ...p, dangling: !known.has(p.from) })),
    received,
    dryRun,
  });
}

const REASONS: Record<number, BtrfsReuuidRefusedError["reason"]> = {
  1: "io",
  3: "busy",
  4: "not-btrfs",
  5: "unsupported",
  6: "inconsistent",
};

/**
 * Give an UNMOUNTED single-device Btrfs a new device UUID (`UUID_SUB`) and a
 * new UUID for every subvolume, rewriting `parent_uuid` and same-filesystem
 * `received_uuid` references to match, in place (fixed-size fields only: no
 * key and no tree shape changes). Tree blocks (every DUP copy) are written and
 * synced first, the superblocks (every mirror) last. The UUID tree is then
 * checked by the kernel on the next read-write mount (`uuid_tree_generation`
 * is set to 0), which drops the old entries and adds the new ones.
 *
 * Refuses (`BTRFS_REUUID_REFUSED`, nothing written) a mounted or held
 * device, a damaged superblock, checksums other than crc32c, several
 * devices, seeds, a log tree, RAID profiles, zoned filesystems, and metadata
 * that disagrees with itself. Power loss while it writes can leave some tree
 * blocks with the new device UUID and the superblock with the old: a re-run
 * then refuses (`inconsistent`) and `btrfs check` fails; the cure is to deploy
 * the image again. A write error says so (`BTRFS_REUUID_TORN`). Meant for a
 * freshly deployed copy, never for a machine in use.
 *
 * @example
 * ```ts
 * const r = await reissueUuids(runner, "/dev/loop3");
 * if (r.isOk()) console.log(r.value.device.from, "->", r.value.device.to, r.value.subvolumes.length);
 * ```
 */
export function reissueUuids(
  runner: CommandRunner,
  device: string,
  options: ReissueOptions = {},
): ResultAsync<ReissuedUuids, BtrfsError> {
  if (options.signal?.aborted)
    return errAsync({
      code: "ABORTED",
      message: "Cancelled before new Btrfs UUIDs were written.",
      during: "reissue btrfs uuids",
    });
  const dryRun = options.dryRun === true;
  return buildReuuidHelper(runner, options).andThen((helper) =>
    runner
      .run(helper.path, [...(dryRun ? ["--dry-run"] : []), device])
      .mapErr((e): BtrfsError => {
        if (e.code !== "COMMAND_FAILED" || e.exitCode === undefined) return e;
        const detail = e.stderrTail.trim();
        if (e.exitCode === 7)
          return {
            code: "BTRFS_REUUID_TORN",
            message: `Writing new UUIDs to ${device} failed halfway (${detail}); the filesystem may be torn: deploy the image again.`,
            device,
            detail,
            cause: e,
          };
        const reason = REASONS[e.exitCode];
        if (!reason) return e;
        return {
          code: "BTRFS_REUUID_REFUSED",
          message: `New Btrfs UUIDs for ${device} refused, nothing changed: ${detail}`,
          device,
          reason,
          detail,
          cause: e,
        };
      })
      .andThen((r) => parseReuuidOutput(r.stdout, dryRun)),
  );
}
