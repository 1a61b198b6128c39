import { requireRoot, requireTools } from "@lifeboat/testkit";
import { expect, it } from "vitest";
import { runServiceOverhead } from "../service-overhead.js";

// Keeps the benchmark script from rotting: one apply each way on a private bus (no timing asserted).
it("runServiceOverhead times a keep-home apply in process and through lifeboatd", async () => {
  requireRoot();
  requireTools("dbus-daemon", "busctl", "unshare", "nsenter", "mkfs.btrfs");
  const r = await runServiceOverhead(1);
  expect(r.inProcess.ms).toHaveLength(1);
  expect(r.viaService.ms).toHaveLength(1);
  expect(r.ratio).toBeGreaterThan(0);
  expect(r.callMs).toBeGreaterThan(0);
}, 300_000);
