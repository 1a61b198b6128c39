// Closed error unions (issue #19): a public function's error type lists the
// codes it returns, so a switch on `code` is exhaustive and a misspelt code
// does not compile. The type assertions are checked by `tsc -b` (the root
// tsconfig includes the tests); the runtime part checks the one code returned.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { IoFailedError } from "@lifeboat/core";
import { afterAll, beforeAll, expect, expectTypeOf, test } from "vitest";
import { describeBootPayload } from "../src/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lifeboat-closed-errors-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("describeBootPayload: IO_FAILED is its whole error union; the switch is exhaustive", async () => {
  type E = Parameters<Parameters<Awaited<ReturnType<typeof describeBootPayload>>["mapErr"]>[0]>[0];
  expectTypeOf<E>().toEqualTypeOf<IoFailedError>();
  const describe = (e: E): string => {
    switch (e.code) {
      case "IO_FAILED":
        return `${e.operation} ${e.path}`;
      default: {
        const unreachable: never = e.code;
        return unreachable;
      }
    }
  };
  // @ts-expect-error a misspelt code does not compile
  const misspelt = (e: E) => e.code === "IO_FAILD";
  void misspelt;

  const boot = path.join(dir, "boot");
  await mkdir(boot);
  await writeFile(path.join(boot, "vmlinuz-6.1"), "kernel");
  const ok = await describeBootPayload(boot);
  expect(ok._unsafeUnwrap().map((f) => [f.path, f.bytes])).toEqual([["vmlinuz-6.1", 6]]);
  const missing = await describeBootPayload(path.join(dir, "nothing-here"));
  expect(missing.isErr()).toBe(true);
  if (missing.isErr()) {
    expect(missing.error.code).toBe("IO_FAILED");
    expect(describe(missing.error)).toContain("nothing-here");
  }
});
