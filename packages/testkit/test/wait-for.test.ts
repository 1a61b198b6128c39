import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { Handle } from "../src/qemu.js";

// The serial console arrives in chunks; a capture like (\S+) must not take half of a line.
it("waitFor waits for a match touching the end of the output to settle; a prompt without a newline still matches", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-waitfor-"));
  const script =
    "printf 'x disk=/dev/vda'; sleep 0.4; printf '2 recovery=/dev/vda3\\n'; sleep 0.3; printf 'login: '; sleep 30";
  const child = spawn("sh", ["-c", script], { detached: true, stdio: ["pipe", "pipe", "pipe"] });
  const log = path.join(dir, "serial.log");
  const vm = new Handle(
    child,
    createWriteStream(log),
    log,
    "wait-for",
    Date.now(),
    60_000,
    undefined,
  );
  try {
    const m = await vm.waitFor(/disk=(\S+)/, 10_000);
    expect(m[1]).toBe("/dev/vda2");
    const prompt = await vm.waitFor("login: ", 10_000);
    expect(prompt[0]).toBe("login: ");
  } finally {
    await vm.kill();
    await rm(dir, { recursive: true, force: true });
  }
});
