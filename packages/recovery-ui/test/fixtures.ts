/** A fake machine for the component tests: canned state, plans and runs, every call recorded. */
import type { ExecutorEvent, LifeboatError, Plan, PlanStep } from "@lifeboat/core";
import type { RecoveryBackend, RecoveryMachine } from "@lifeboat/recovery-ui";
import type { ResetRequest, SystemState } from "@lifeboat/reset";
import { err, ok, type Result } from "neverthrow";

export const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
export const KEY = { up: "\u001B[A", down: "\u001B[B", enter: "\r", esc: "\u001B" } as const;

const GiB = 1024 ** 3;

export function fakeState(overrides: Partial<SystemState> = {}): SystemState {
  return {
    disks: [],
    btrfs: {
      device: "/dev/loop1",
      fsUuid: "f00dfeed-0000-0000-0000-000000000001",
      sizeBytes: 20 * GiB,
      freeBytes: 12 * GiB,
      subvolumes: [
        {
          id: 256,
          path: "root",
          uuid: "r",
          parentUuid: undefined,
          readOnly: false,
          bytes: 3 * GiB,
        },
        { id: 257, path: "home", uuid: "h", parentUuid: undefined, readOnly: false, bytes: GiB },
      ],
      defaultSubvolumeId: 5,
      encryptedOn: undefined,
    },
    boot: { device: "/dev/loop2", fsUuid: "b" },
    rootMount: { by: "name", subvolume: "root" },
    factory: {
      snapshotPath: ".lifeboat/factory/root",
      snapshotUuid: "fs",
      bytes: 2 * GiB,
      intact: true,
      product: "Fedora",
      build: "40.1",
      kernelVersions: ["6.8.5"],
      bootFiles: [],
    },
    recovery: {
      device: "/dev/loop3",
      imageDir: "/run/x",
      product: "Fedora",
      build: "40.1",
      rootBytes: 2 * GiB,
      bootFiles: [],
      verified: true,
      problem: undefined,
    },
    otherOses: [],
    busy: [],
    live: false,
    checkpoints: [],
    ...overrides,
  };
}

const step = (id: string, title: string, reversible = true, destroys: PlanStep["destroys"] = []) =>
  ({
    id,
    kind: `reset.${id}`,
    title,
    params: {},
    destroys,
    reversible,
    preconditions: [],
  }) as PlanStep;

export function fakePlan(request: ResetRequest): Plan {
  const steps =
    request.kind === "reset-user-data"
      ? [
          step("delete-home", "Delete home", false, [
            { kind: "subvolume", what: "subvolume home", bytes: GiB },
          ]),
        ]
      : request.kind === "full-restore"
        ? [
            step("wipe", "Delete the system", false, [
              {
                kind: "operating-system",
                what: "Windows on /dev/loop4",
                bytes: 30 * GiB,
                loud: true,
              },
              { kind: "subvolume", what: "subvolume home", bytes: GiB },
            ]),
          ]
        : [
            step("snapshot", "Snapshot the factory root as root.new"),
            step("exchange", "Exchange root and root.new", false),
          ];
  return {
    version: 1,
    kind: request.kind,
    title: `Plan ${request.kind}`,
    target: "/dev/loop1",
    steps,
    warnings: [],
    digest: `sha256:${request.kind.padEnd(64, "0")}`,
  };
}

export interface FakeOptions {
  state?: SystemState;
  /** Passphrases the fake's open asks for, and the one that opens it. */
  luks?: { device: string; key: string };
  openError?: LifeboatError;
  runError?: LifeboatError;
  planError?: Partial<Record<ResetRequest["kind"], LifeboatError>>;
}

export function fakeBackend(o: FakeOptions = {}) {
  const calls: string[] = [];
  const machine: RecoveryMachine = {
    state: o.state ?? fakeState(),
    plan: (request) => {
      calls.push(`plan ${request.kind}`);
      const e = o.planError?.[request.kind];
      return e ? err(e) : ok(fakePlan(request));
    },
    describeRescueTarget: async (directory) => {
      calls.push(`measure ${directory}`);
      return ok({ directory, freeBytes: 8 * GiB, fsType: "vfat" });
    },
    execute: async (plan, onProgress) => {
      calls.push(`execute ${plan.digest}`);
      return runSteps(plan.steps.length, onProgress, o.runError);
    },
    resume: async (onProgress) => {
      calls.push("resume");
      return runSteps(2, onProgress, undefined);
    },
    refresh: async () => ok(machine.state),
    close: async () => {
      calls.push("close");
    },
  };
  const backend: RecoveryBackend = {
    open: async (ask) => {
      calls.push("open");
      if (o.openError) return err(o.openError);
      if (o.luks) {
        for (let attempt = 0; ; attempt++) {
          if (attempt === 3)
            return err({
              code: "RESET_LUKS_WRONG_KEY",
              message: "wrong key",
              device: o.luks.device,
            });
          const key = await ask(o.luks.device, attempt);
          calls.push(`key ${key}`);
          if (key === undefined)
            return err({
              code: "RESET_ENCRYPTED_LOCKED",
              message: "locked",
              device: o.luks.device,
            });
          if (key === o.luks.key) break;
        }
      }
      return ok(machine);
    },
  };
  return { backend, calls };
}

async function runSteps(
  n: number,
  onProgress: (e: ExecutorEvent) => void,
  error: LifeboatError | undefined,
): Promise<Result<void, LifeboatError>> {
  onProgress({ type: "plan-started", planDigest: "d", totalSteps: n, attempt: 1, resumed: false });
  for (let i = 0; i < n; i++) {
    onProgress({
      type: "step-started",
      stepId: `s${i}`,
      stepIndex: i,
      totalSteps: n,
      kind: "k",
      title: `step ${i + 1}`,
      rerun: false,
    });
    if (error && i === n - 1) return err(error);
    onProgress({ type: "step-finished", stepId: `s${i}`, stepIndex: i, durationMs: 1 });
  }
  return ok(undefined);
}

/** Wait until `check` holds (polling; ink renders asynchronously), at most `ms`. */
export async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await tick(10);
}
