// provisionService's failures carry the file system's own words (issue #19: an
// error says what went wrong), not "[object Object]".
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { provisionService } from "../src/index.js";
import { ROOT_SUBVOLUME } from "../src/layout.js";
import { SERVICE_FILES } from "../src/provision-service.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lifeboat-provision-service-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a file that cannot be written is IO_FAILED with its errno and message", async () => {
  const data = path.join(dir, "data");
  await mkdir(data);
  for (const [name] of SERVICE_FILES) await writeFile(path.join(data, name), `${name}\n`);
  const daemon = path.join(dir, "lifeboatd.mjs");
  await writeFile(daemon, "console.log('lifeboatd');\n");
  const top = path.join(dir, "top");
  // Where the unit goes stands a directory that is not empty: the rename over it fails.
  const unit = path.join(top, ROOT_SUBVOLUME, SERVICE_FILES[0][1]);
  await mkdir(path.join(unit, "in-the-way"), { recursive: true });

  const r = await provisionService(top, { dataDirectory: data, daemon });
  expect(r.isErr()).toBe(true);
  if (r.isErr()) {
    expect(r.error.code).toBe("IO_FAILED");
    expect(r.error.message).not.toContain("[object Object]");
    expect(r.error.message).toMatch(/EISDIR|ENOTEMPTY|directory/i);
    if (r.error.code === "IO_FAILED") expect(r.error.errno).toMatch(/^E[A-Z]+$/);
  }
});
