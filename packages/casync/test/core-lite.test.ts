/**
 * The package's copies of four @lifeboat/core helpers (src/_internal/core-lite.ts,
 * issue #19: loading core's index costs a makeIndex process about 24 MiB) give
 * what core's own give, and nothing in src imports core at run time.
 */
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as core from "@lifeboat/core";
import { describe, expect, it } from "vitest";
import * as lite from "../src/_internal/core-lite.js";

describe("core-lite", () => {
  it("makes the same IO_FAILED and ABORTED errors as core", () => {
    const cause = Object.assign(new Error("no space"), { code: "ENOSPC" });
    for (const c of [cause, "text", 7, undefined])
      expect(lite.ioError(c, "/x/y", "write")).toStrictEqual(core.ioError(c, "/x/y", "write"));
    expect(lite.abortedError("chunking")).toStrictEqual(core.abortedError("chunking"));
    expect(lite.abortedError("chunking", cause)).toStrictEqual(
      core.abortedError("chunking", cause),
    );
  });

  it("writes a file atomically as core does, leaving no temporary file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-core-lite-"));
    try {
      const target = path.join(dir, "a.caibx");
      await lite.writeFileAtomic(target, new Uint8Array([1, 2, 3]));
      await lite.writeFileAtomic(target, new Uint8Array([4, 5]));
      expect([...(await readFile(target))]).toEqual([4, 5]);
      expect((await stat(target)).mode & 0o777).toBe(0o644);
      expect(await readdir(dir)).toEqual(["a.caibx"]);
      await expect(
        lite.writeFileAtomic(path.join(dir, "missing", "b"), new Uint8Array(1)),
      ).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("no source file imports @lifeboat/core except for types", async () => {
    const src = path.join(import.meta.dirname, "../src");
    const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = await readFile(path.join(src, f), "utf8");
      for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*from\s+"@lifeboat\/core"/gm))
        expect(m[1], `${f}: ${m[0]}`).toBe("type ");
    }
  });
});
