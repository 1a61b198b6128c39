import path from "node:path";
import { type LifeboatError, lifeboatError } from "@lifeboat/core";
import {
  cancelScheduledReset,
  type Machine,
  openMachine,
  parseScheduledRequest,
  readScheduledReset,
  type ScheduledResetRequest,
  scheduleResetOn,
} from "@lifeboat/reset";
import { RESET_ENTRY_ID, ROOT_SUBVOLUME } from "@lifeboat/reset/layout";
import { err, errAsync, ok, type Result, ResultAsync } from "neverthrow";
import { type MachineAccess, withMachine } from "./machine.js";
import { MAX_REQUEST_BYTES } from "./request.js";

/** What `Schedule` answers (as JSON): paths relative to the disk's top level and /boot. */
export interface ScheduledOnDisk {
  readonly request: ScheduledResetRequest;
  /** The request file, relative to the Btrfs top level. */
  readonly requestPath: string;
  /** Its SHA-256: the unit runs `lifeboat reset run-scheduled --digest <this>`. */
  readonly digest: string;
  /** The request planned on the disk as it is now. */
  readonly plannedNow: { readonly kind: string; readonly steps: number; readonly digest: string };
  /** The unit, relative to the top level (in the root subvolume). */
  readonly unit: string;
  /** The `*.wants/` links that enable the unit, relative to the top level. */
  readonly wantedBy: readonly string[];
  /** The reset's BLS entry, relative to /boot. */
  readonly bootEntry: string;
  /** The BLS entry it was made from, relative to /boot. */
  readonly baseEntry: string;
  /** The GRUB script that got the menu entry, relative to /boot, or null (GRUB reads BLS). */
  readonly menuFile: string | null;
  /**
   * The grubenv whose `next_entry` makes the next boot take the entry (and
   * whose `saved_entry` holds it until the reset starts, against a power cut
   * during that boot), relative to /boot, or null: /boot has no GRUB
   * directory (the entry is in the boot menu, chosen by hand).
   */
  readonly grubenv: string | null;
  /** The entry the next boot takes (`next_entry`, when `grubenv` is not null). */
  readonly nextEntry: string;
}

/** Parse `Schedule`'s request JSON: `{ kind, stamp }` of a reset that can be scheduled. */
export function parseScheduleRequest(text: string): Result<ScheduledResetRequest, LifeboatError> {
  const bad = (message: string) =>
    err(
      lifeboatError("RESET_BAD_REQUEST", `${message} Nothing was changed.`, {
        field: "request",
      }) as LifeboatError,
    );
  if (text.length > MAX_REQUEST_BYTES)
    return bad(`The request is longer than ${MAX_REQUEST_BYTES} bytes.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return bad(`The request is not JSON: ${(e as Error).message}.`);
  }
  const r = parseScheduledRequest(value);
  return r.isOk() ? ok(r.value) : err(r.error);
}

function topAndBoot(
  machine: Machine,
  disk: string,
): Result<{ top: string; boot: string }, LifeboatError> {
  const { top, boot } = machine;
  if (top === undefined || boot === undefined)
    return err(
      lifeboatError(
        "PRECONDITION_FAILED",
        `${disk} has no Btrfs top level and /boot Lifeboat can open. Nothing was changed.`,
        { precondition: "a Btrfs top level and /boot" },
      ) as LifeboatError,
    );
  return ok({ top, boot });
}

/** Open `disk` (no inspection), run `body` on its top level and /boot, close it. */
function withOpened<T>(
  access: MachineAccess,
  disk: string,
  body: (where: { top: string; boot: string }) => ResultAsync<T, LifeboatError>,
): ResultAsync<T, LifeboatError> {
  return openMachine(access.runner, {
    disk,
    ...(access.runDirectory ? { runDirectory: access.runDirectory } : {}),
  }).andThen((machine) =>
    ResultAsync.fromSafePromise(
      (async () => {
        try {
          const where = topAndBoot(machine, disk);
          return where.isErr() ? err(where.error) : await body(where.value);
        } finally {
          await machine.close();
        }
      })(),
    ).andThen((r) => (r.isOk() ? ok(r.value) : err(r.error))),
  );
}

/**
 * Schedule `request` on `disk` for its next boot (`scheduleResetOn`, with the
 * unit in the root subvolume): the request is planned on the disk as it is
 * now first, so one that cannot run is refused before anything is written.
 */
export function scheduleOnDisk(
  access: MachineAccess,
  disk: string,
  request: ScheduledResetRequest,
): ResultAsync<ScheduledOnDisk, LifeboatError> {
  return withMachine(access, disk, { measureSizes: false }, (m) => {
    const where = topAndBoot(m.machine, disk);
    if (where.isErr()) return errAsync(where.error);
    const { top, boot } = where.value;
    return scheduleResetOn(
      access.runner,
      { top, boot, state: m.state },
      { request, systemRoot: path.join(top, ROOT_SUBVOLUME) },
    ).map((d) => ({
      request: d.request,
      requestPath: d.requestPath,
      digest: d.digest,
      plannedNow: d.plannedNow,
      unit: path.relative(top, d.unitPath),
      wantedBy: d.wantedBy.map((l) => path.relative(top, l)),
      bootEntry: path.relative(boot, d.entryPath),
      baseEntry: d.baseEntry,
      menuFile: d.menuFile === undefined ? null : path.relative(boot, d.menuFile),
      grubenv: d.grubenv === undefined ? null : path.relative(boot, d.grubenv),
      nextEntry: RESET_ENTRY_ID,
    }));
  });
}

/** Cancel the reset scheduled on `disk`: what was removed, relative to the top level or /boot. */
export function unscheduleOnDisk(
  access: MachineAccess,
  disk: string,
): ResultAsync<string[], LifeboatError> {
  return withOpened(access, disk, ({ top, boot }) =>
    cancelScheduledReset(access.runner, {
      top,
      boot,
      systemRoot: path.join(top, ROOT_SUBVOLUME),
    }).map((r) =>
      r.removed.map((f) =>
        f.startsWith(`${boot}/`)
          ? `/boot/${path.relative(boot, f)}`
          : f.startsWith(`${top}/`)
            ? path.relative(top, f)
            : f,
      ),
    ),
  );
}

/** The reset scheduled on `disk`: `{ scheduled: false }` or `{ scheduled: true, request, digest }`. */
export function scheduledOnDisk(
  access: MachineAccess,
  disk: string,
): ResultAsync<
  | { readonly scheduled: false }
  | { readonly scheduled: true; readonly request: ScheduledResetRequest; readonly digest: string },
  LifeboatError
> {
  return withOpened(access, disk, ({ top }) =>
    readScheduledReset(top).map((found) =>
      found === undefined
        ? { scheduled: false as const }
        : { scheduled: true as const, request: found.request, digest: found.digest },
    ),
  );
}
