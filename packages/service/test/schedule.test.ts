// lifeboatd's Schedule / Unschedule / ScheduledReset (issue #20): a reset at the disk's next
// boot, through @lifeboat/reset's scheduleResetOn / cancelScheduledReset / readScheduledReset.
// On a real private system bus with a real polkitd (private mount namespace) and a loop-backed
// disk provisioned by the real CLI. As nobody without a rule (or with only "read" granted),
// Schedule and Unschedule are refused and nothing is written; with the "schedule" action granted
// they work; bad input gets typed D-Bus errors. Needs root, loop devices, dbus-daemon, polkitd.
import { spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { attachLoop, requireTools, Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ensureBuilt, keygen, provisionSmall, smallDisk } from "../../cli/test/support.js";
import {
  asNobody,
  type PrivateSystem,
  run,
  serviceDir,
  startPrivateSystem,
} from "./private-bus.js";

const DEST = "org.lifeboat.Lifeboat1";
const OBJECT = "/org/lifeboat/Lifeboat1";
const MANAGER = "org.lifeboat.Lifeboat1.Manager";
const GRANT_NOBODY = `polkit.addRule(function (action, subject) {
  if (action.id.indexOf("org.lifeboat.Lifeboat1.") === 0 && subject.user === "nobody")
    return polkit.Result.YES;
});
`;
const GRANT_READ_ONLY = `polkit.addRule(function (action, subject) {
  if (action.id === "org.lifeboat.Lifeboat1.read" && subject.user === "nobody")
    return polkit.Result.YES;
});
`;

let scratch: Scratch;
let system: PrivateSystem;
let loop: string;

/** `busctl --json=short call` of a Manager method, as root or nobody: the reply's values, or the error. */
async function call(
  method: string,
  signature: string,
  args: readonly string[],
  as: "root" | "nobody" = "nobody",
): Promise<{ data: unknown[]; error: string }> {
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
}

/**
 * A call that must fail, as nobody, through the Python client (busctl prints only the message):
 * the D-Bus error's name and message.
 */
async function failure(method: string, signature: string, args: readonly unknown[]) {
  // The program text on the command line: the checkout may be in a folder nobody cannot read.
  const program = await readFile(path.join(serviceDir, "test/call-many.py"), "utf8");
  const [cmd, ...argv] = asNobody(["/usr/bin/python3", "-c", program]);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd ?? "", argv, { env: system.env, stdio: ["pipe", "pipe", "inherit"] });
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
}

async function scheduled(): Promise<{ scheduled: boolean; digest?: string; request?: unknown }> {
  const r = await call("ScheduledReset", "s", [loop], "root");
  expect(r.error).toBe("");
  return JSON.parse(String(r.data[0]));
}

beforeAll(async () => {
  requireTools("dbus-daemon", "busctl", "setpriv", "unshare", "nsenter");
  ensureBuilt();
  scratch = await Scratch.create("lifeboatd-schedule-");
  const image = await smallDisk(scratch);
  const keys = keygen(scratch);
  provisionSmall(image, keys.privateKey);
  loop = await attachLoop(scratch, image);
  const runDirectory = scratch.path("run");
  await mkdir(runDirectory);
  system = await startPrivateSystem(scratch, { runDirectory, trustedKey: keys.publicKey });
}, 300_000);

afterAll(async () => {
  await scratch?.cleanup();
});

const REQUEST = JSON.stringify({ kind: "reset-keep-home", stamp: "20261205T070000Z" });

test("Schedule and Unschedule are refused without the schedule action (no rule; read only), nothing is written", async () => {
  for (const rules of ["", GRANT_READ_ONLY]) {
    await system.setRules(rules);
    expect(await failure("Schedule", "ss", [loop, REQUEST]), rules).toContain(
      "org.lifeboat.Lifeboat1.Error.PERMISSION_DENIED",
    );
    expect(await failure("Unschedule", "s", [loop]), rules).toContain(
      "org.lifeboat.Lifeboat1.Error.PERMISSION_DENIED",
    );
  }
  await system.setRules("");
  expect(await failure("ScheduledReset", "s", [loop])).toContain(
    "org.lifeboat.Lifeboat1.Error.PERMISSION_DENIED",
  );
  await system.setRules(GRANT_READ_ONLY);
  expect(await call("ScheduledReset", "s", [loop])).toEqual({
    data: [JSON.stringify({ scheduled: false })],
    error: "",
  });
  expect(await scheduled()).toEqual({ scheduled: false });
});

