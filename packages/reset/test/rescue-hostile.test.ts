/**
 * Issue #19, rescue with a hostile home on a real loop-backed Btrfs: a
 * chosen path through a symlink out of home, a file name that is not UTF-8,
 * sparse files larger than the target, and rsync's own failure messages.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, symlink, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { createBtrfs, mountTemp, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abandonReset, executeReset, inspect, plan } from "../src/index.js";
import { runner } from "./support/machine.js";

let scratch: Scratch;
let top: string;
let n = 0;
const BAD_NAME = Buffer.from([0x72, 0xe9, 0x73, 0x75, 0x6d, 0xff, 0x2e, 0x74, 0x78, 0x74]); // "r\xe9sum\xff.txt"

beforeAll(async () => {
  requireTools("rsync", "mkfs.btrfs");
  scratch = await Scratch.create("lifeboat-rescue-hostile-");
  const fs = await createBtrfs(scratch, { bytes: 512 * 1024 ** 2 });
  top = fs.mountpoint;
  await sh("btrfs", ["subvolume", "create", path.join(top, "home")]);
  const home = path.join(top, "home");
  await mkdir(path.join(home, "alice/docs"), { recursive: true });
  await writeFile(path.join(home, "alice/docs/thesis.txt"), "chapter one\n");
  await symlink("/etc", path.join(home, "alice/escape"));
  await mkdir(path.join(home, "bob"));
  await writeFile(Buffer.concat([Buffer.from(`${home}/bob/`), BAD_NAME]), "bytes, not UTF-8\n");
  await mkdir(path.join(home, "carol"));
  await writeFile(path.join(home, "carol/disk.img"), "");
  await truncate(path.join(home, "carol/disk.img"), 200 * 1024 ** 2); // sparse: 200 MiB, 0 allocated
  await mkdir(path.join(home, "dave"));
  await writeFile(path.join(home, "dave/photos.bin"), randomBytes(24 * 1024 ** 2));
}, 120_000);
afterAll(async () => {
  await scratch?.cleanup();
});

/** A fresh "USB stick": tmpfs of `mib` MiB. */
async function usb(mib: number): Promise<string> {
  return mountTemp(scratch, "tmpfs", { type: "tmpfs", options: `size=${mib}m` });
}

function must<T>(r: { isOk(): boolean; value?: T; error?: unknown }): T {
  if (!r.isOk()) throw new Error(JSON.stringify(r.error, null, 1));
  return r.value as T;
}

async function rescue(to: string, paths?: string[], format?: "send-stream") {
  const stamp = `20261205T0100${String(n++).padStart(2, "0")}Z`;
  const state = must(await inspect(runner, { top, disks: [] }));
  const planned = plan(state, {
    kind: "rescue",
    stamp,
    target: { directory: to, freeBytes: 10 * 1024 ** 3 },
    ...(paths ? { paths } : {}),
    ...(format ? { format } : {}),
  });
  const p = must(planned);
  const r = await executeReset({ runner, top }, p);
  // A failed run leaves its journal and snapshot; give the run up so the next test can plan.
  if (r.isErr()) (await abandonReset({ runner, top }))._unsafeUnwrap();
  return { r, stamp };
}

describe("rescue with a hostile home", () => {
  it("refuses a --path through a symlink out of home before copying anything (UNSAFE_PATH)", async () => {
    const to = await usb(64);
    const { r } = await rescue(to, ["alice/escape/hostname"]);
    const e = r._unsafeUnwrapErr();
    expect(e.code).toBe("STEP_FAILED");
    expect((e as { cause?: unknown }).cause).toMatchObject({
      code: "UNSAFE_PATH",
      reason: "symlink-escape",
      path: "alice/escape/hostname",
    });
    // Nothing reached the stick: no copy, no .partial.
    expect(await readdir(to)).toEqual([]);
  }, 120_000);

  it("copies and verifies a file whose name is not valid UTF-8", async () => {
    const to = await usb(64);
    const { r, stamp } = await rescue(to, ["bob"]);
    r._unsafeUnwrap();
    const names = await readdir(path.join(to, `lifeboat-rescue-${stamp}`, "bob"), {
      encoding: "buffer",
    });
    expect(names).toEqual([BAD_NAME]);
  }, 120_000);

  it("counts a sparse file at its full size: RESET_INSUFFICIENT_SPACE with numbers, nothing copied", async () => {
    const to = await usb(32);
    const { r } = await rescue(to, ["carol"]);
    const cause = (r._unsafeUnwrapErr() as { cause?: unknown }).cause as {
      code: string;
      neededBytes: number;
      availableBytes: number;
      message: string;
    };
    expect(cause).toMatchObject({ code: "RESET_INSUFFICIENT_SPACE", where: to });
    expect(cause.neededBytes).toBeGreaterThanOrEqual(200 * 1024 ** 2);
    expect(cause.availableBytes).toBeLessThanOrEqual(32 * 1024 ** 2);
    expect(cause.message).toMatch(/No space on .* needs 200(\.\d)? MiB .* free/);
    expect(await readdir(to)).toEqual([]);
  }, 120_000);

  it("a failed rsync says what rsync said, with the file concerned", async () => {
    const to = await usb(64);
    const stamp = `20261205T0100${String(n).padStart(2, "0")}Z`;
    // A plain file where the copy's working directory must go.
    await writeFile(path.join(to, `lifeboat-rescue-${stamp}.partial`), "in the way\n");
    const { r } = await rescue(to, ["alice/docs"]);
    const cause = (r._unsafeUnwrapErr() as { cause?: unknown }).cause as {
      code: string;
      message: string;
    };
    expect(cause.code).toBe("COMMAND_FAILED");
    expect(cause.message).toContain(`lifeboat-rescue-${stamp}.partial`);
    expect(cause.message).toMatch(/rsync.*(File exists|Not a directory)/);
  }, 120_000);

  it("a send stream that fills the target is RESET_INSUFFICIENT_SPACE with numbers, not a raw ENOSPC", async () => {
    const to = await usb(8);
    const { r } = await rescue(to, undefined, "send-stream");
    const cause = (r._unsafeUnwrapErr() as { cause?: unknown }).cause as {
      code: string;
      neededBytes: number;
      availableBytes: number;
      message: string;
    };
    expect(cause).toMatchObject({ code: "RESET_INSUFFICIENT_SPACE", where: to });
    expect(cause.neededBytes).toBeGreaterThan(cause.availableBytes);
    expect(cause.message).toMatch(/^No space on /);
    // Never published under the final name.
    expect((await readdir(to)).filter((n) => !n.endsWith(".partial"))).toEqual([]);
  }, 120_000);
});
