/**
 * zod schemas of the `lifeboat --json` documents: one envelope
 * (`{ ok: true, command, data }` or `{ ok: false, command, exitCode, error }`)
 * and a `data` schema per command. Scripts can parse with them; the CLI's
 * tests check every document against them. Fields may be added in a minor
 * version; none is removed or changes type without a major one.
 *
 * @module
 */
import { z } from "zod";

/** A digest as plans carry it: `sha256:` and 64 hex digits. */
export const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** What a plan step destroys (core's `DataLoss`). */
export const dataLossSchema = z.object({
  kind: z.string(),
  what: z.string(),
  bytes: z.number().optional(),
  detail: z.string().optional(),
  loud: z.boolean().optional(),
});

/** A plan (core's `Plan`), as `plan`, `apply`, `subvol delete`, `gpt add-recovery` print it. */
export const planSchema = z.object({
  version: z.literal(1),
  kind: z.string(),
  title: z.string(),
  target: z.string(),
  digest: digestSchema,
  warnings: z.array(z.string()),
  /** The warnings as codes and parameters, one per entry of `warnings` (core's `PlanWarningCode`). */
  warningCodes: z
    .array(z.object({ code: z.string(), params: z.record(z.string(), z.unknown()) }))
    .optional(),
  steps: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      title: z.string(),
      params: z.record(z.string(), z.unknown()),
      destroys: z.array(dataLossSchema),
      reversible: z.boolean(),
      preconditions: z.array(z.string()),
    }),
  ),
});

/** The executor's summary of a run (core's `ExecutionSummary`). */
export const executionSummarySchema = z.object({
  planDigest: digestSchema,
  ranStepIds: z.array(z.string()),
  skippedStepIds: z.array(z.string()),
  attempt: z.number().int(),
  durationMs: z.number(),
  alreadyDone: z.boolean(),
});

/** `data` of a command that runs a plan: shown only (`--dry-run`), or run. */
export const planRunDataSchema = z.object({
  plan: planSchema,
  executed: z.boolean(),
  summary: executionSummarySchema.optional(),
  durationMs: z.number().optional(),
});

/** A partition table as `gpt show` and `inspect` print it (LBAs as numbers). */
export const diskTableSchema = z.object({
  device: z.string(),
  sectorSize: z.union([z.literal(512), z.literal(4096)]),
  totalSectors: z.number().int(),
  diskGuid: z.string(),
  partitions: z.array(
    z.object({
      number: z.number().int().positive(),
      firstLba: z.number().int(),
      lastLba: z.number().int(),
      sizeBytes: z.number().int(),
      typeGuid: z.string(),
      uniqueGuid: z.string(),
      name: z.string(),
    }),
  ),
});

/** `data` of `inspect`: the partition table (with `--disk`) and reset's `SystemState`. */
export const inspectDataSchema = z.object({
  disk: diskTableSchema.nullable(),
  state: z.object({
    disks: z.array(
      z.object({
        device: z.string(),
        sizeBytes: z.number(),
        partitions: z.array(
          z.object({
            device: z.string(),
            number: z.number(),
            typeGuid: z.string(),
            role: z.string(),
          }),
        ),
      }),
    ),
    btrfs: z
      .object({
        device: z.string(),
        fsUuid: z.string(),
        sizeBytes: z.number(),
        freeBytes: z.number(),
        defaultSubvolumeId: z.number(),
        subvolumes: z.array(
          z.object({ id: z.number(), path: z.string(), uuid: z.string(), readOnly: z.boolean() }),
        ),
      })
      .optional(),
    factory: z
      .object({
        snapshotPath: z.string(),
        snapshotUuid: z.string(),
        intact: z.boolean(),
        product: z.string(),
        build: z.string(),
        kernelVersions: z.array(z.string()),
      })
      .optional(),
    recovery: z
      .object({
        device: z.string(),
        imageDir: z.string(),
        digest: z.string().optional(),
        verified: z.boolean(),
      })
      .optional(),
    otherOses: z.array(
      z.object({ kind: z.string(), name: z.string(), devices: z.array(z.string()) }),
    ),
    busy: z.array(z.string()),
    live: z.boolean(),
    checkpoints: z
      .array(
        z.object({
          id: z.string(),
          factory: z.boolean(),
          createdAt: z.string(),
          intact: z.boolean(),
        }),
      )
      .optional(),
  }),
});

/** `data` of `plan`. */
export const planDataSchema = z.object({
  plan: planSchema,
  digest: digestSchema,
  savedTo: z.string().nullable(),
});

