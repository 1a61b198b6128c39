import { describe, expect, it } from "vitest";
import { createExecaRunner } from "../src/index.js";

const runner = createExecaRunner();

describe("createExecaRunner", () => {
  it("runs a real program with an argument array and takes its output", async () => {
    const r = await runner.run("printf", ["%s|", "a b", "$HOME;", "'q'"]);
    expect(r._unsafeUnwrap().stdout).toBe("a b|$HOME;|'q'|");
  });

  it("pins the shape of COMMAND_FAILED", async () => {
    const r = await runner.run("sh", ["-c", "echo boom >&2; exit 3"]);
    const e = r._unsafeUnwrapErr();
    expect(e).toMatchObject({
      code: "COMMAND_FAILED",
      message: "sh exited with code 3: boom",
      command: "sh",
      args: ["-c", "echo boom >&2; exit 3"],
      exitCode: 3,
      signal: undefined,
      stderrTail: "boom\n",
    });
    expect(Object.keys(e).sort()).toEqual([
      "args",
      "code",
      "command",
      "durationMs",
      "exitCode",
      "message",
      "signal",
      "stderrTail",
    ]);
  });

  it("names the install command when a program is missing", async () => {
    const r = await runner.run("/nonexistent/sgdisk", []);
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "COMMAND_NOT_FOUND",
      command: "/nonexistent/sgdisk",
      installHint: "apt-get install -y gdisk",
    });
  });

  it("kills on timeout and on abort", async () => {
    const t = await runner.run("sleep", ["10"], { timeoutMs: 100 });
    expect(t._unsafeUnwrapErr()).toMatchObject({ code: "COMMAND_TIMED_OUT", timeoutMs: 100 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const a = await runner.run("sleep", ["10"], { signal: ac.signal });
    expect(a._unsafeUnwrapErr().code).toBe("ABORTED");
  });

  it("streams output without buffering it", async () => {
    const child = runner.spawn("head", ["-c", String(8 * 1024 * 1024), "/dev/zero"]);
    let bytes = 0;
    for await (const chunk of child.stdout) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(8 * 1024 * 1024);
    expect((await child.done).isOk()).toBe(true);
  });

  it("feeds bytes and streams to stdin", async () => {
    const { Readable } = await import("node:stream");
    const r1 = await runner.runBytes("cat", [], { stdin: new Uint8Array([0, 1, 2, 255]) });
    expect([...r1._unsafeUnwrap().stdout]).toEqual([0, 1, 2, 255]);
    const r2 = await runner.run("wc", ["-c"], { stdin: Readable.from([Buffer.alloc(70000)]) });
    expect(r2._unsafeUnwrap().stdout.trim()).toBe("70000");
  });
});