test("granted: Schedule plans, then writes unit, BLS entry and request; ScheduledReset reads it back; Unschedule removes it all", async () => {
  await system.setRules(GRANT_NOBODY);
  const r = await call("Schedule", "ss", [loop, REQUEST]);
  expect(r.error, system.serviceLog()).toBe("");
  const done = JSON.parse(String(r.data[0])) as {
    request: unknown;
    requestPath: string;
    digest: string;
    plannedNow: { kind: string; steps: number; digest: string };
    unit: string;
    bootEntry: string;
    baseEntry: string;
    menuFile: string | null;
    grubenv: string | null;
    nextEntry: string;
  };
  expect(done.request).toEqual(JSON.parse(REQUEST));
  expect(done.requestPath).toBe(".lifeboat/scheduled-reset.json");
  expect(done.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(done.plannedNow.kind).toBe("reset-keep-home");
  expect(done.plannedNow.steps).toBeGreaterThan(0);
  expect(done.unit).toBe("root/etc/systemd/system/lifeboat-factory-reset.service");
  expect(done.bootEntry).toBe("loader/entries/lifeboat-factory-reset.conf");
  expect(done.baseEntry).toMatch(/^loader\/entries\/.+\.conf$/);
  // The test disk's /boot has BLS entries and no GRUB directory: no custom.cfg block, no
  // grubenv (the GRUB paths are covered by packages/reset/test/schedule.test.ts and the e2e test).
  expect(done.menuFile).toBeNull();
  expect(done.grubenv).toBeNull();
  expect(done.nextEntry).toBe("lifeboat-factory-reset");
  expect(await scheduled()).toEqual({
    scheduled: true,
    request: JSON.parse(REQUEST),
    digest: done.digest,
  });
  // Scheduling again replaces it (same request, same digest).
  const again = await call("Schedule", "ss", [loop, REQUEST]);
  expect(again.error).toBe("");
  expect((JSON.parse(String(again.data[0])) as { digest: string }).digest).toBe(done.digest);

  const u = await call("Unschedule", "s", [loop]);
  expect(u.error, system.serviceLog()).toBe("");
  const removed = u.data[0] as string[];
  expect(removed).toContain(".lifeboat/scheduled-reset.json");
  expect(removed).toContain("root/etc/systemd/system/lifeboat-factory-reset.service");
  expect(removed).toContain("/boot/loader/entries/lifeboat-factory-reset.conf");
  expect(removed).toHaveLength(2 + 3 + 1); // request, unit and its 3 links, BLS entry
  expect(await scheduled()).toEqual({ scheduled: false });
  expect(await call("Unschedule", "s", [loop])).toEqual({ data: [[]], error: "" });
});

test("bad input gets typed errors and schedules nothing: not JSON, a kind that cannot be scheduled, a bad stamp, not a disk, wrong signature", async () => {
  await system.setRules(GRANT_NOBODY);
  for (const bad of [
    "{",
    JSON.stringify({ kind: "cleanup" }),
    JSON.stringify({ kind: "reset-keep-home", stamp: "tomorrow" }),
    JSON.stringify({ kind: "reset-keep-home", stamp: "20261205T070000Z", extra: true }),
    "x".repeat(70_000),
  ])
    expect(await failure("Schedule", "ss", [loop, bad]), bad.slice(0, 40)).toContain(
      "org.lifeboat.Lifeboat1.Error.RESET_BAD_REQUEST",
    );
  expect(await failure("Schedule", "ss", ["/dev/null", REQUEST])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_NOT_A_DISK",
  );
  expect(await failure("Unschedule", "s", ["relative/path"])).toContain(
    "org.lifeboat.Lifeboat1.Error.RESET_NOT_A_DISK",
  );
  expect(await failure("Schedule", "s", [loop])).toContain(
    "org.freedesktop.DBus.Error.InvalidArgs",
  );
  expect(await scheduled()).toEqual({ scheduled: false });
});