/** One subvolume as `subvol` commands print it. */
export const subvolumeSchema = z.object({
  id: z.number().int(),
  path: z.string(),
  uuid: z.string(),
  parentUuid: z.string().nullable(),
  readOnly: z.boolean(),
});

/** `data` of `subvol list`. */
export const subvolListDataSchema = z.object({
  defaultId: z.number().int(),
  subvolumes: z.array(subvolumeSchema),
});

/** `data` of `subvol set-default`. */
export const subvolSetDefaultDataSchema = z.object({
  id: z.number().int(),
  path: z.string().nullable(),
});

/** `data` of `image keygen`. */
export const imageKeygenDataSchema = z.object({
  keyId: z.string().regex(/^[0-9a-f]{32}$/),
  privateKey: z.string(),
  publicKey: z.string(),
});

/** `data` of `image build`. */
export const imageBuildDataSchema = z.object({
  dir: z.string(),
  product: z.string(),
  version: z.string(),
  signed: z.boolean(),
  keyId: z.string().nullable(),
  bytes: z.number().optional(),
  /** The anti-rollback counter signed into the manifest. */
  securityEpoch: z.number().int().nonnegative(),
});

/** A recorded anti-rollback override (a line of `rollback-log.jsonl`). */
export const rollbackRecordSchema = z.object({
  time: z.string(),
  action: z.union([z.literal("install"), z.literal("update"), z.literal("reset")]),
  fromEpoch: z.number(),
  floorSource: z.string(),
  toEpoch: z.number(),
  product: z.string(),
  version: z.string(),
  setDigest: z.string(),
  reason: z.string(),
});

/** `data` of `image sign`. */
export const imageSignDataSchema = z.object({ dir: z.string(), keyId: z.string() });

/** `data` of `image verify`. */
export const imageVerifyDataSchema = z.object({
  dir: z.string(),
  product: z.string(),
  version: z.string(),
  securityEpoch: z.number().int().nonnegative(),
  keyId: z.string(),
  mode: z.union([z.literal("full"), z.literal("sample")]),
  files: z.array(z.object({ path: z.string(), size: z.number() })),
  bytes: z.number(),
  durationMs: z.number(),
});

/** `data` of `image install`. */
export const imageInstallDataSchema = z.object({
  setId: z.string(),
  previousSetId: z.string().nullable(),
  device: z.string().nullable(),
  securityEpoch: z.number().int().nonnegative(),
  /** The override recorded when the set was older than the floor (`--allow-rollback`). */
  rollback: rollbackRecordSchema.nullable(),
});

/** `data` of `grub render`. */
export const grubRenderDataSchema = z.object({
  script: z.string(),
  sampleOutput: z.string(),
  sampleFsUuid: z.string(),
});

/** `data` of `grub install`: `path` as written now; `where` names it as it stays (subvolume + path). */
export const grubInstallDataSchema = z.object({
  path: z.string(),
  changed: z.boolean(),
  where: z.string(),
});

/** One GRUB integration `provision` wrote, kept or skipped (with why). */
export const grubIntegrationSchema = z.union([
  z.object({
    kind: z.literal("grub.d"),
    status: z.union([z.literal("installed"), z.literal("unchanged")]),
    /** The subvolume holding the script (`root`). */
    subvolume: z.string(),
    /** In the installed system: `/etc/grub.d/41_lifeboat`. */
    path: z.string(),
  }),
  z.object({
    kind: z.literal("custom.cfg"),
    status: z.union([z.literal("installed"), z.literal("unchanged")]),
    /** As the installed system sees it: `/boot/grub/custom.cfg` or `/boot/grub2/custom.cfg`. */
    path: z.string(),
    /** The grub.cfg beside it. */
    grubCfg: z.string(),
    /** Whether that grub.cfg reads custom.cfg (if not, `detail` says what to add). */
    sourced: z.boolean(),
    /** The recovery filesystem UUID the entries search for. */
    recoveryFsUuid: z.string(),
    detail: z.string(),
  }),
  z.object({
    /** The system's grub-mkconfig, run inside it after the grub.d script was installed. */
    kind: z.literal("grub-mkconfig"),
    /** `ran`: grub.cfg rewritten; `failed`: grub.cfg unchanged, `detail` says why. */
    status: z.union([z.literal("ran"), z.literal("failed")]),
    /** In the installed system: `/usr/sbin/grub2-mkconfig`. */
    command: z.string(),
    /** The grub.cfg it writes, as the installed system sees it: `/boot/grub2/grub.cfg`. */
    path: z.string(),
    detail: z.string(),
  }),
  z.object({
    kind: z.union([z.literal("grub.d"), z.literal("custom.cfg"), z.literal("grub-mkconfig")]),
    status: z.literal("skipped"),
    reason: z.union([
      z.literal("not-requested"),
      z.literal("no-grub-d"),
      z.literal("grub-d"),
      z.literal("no-grub-cfg"),
      z.literal("no-recovery-partition"),
      z.literal("no-grub-mkconfig"),
      z.literal("hand-written"),
    ]),
    detail: z.string(),
  }),
]);

