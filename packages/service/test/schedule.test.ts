// lifeboatd's Schedule / Unschedule / ScheduledReset (issue #20): a reset at the disk's next
// boot, through @lifeboat/reset's scheduleResetOn / cancelScheduledReset / readScheduledReset.
// On a real private system bus with a real polkitd (private mount namespace) and a loop-backed
// disk provisioned by the real CLI. As nobody without a rule (or with only "read" granted),
// Schedule and Unschedule are refused and nothing is written; with the "schedule" action granted
// they work; bad input gets typed D-Bus errors. Needs root, loop devices, dbus-daemon, polkitd.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { PrivateSystem } from "./private-bus.js";
import { GRANT_NOBODY, type ServiceBus, startServiceBus } from "./support.js";

const GRANT_READ_ONLY = `polkit.addRule(function (action, subject) {
  if (action.id === "org.lifeboat.Lifeboat1.read" && subject.user === "nobody")
    return polkit.Result.YES;
});
`;

let bus: ServiceBus;
let system: PrivateSystem;
let loop: string;
const call = (...a: Parameters<ServiceBus["call"]>) => bus.call(...a);
const failure = (...a: Parameters<ServiceBus["failure"]>) => bus.failure(...a);

async function scheduled(): Promise<{ scheduled: boolean; digest?: string; request?: unknown }> {
  const r = await call("ScheduledReset", "s", [loop], "root");
  expect(r.error).toBe("");
  return JSON.parse(String(r.data[0]));
}

beforeAll(async () => {
  bus = await startServiceBus({ name: "lifeboatd-schedule-" });
  ({ system, loop } = bus);
}, 300_000);

afterAll(async () => {
  await bus?.cleanup();
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
