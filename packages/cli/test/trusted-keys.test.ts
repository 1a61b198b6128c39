/**
 * Without `--trusted-key` the CLI trusts the keys in its trusted-keys folder
 * (`/etc/lifeboat/trusted-keys`, or `$LIFEBOAT_TRUSTED_KEYS_DIR`): that is
 * how the recovery environment, where `provision` puts the OEM's key,
 * verifies the recovery image and can reset from it when the factory
 * snapshot is gone.
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt, keygen, provisionSmall, smallDisk } from "./support.js";

let scratch: Scratch;
let disk: string;
let keysDir: string;

beforeAll(async () => {
  ensureBuilt();
  scratch = await Scratch.create("lifeboat-trusted-keys-");
  const keys = keygen(scratch);
  disk = await smallDisk(scratch);
  provisionSmall(disk, keys.privateKey);
  keysDir = scratch.path("trusted");
  await mkdir(keysDir);
  await copyFile(keys.publicKey, `${keysDir}/oem.pem`);
}, 600_000);
afterAll(async () => {
  await scratch?.cleanup();
});

/** `lifeboat --json inspect --disk` with `env` (no --trusted-key); its recovery state. */
function recoveryState(env: Record<string, string>): { verified: boolean; problem?: string } {
  const out = execFileSync(
    process.execPath,
    [bin, "--json", "inspect", "--disk", disk, "--no-sizes"],
    {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", ...env },
      input: "",
    },
  );
  return JSON.parse(out).data.state.recovery;
}

describe("trusted keys without --trusted-key", () => {
  it("the keys in the trusted-keys folder verify the recovery image; an empty folder trusts none", async () => {
    expect(recoveryState({ LIFEBOAT_TRUSTED_KEYS_DIR: keysDir }).verified).toBe(true);
    const empty = scratch.path("empty");
    await mkdir(empty);
    expect(recoveryState({ LIFEBOAT_TRUSTED_KEYS_DIR: empty }).verified).toBe(false);
  });
});