/** `data` of `provision`. */
export const provisionDataSchema = z.object({
  product: z.string(),
  build: z.string(),
  snapshotUuid: z.string(),
  kernelVersions: z.array(z.string()),
  grub: z.array(grubIntegrationSchema),
  recovery: z.object({ setId: z.string(), device: z.string().nullable() }).nullable(),
  /** Why no recovery image was written (null when one was). */
  recoverySkipped: z
    .object({
      reason: z.union([z.literal("no-key"), z.literal("no-recovery-partition")]),
      detail: z.string(),
    })
    .nullable(),
  /** The recovery environment on the recovery partition (null: none asked for, or no recovery image). */
  recoveryEnvironment: z
    .object({
      id: z.string(),
      digest: z.string(),
      changed: z.boolean(),
      previousId: z.string().nullable(),
      kernelVersion: z.string(),
      kernel: z.string(),
      initrd: z.string(),
      record: z.string(),
      files: z.record(z.string(), z.object({ sha256: z.string(), bytes: z.number() })),
    })
    .nullable(),
  /** lifeboatd's files installed in root (`--service`; null without it). */
  service: z
    .object({
      files: z.array(
        z.object({ path: z.string(), status: z.union([z.literal("written"), z.literal("kept")]) }),
      ),
      hasNode: z.boolean(),
    })
    .nullable(),
  timingsMs: z.record(z.string(), z.number()),
});

/** `data` of `resume`. */
export const resumeDataSchema = z.object({
  summary: executionSummarySchema,
  durationMs: z.number(),
});

/** `data` of `abandon`. */
export const abandonDataSchema = z.object({
  planDigest: z.string().optional(),
  removed: z.array(z.string()),
  archivedAs: z.string().optional(),
});

/** `data` of `update`. */
export const updateDataSchema = z.object({
  output: z.string(),
  size: z.number(),
  bytesFromSeeds: z.number(),
  bytesFromStores: z.number(),
  bytesDownloaded: z.number(),
  bytesWritten: z.number(),
  durationMs: z.number(),
  /** With `--manifest`: the release's security epoch, and the override recorded, if any. */
  securityEpoch: z.number().optional(),
  rollback: rollbackRecordSchema.nullable().optional(),
});

const signedFileSchema = z.object({
  path: z.string(),
  present: z.boolean(),
  signatures: z.array(
    z.object({
      issuers: z.array(z.string()),
      certificates: z.array(z.object({ subject: z.string(), issuer: z.string() })),
    }),
  ),
});

/** `data` of `doctor`. */
export const doctorDataSchema = z.object({
  root: z.boolean(),
  node: z.string(),
  tools: z.array(
    z.object({ tool: z.string(), found: z.boolean(), installHint: z.string().nullable() }),
  ),
  /** With `--esp`: can each boot path boot with Secure Boot enforced (docs/secure-boot.md); null without. */
  secureBoot: z
    .object({
      esp: z.string(),
      shim: signedFileSchema,
      grub: signedFileSchema,
      /** The certificate inside the shim and whether GRUB's signature verifies against it; null when not told. */
      shimTrust: z.object({ shimCertificate: z.string(), trusted: z.boolean() }).nullable(),
      paths: z.array(
        z.object({
          role: z.string(),
          kernel: signedFileSchema,
          bootable: z.boolean(),
          problems: z.array(
            z.looseObject({
              code: z.enum([
                "SECURE_BOOT_SHIM_MISSING",
                "SECURE_BOOT_SHIM_NOT_MICROSOFT_SIGNED",
                "SECURE_BOOT_GRUB_MISSING",
                "SECURE_BOOT_GRUB_UNSIGNED",
                "SECURE_BOOT_GRUB_NOT_TRUSTED",
                "SECURE_BOOT_GRUB_MODULE_MISSING",
                "SECURE_BOOT_KERNEL_MISSING",
                "SECURE_BOOT_KERNEL_UNSIGNED",
              ]),
              message: z.string(),
              path: z.string(),
            }),
          ),
        }),
      ),
      bootable: z.boolean(),
      /** `insmod` of modules the signed GRUB lacks: GRUB refuses them and goes on. */
      warnings: z.array(
        z.looseObject({
          code: z.literal("SECURE_BOOT_GRUB_MODULE_MISSING"),
          message: z.string(),
          path: z.string(),
        }),
      ),
    })
    .nullable(),
});

