/**
 * A private system bus and polkit for the lifeboatd tests: a real dbus-daemon
 * with a configuration of its own (socket in a temp dir), a real polkitd in a
 * private mount namespace where its rule and action directories are ours, and
 * lifeboatd from source. Nothing of the host's buses or polkit is touched;
 * everything is stopped and removed by the scratch's clean-up.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Scratch } from "@lifeboat/testkit";

export const serviceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(serviceDir, "../..");
const POLKITD = "/usr/lib/polkit-1/polkitd";
const POLKIT_BUS_POLICY = "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf";

/** What a finished process gave. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `argv` to the end (no shell), collecting its output; never throws on a failing exit. */
export function run(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd ?? "", args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `argv` run as the unprivileged user nobody (uid and gid 65534, no groups). */
export function asNobody(argv: readonly string[]): string[] {
  return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...argv];
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/** Stop a process we started: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited(child);
  clearTimeout(timer);
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A private system bus, with polkitd and lifeboatd on it. */
export interface PrivateSystem {
  /** `DBUS_SYSTEM_BUS_ADDRESS` of the bus. */
  readonly address: string;
  /** The environment clients run with (the bus address set). */
  readonly env: NodeJS.ProcessEnv;
  /** Replace the polkit rules (JavaScript, as in /etc/polkit-1/rules.d) and restart polkitd. */
  setRules(rules: string): Promise<void>;
  /** lifeboatd's output so far. */
  serviceLog(): string;
  /** SIGKILL lifeboatd (a crash: no clean-up of its own). */
  killService(): Promise<void>;
  /** Start lifeboatd again. */
  startService(): Promise<void>;
}

function hasName(env: NodeJS.ProcessEnv, name: string): Promise<boolean> {
  return run(["busctl", "--system", "--no-pager", "--no-legend", "list"], env).then((r) =>
    r.stdout.split("\n").some((l) => l.startsWith(`${name} `)),
  );
}

/** In the mount namespace of `pid`, unmount (lazily, deepest first) every mount of a loop device. */
export function dropLoopMounts(pid: string): void {
  const octal = (t: string) =>
    t.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  const targets = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
    .split("\n")
    .map((line) => {
      const [left, right] = line.split(" - ");
      const target = left?.split(" ")[4];
      const source = right?.split(" ")[1];
      return target !== undefined && source?.startsWith("/dev/loop") ? octal(target) : undefined;
    })
    .filter((t): t is string => t !== undefined)
    .sort((a, b) => b.length - a.length);
  for (const target of targets) {
    try {
      execFileSync("nsenter", ["-t", pid, "-m", "umount", "-l", target], { stdio: "ignore" });
    } catch {
      // gone already (a parent's lazy unmount took it along)
    }
  }
}

/**
 * Start a dbus-daemon with its own system-bus configuration (our bus policy
 * file included), polkitd in a private mount namespace reading only our
 * actions file and rules, and lifeboatd. `runDirectory` is where lifeboatd
 * mounts the disks it opens.
 */
export async function startPrivateSystem(
  scratch: Scratch,
  options: {
    readonly runDirectory: string;
    /** A public key (PEM file) lifeboatd trusts the recovery image set with. */
    readonly trustedKey?: string;
  },
): Promise<PrivateSystem> {
  // polkitd runs as its own user and the clients as nobody: the socket's directory must be open to them.
  const dir = await mkdtemp("/tmp/lifeboatd-bus-");
  scratch.defer(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const socket = path.join(dir, "system_bus_socket");
  const address = `unix:path=${socket}`;
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address, NO_COLOR: "1" };

  const config = path.join(dir, "system.conf");
  await writeFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>${address}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>${POLKIT_BUS_POLICY}</include>
  <include>${path.join(serviceDir, "data/org.lifeboat.Lifeboat1.conf")}</include>
</busconfig>
`,
  );
  const daemon = spawn("dbus-daemon", ["--config-file", config, "--nofork", "--nopidfile"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  scratch.defer(() => stop(daemon));
  await until("the bus socket", () => existsSync(socket));

  // polkitd's private view: our actions file and rules over the host's directories.
  const holder = spawn("unshare", ["--mount", "--propagation", "private", "sleep", "infinity"], {
    stdio: "ignore",
  });
  scratch.defer(() => stop(holder));
  const pid = String(holder.pid);
  await until(
    "the private mount namespace",
    () => readlinkSync(`/proc/${pid}/ns/mnt`) !== readlinkSync("/proc/self/ns/mnt"),
  );
  // The namespace began with a copy of every mount of the host, other tests' loop-backed
  // disks among them (the host's mounts are private: their unmounts do not reach the copy).
  // Held here for the whole file, such a copy kept another test's disk mounted and its loop
  // devices busy after that test had unmounted it. polkitd needs none of them: drop them now.
  dropLoopMounts(pid);
  const rulesDir = path.join(dir, "rules.d");
  const emptyDir = path.join(dir, "empty");
  const actionsDir = path.join(dir, "actions");
  for (const d of [rulesDir, emptyDir, actionsDir]) await mkdir(d, { mode: 0o755 });
  await copyFile(
    path.join(serviceDir, "data/org.lifeboat.Lifeboat1.policy"),
    path.join(actionsDir, "org.lifeboat.Lifeboat1.policy"),
  );
  for (const [from, onto] of [
    [rulesDir, "/etc/polkit-1/rules.d"],
    [emptyDir, "/usr/share/polkit-1/rules.d"],
    [actionsDir, "/usr/share/polkit-1/actions"],
  ] as const)
    execFileSync("nsenter", ["-t", pid, "-m", "mount", "--bind", from, onto]);

  let polkitd: ChildProcess | undefined;
  const startPolkitd = async () => {
    const p = spawn("nsenter", ["-t", pid, "-m", POLKITD, "--no-debug"], {
      env,
      stdio: "ignore",
    });
    polkitd = p;
    scratch.defer(() => stop(p));
    await until("polkitd on the bus", () => hasName(env, "org.freedesktop.PolicyKit1"));
  };
  await startPolkitd();

  let log = "";
  let service: ChildProcess | undefined;
  const startService = async () => {
    const from = log.length;
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(serviceDir, "src/lifeboatd.ts"),
        "--run-directory",
        options.runDirectory,
        ...(options.trustedKey ? ["--trusted-key", options.trustedKey] : []),
      ],
      { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    service = child;
    const append = (c: Buffer) => {
      log += c.toString();
    };
    child.stdout.on("data", append);
    child.stderr.on("data", append);
    scratch.defer(() => stop(child, 120_000));
    await until(
      "lifeboatd on the bus",
      () => log.slice(from).includes("serving org.lifeboat.Lifeboat1"),
      60_000,
    );
  };
  await startService();

  return {
    address,
    env,
    serviceLog: () => log,
    killService: async () => {
      if (!service) return;
      const child = service;
      child.kill("SIGKILL");
      await exited(child);
      await until(
        "lifeboatd to leave the bus",
        async () => !(await hasName(env, "org.lifeboat.Lifeboat1")),
      );
    },
    startService,
    setRules: async (rules) => {
      await writeFile(path.join(rulesDir, "50-lifeboat-test.rules"), rules, { mode: 0o644 });
      if (polkitd) await stop(polkitd);
      await until(
        "polkitd to leave the bus",
        async () => !(await hasName(env, "org.freedesktop.PolicyKit1")),
      );
      await startPolkitd();
    },
  };
}
