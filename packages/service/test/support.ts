/**
 * The set-up every lifeboatd test file shares: a loop-backed disk provisioned by
 * the real CLI, a private system bus with polkitd and lifeboatd on it
 * (private-bus.ts), and the clients the tests call it with (busctl, and the
 * Python client for errors, both as nobody unless said otherwise).
 */
import { spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { openMachine } from "@lifeboat/reset";
import { attachLoop, requireTools, Scratch } from "@lifeboat/testkit";
import { expect } from "vitest";
import { ensureBuilt, keygen, provisionSmall, runner, smallDisk } from "../../cli/test/support.js";
import {
  asNobody,
  type PrivateSystem,
  run,
  serviceDir,
  startPrivateSystem,
} from "./private-bus.js";

export const DEST = "org.lifeboat.Lifeboat1";
export const OBJECT = "/org/lifeboat/Lifeboat1";
export const MANAGER = "org.lifeboat.Lifeboat1.Manager";
export const JOB = "org.lifeboat.Lifeboat1.Job";
/** A polkit rule granting nobody every lifeboatd action. */
export const GRANT_NOBODY = `polkit.addRule(function (action, subject) {
  if (action.id.indexOf("org.lifeboat.Lifeboat1.") === 0 && subject.user === "nobody")
    return polkit.Result.YES;
});
`;

/** A method's reply values, or the error busctl printed (`data` empty then). */
export interface CallResult {
  readonly data: unknown[];
  readonly error: string;
}

/** A provisioned disk with lifeboatd serving it on a private bus. */
export interface ServiceBus {
  readonly scratch: Scratch;
  readonly system: PrivateSystem;
  /** The disk image file. */
  readonly image: string;
  /** The whole-disk loop device of {@link image}: what the methods take. */
  readonly loop: string;
  /** The key pair the disk's recovery set is signed with (lifeboatd trusts the public key). */
  readonly keys: { readonly privateKey: string; readonly publicKey: string };
  /** Where lifeboatd mounts the disks it opens. */
  readonly runDirectory: string;
  /** `busctl --json=short call` of a Manager method, as nobody (default) or root. */
  call(
    method: string,
    signature: string,
    args: readonly string[],
    as?: "root" | "nobody",
  ): Promise<CallResult>;
  /** A call that must fail, as nobody, through the Python client: `<D-Bus error name>: <message>`. */
  failure(method: string, signature: string, args: readonly unknown[]): Promise<string>;
  /** A property of a job object, as busctl's JSON gives it. */
  jobProperty(job: string, name: string): Promise<unknown>;
  /** Wait while the job runs (at most 5 minutes): its final `State`. */
  waitForJob(job: string): Promise<string>;
  /** Open the disk in this process (lifeboatd must not hold it) and run `body` on its top level. */
  onTop<T>(body: (top: string) => Promise<T>): Promise<T>;
  /** Stop everything and remove the scratch (loop devices, mounts, processes). */
  cleanup(): Promise<void>;
}

/**
 * Provision a small disk, attach it, start the private bus with polkitd and
 * lifeboatd (trusting the disk's key), and set `rules` when given (none:
 * polkit's defaults, which refuse nobody). `prepare` runs on the disk image
 * before it is attached; `tools` are required beside the bus's own.
 */
export async function startServiceBus(
  options: {
    readonly name?: string;
    readonly rules?: string;
    readonly tools?: readonly string[];
    readonly prepare?: (image: string) => Promise<void>;
  } = {},
): Promise<ServiceBus> {
  requireTools("dbus-daemon", "busctl", "setpriv", "unshare", "nsenter", ...(options.tools ?? []));
  ensureBuilt();
  const scratch = await Scratch.create(options.name ?? "lifeboatd-");
  try {
    const image = await smallDisk(scratch);
    const keys = keygen(scratch);
    provisionSmall(image, keys.privateKey);
    await options.prepare?.(image);
    const loop = await attachLoop(scratch, image);
    const runDirectory = scratch.path("run");
    await mkdir(runDirectory);
    const onTop = async <T>(body: (top: string) => Promise<T>): Promise<T> => {
      const m = (await openMachine(runner, { disk: loop, runDirectory }))._unsafeUnwrap();
      try {
        return await body(m.top ?? "");
      } finally {
        await m.close();
      }
    };
    // Runs after lifeboatd has stopped (clean-up goes last in, first out): opening the
    // disk once more clears what a lifeboatd killed by a failing test left mounted.
    scratch.defer(async () => {
      const m = await openMachine(runner, { disk: loop, runDirectory });
      if (m.isOk()) await m.value.close();
    });
    const system = await startPrivateSystem(scratch, {
      runDirectory,
      trustedKey: keys.publicKey,
    });
    if (options.rules !== undefined) await system.setRules(options.rules);

    const call: ServiceBus["call"] = async (method, signature, args, as = "nobody") => {
      const argv = [
        "busctl",
        "--system",
        "--json=short",
        "--timeout=600",
        "call",
        DEST,
        OBJECT,
        MANAGER,
        method,
        signature,
        ...args,
      ];
      const r = await run(as === "nobody" ? asNobody(argv) : argv, system.env);
      if (r.code !== 0) return { data: [], error: r.stderr.trim() };
      return { data: (JSON.parse(r.stdout) as { data: unknown[] }).data, error: "" };
    };
    const failure: ServiceBus["failure"] = async (method, signature, args) => {
      // The program text on the command line: the checkout may be in a folder nobody cannot read.
      const program = await readFile(path.join(serviceDir, "test/call-many.py"), "utf8");
      const [cmd, ...argv] = asNobody(["/usr/bin/python3", "-c", program]);
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(cmd ?? "", argv, {
          env: system.env,
          stdio: ["pipe", "pipe", "inherit"],
        });
        let stdout = "";
        child.stdout.on("data", (c: Buffer) => {
          stdout += c.toString();
        });
        child.on("error", reject);
        child.on("close", () => resolve(stdout));
        child.stdin.end(JSON.stringify([{ method, signature, args }]));
      });
      const [o] = JSON.parse(out) as { ok: boolean; name: string; message: string }[];
      expect(o?.ok, `${method} should fail`).toBe(false);
      return `${o?.name}: ${o?.message}`;
    };
    const jobProperty: ServiceBus["jobProperty"] = async (job, name) => {
      const r = await run(
        ["busctl", "--system", "--json=short", "get-property", DEST, job, JOB, name],
        system.env,
      );
      expect(r.stderr).toBe("");
      return (JSON.parse(r.stdout) as { data: unknown }).data;
    };
    const waitForJob: ServiceBus["waitForJob"] = async (job) => {
      const end = Date.now() + 300_000;
      let state = await jobProperty(job, "State");
      while (state === "running" && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 300));
        state = await jobProperty(job, "State");
      }
      return String(state);
    };
    return {
      scratch,
      system,
      image,
      loop,
      keys,
      runDirectory,
      call,
      failure,
      jobProperty,
      waitForJob,
      onTop,
      cleanup: () => scratch.cleanup(),
    };
  } catch (e) {
    await scratch.cleanup();
    throw e;
  }
}