/** `data` of `media create`: the plan, and what was written unless it was a dry run. */
export const mediaCreateDataSchema = z.object({
  plan: planSchema,
  executed: z.boolean(),
  media: z
    .object({
      target: z.string(),
      diskBytes: z.number(),
      fsUuid: z.string(),
      label: z.string(),
      espSerial: z.string(),
      setId: z.string(),
      durationMs: z.number(),
    })
    .optional(),
});

/** A checkpoint as `checkpoint list` prints it (the factory snapshot is `factory`). */
export const checkpointSchema = z.object({
  id: z.string(),
  factory: z.boolean(),
  reason: z.string(),
  createdAt: z.string(),
  rootPath: z.string(),
  bootPath: z.string(),
  kernelVersions: z.array(z.string()),
  parent: z.string().nullable(),
  bytes: z.number().nullable(),
  intact: z.boolean(),
});

/** `data` of `checkpoint create`. */
export const checkpointCreateDataSchema = z.object({
  checkpoint: z.object({
    id: z.string(),
    reason: z.string(),
    createdAt: z.string(),
    parent: z.string().nullable(),
    rootPath: z.string(),
    bootPath: z.string(),
    kernelVersions: z.array(z.string()),
  }),
});

/** `data` of `checkpoint list`: factory first, then oldest to newest. */
export const checkpointListDataSchema = z.object({ checkpoints: z.array(checkpointSchema) });

/** `data` of `checkpoint prune`: the plan run (or not, when nothing is to be deleted), what it deleted and kept. */
export const checkpointPruneDataSchema = planRunDataSchema.extend({
  deleted: z.array(z.string()),
  kept: z.array(
    z.object({
      id: z.string(),
      reason: z.literal(["factory", "running-root", "unfinished-plan", "recent"]),
    }),
  ),
});

/**
 * `data` of `reset schedule`: the request (with its digest), what was installed, and the plan as
 * it would run now; with `--in-recovery` (`runsIn`), the files on the recovery partition instead of
 * the unit and entry.
 */
export const resetScheduleDataSchema = z.union([
  z.object({
    request: z.object({ kind: z.string(), stamp: z.string() }),
    requestPath: z.string(),
    digest: digestSchema,
    plannedNow: z.object({ kind: z.string(), steps: z.number().int(), digest: digestSchema }),
    unit: z.string(),
    wantedBy: z.array(z.string()),
    bootEntry: z.string(),
    baseEntry: z.string(),
    menuFile: z.string().nullable(),
    grubenv: z.string().nullable(),
    nextEntry: z.string(),
  }),
  z.object({
    runsIn: z.literal("recovery-environment"),
    disk: z.string(),
    request: z.object({ kind: z.string(), stamp: z.string() }),
    /** On the recovery partition: `/schedule/request.json`. */
    requestPath: z.string(),
    /** The GRUB fragment whose presence makes the next boot run it: `/schedule/next-boot.cfg`. */
    grubFragment: z.string(),
    digest: digestSchema,
    entryId: z.string(),
    plannedNow: z.union([
      z.object({
        action: z.literal("reset"),
        kind: z.string(),
        steps: z.number().int(),
        digest: digestSchema,
      }),
      z.object({ action: z.literal("resume"), kind: z.string(), digest: digestSchema }),
    ]),
  }),
]);

/** `data` of `reset unschedule`: what was removed (empty when nothing was scheduled). */
export const resetUnscheduleDataSchema = z.object({ removed: z.array(z.string()) });

/** `data` of `reset run-scheduled`: the plan run (or resumed from its journal). */
export const resetRunScheduledDataSchema = z.object({
  action: z.literal(["executed", "resumed"]),
  planDigest: digestSchema,
  durationMs: z.number(),
});

/** `data` of the unattended `recovery`: the request run, or an interrupted run resumed from its journal. */
export const recoveryDataSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("executed"), planDigest: digestSchema, durationMs: z.number() }),
  z.object({ action: z.literal("resumed"), durationMs: z.number() }),
]);

