/**
 * installRecoveryEnvironment on a real directory tree: the switch is one
 * rename of the `environment` link, an install cut short leaves the old
 * environment whole and current, an equal one is kept untouched, a damaged
 * file is found by its digest, a prebuilt folder that differs from its
 * record is refused.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, readlink, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Scratch } from "@lifeboat/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  installRecoveryEnvironment,
  readInstalledRecoveryEnvironment,
  verifyRecoveryEnvironment,
} from "../src/index.js";
import { RECOVERY_ENVIRONMENT_FILES } from "../src/layout.js";

let scratch: Scratch;
beforeEach(async () => {
  scratch = await Scratch.create("lifeboat-env-install-");
});
afterEach(async () => {
  await scratch.cleanup();
});

/** A prepared environment's folder: four files with `tag` in them and their record. */
async function folder(name: string, tag: string): Promise<string> {
  const dir = scratch.path(name);
  await mkdir(dir, { recursive: true });
  const files: Record<string, { sha256: string; bytes: number }> = {};
  for (const f of Object.values(RECOVERY_ENVIRONMENT_FILES)) {
    const bytes = Buffer.from(`${f} ${tag}\n`.repeat(1000));
    await writeFile(path.join(dir, f), bytes);
    files[f] = { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
  }
  const record = { version: 1, kernelVersion: "6.1.0-57-amd64", files };
  await writeFile(path.join(dir, "environment.json"), `${JSON.stringify(record, null, 2)}\n`);
  return dir;
}

describe("installRecoveryEnvironment", () => {
  it("installs, keeps an equal one untouched, and switches to a changed one by one rename", async () => {
    const root = scratch.path("recovery");
    await mkdir(root);
    const a = (await verifyRecoveryEnvironment(await folder("a", "A")))._unsafeUnwrap();
    const first = (await installRecoveryEnvironment(a, root))._unsafeUnwrap();
    expect(first).toMatchObject({
      id: a.id,
      digest: a.digest,
      changed: true,
      previousId: undefined,
    });
    expect(await readlink(path.join(root, "environment"))).toBe(`environments/${a.id}`);
    expect(await readlink(path.join(root, "lifeboat-exch"))).toBe("environment/lifeboat-exch");
    const inode = (await stat(path.join(root, "environment/initrd.img"))).ino;

    const again = (await installRecoveryEnvironment(a, root))._unsafeUnwrap();
    expect(again.changed).toBe(false);
    expect((await stat(path.join(root, "environment/initrd.img"))).ino).toBe(inode);

    const b = (await verifyRecoveryEnvironment(await folder("b", "B")))._unsafeUnwrap();
    const switched = (await installRecoveryEnvironment(b, root))._unsafeUnwrap();
    expect(switched).toMatchObject({ id: b.id, changed: true, previousId: a.id });
    expect(await readdir(path.join(root, "environments"))).toEqual([b.id]);
    expect((await readInstalledRecoveryEnvironment(root))._unsafeUnwrap().digest).toBe(b.digest);
    expect(await readFile(path.join(root, "initrd.img"), "utf8")).toContain("initrd.img B");
  });

  it("an install cut short leaves the old environment current and whole", async () => {
    const root = scratch.path("recovery");
    await mkdir(root);
    const a = (await verifyRecoveryEnvironment(await folder("a", "A")))._unsafeUnwrap();
    await installRecoveryEnvironment(a, root);
    const b = (await verifyRecoveryEnvironment(await folder("b", "B")))._unsafeUnwrap();
    const controller = new AbortController();
    const cut = await installRecoveryEnvironment(b, root, {
      signal: controller.signal,
      onProgress: (e) => {
        // After the kernel is copied, before the initramfs.
        if (e.step === "copy" && e.file === RECOVERY_ENVIRONMENT_FILES.initrd) controller.abort();
      },
    });
    expect(cut._unsafeUnwrapErr().code).toBe("ABORTED");
    expect(await readlink(path.join(root, "environment"))).toBe(`environments/${a.id}`);
    expect((await readInstalledRecoveryEnvironment(root))._unsafeUnwrap().digest).toBe(a.digest);
    expect(await readdir(path.join(root, "environments"))).toEqual([a.id]);
  });

  it("a damaged file on the partition is found by its digest and the environment written again", async () => {
    const root = scratch.path("recovery");
    await mkdir(root);
    const a = (await verifyRecoveryEnvironment(await folder("a", "A")))._unsafeUnwrap();
    await installRecoveryEnvironment(a, root);
    await writeFile(path.join(root, "environment/lifeboat-btrfs-agent"), "tampered\n");
    expect((await readInstalledRecoveryEnvironment(root))._unsafeUnwrapErr()).toMatchObject({
      code: "RECOVERY_ENV_DAMAGED",
      file: "lifeboat-btrfs-agent",
    });
    const again = (await installRecoveryEnvironment(a, root))._unsafeUnwrap();
    expect(again.changed).toBe(true);
    expect((await readInstalledRecoveryEnvironment(root))._unsafeUnwrap().digest).toBe(a.digest);
  });

  it("a prebuilt folder whose file differs from its record is RECOVERY_ENV_DAMAGED", async () => {
    const dir = await folder("p", "P");
    await writeFile(path.join(dir, "vmlinuz"), "another kernel\n");
    expect((await verifyRecoveryEnvironment(dir))._unsafeUnwrapErr()).toMatchObject({
      code: "RECOVERY_ENV_DAMAGED",
      file: "vmlinuz",
    });
  });
});