/** `data` of `schema` with `--json`: the JSON Schema of one command's document, or the list of commands. */
export const schemaDataSchema = z.union([
  z.object({ command: z.string(), schema: z.record(z.string(), z.unknown()) }),
  z.object({ commands: z.array(z.string()) }),
]);

/**
 * The `data` schema of each command, by the `command` string of its document.
 *
 * @example
 * ```ts
 * import { commandDataSchemas, jsonSuccessSchema } from "lifeboat";
 * const doc = jsonSuccessSchema(commandDataSchemas.plan).parse(JSON.parse(stdout));
 * console.log(doc.data.digest);
 * ```
 */
export const commandDataSchemas = {
  inspect: inspectDataSchema,
  "gpt show": diskTableSchema,
  "gpt add-recovery": planRunDataSchema,
  "subvol list": subvolListDataSchema,
  "subvol create": subvolumeSchema,
  "subvol snapshot": subvolumeSchema,
  "subvol delete": planRunDataSchema,
  "subvol set-default": subvolSetDefaultDataSchema,
  "image keygen": imageKeygenDataSchema,
  "image build": imageBuildDataSchema,
  "image sign": imageSignDataSchema,
  "image verify": imageVerifyDataSchema,
  "image install": imageInstallDataSchema,
  "grub render": grubRenderDataSchema,
  "grub install": grubInstallDataSchema,
  provision: provisionDataSchema,
  plan: planDataSchema,
  apply: planRunDataSchema,
  resume: resumeDataSchema,
  abandon: abandonDataSchema,
  rescue: planRunDataSchema,
  update: updateDataSchema,
  doctor: doctorDataSchema,
  "checkpoint create": checkpointCreateDataSchema,
  "checkpoint list": checkpointListDataSchema,
  "checkpoint rollback": planRunDataSchema,
  "checkpoint prune": checkpointPruneDataSchema,
  "media create": mediaCreateDataSchema,
  "reset schedule": resetScheduleDataSchema,
  "reset unschedule": resetUnscheduleDataSchema,
  "reset run-scheduled": resetRunScheduledDataSchema,
  recovery: recoveryDataSchema,
  schema: schemaDataSchema,
} as const;

/** A command name with a JSON document. */
export type JsonCommand = keyof typeof commandDataSchemas;

/**
 * The success envelope around a command's `data` schema.
 *
 * @example
 * ```ts
 * jsonSuccessSchema(planDataSchema).parse(doc).data.digest;
 * ```
 */
export function jsonSuccessSchema<T extends z.ZodType>(data: T) {
  return z.object({ ok: z.literal(true), command: z.string(), data });
}

/** The failure envelope: the exit code, and the error with its stable `code`. */
export const jsonFailureSchema = z.object({
  ok: z.literal(false),
  command: z.string(),
  exitCode: z.number().int().min(1),
  error: z.looseObject({ code: z.string(), message: z.string() }),
});

/** The name {@link jsonSchemaOf} answers for the failure document (any command's). */
export const FAILURE_DOCUMENT = "failure";

/**
 * The JSON Schema (draft 2020-12) of `lifeboat --json <command>`'s success
 * document, or of the failure document for {@link FAILURE_DOCUMENT}, made from
 * the zod schemas above: for clients in other languages. Permissive about
 * fields it does not list (fields may be added in a minor version);
 * `undefined` for a name that has no document. The package ships them as
 * `lifeboat/schemas/<command with dashes>.schema.json`, and
 * `lifeboat schema <command>` prints them.
 *
 * @example
 * ```ts
 * import { jsonSchemaOf } from "lifeboat";
 * await writeFile("plan.schema.json", JSON.stringify(jsonSchemaOf("plan"), null, 2));
 * ```
 */
export function jsonSchemaOf(command: string): Record<string, unknown> | undefined {
  if (command === FAILURE_DOCUMENT)
    return {
      title: "lifeboat --json: a failure (any command)",
      ...z.toJSONSchema(jsonFailureSchema, { io: "input" }),
    };
  if (!Object.hasOwn(commandDataSchemas, command)) return undefined;
  const data = commandDataSchemas[command as JsonCommand];
  const doc = z.object({ ok: z.literal(true), command: z.literal(command), data });
  return { title: `lifeboat --json ${command}`, ...z.toJSONSchema(doc, { io: "input" }) };
}

/** The file name of a command's JSON Schema in the package's `schemas/` (`reset schedule` → `reset-schedule.schema.json`). */
export function jsonSchemaFileName(command: string): string {
  return `${command.replaceAll(" ", "-")}.schema.json`;
}
