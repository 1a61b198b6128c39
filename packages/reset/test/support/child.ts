// Runs a reset in a child process so a test can SIGKILL it at any moment.
// Usage: node child.mjs <config.json>; prints executor events as JSON lines.
import { readFile } from "node:fs/promises";
import { createExecaRunner, type Plan } from "@lifeboat/core";
import { loadPublicKey } from "@lifeboat/image";
import { executeReset, recoveryAccess, resumeReset } from "../../src/index.js";

const config = JSON.parse(await readFile(process.argv[2] ?? "", "utf8")) as {
  top: string;
  boot: string;
  recoveryDir: string;
  disks: string[];
  publicKeyPem: string;
  plan: Plan;
  mode: "execute" | "resume";
};
const runner = createExecaRunner();
const key = loadPublicKey(config.publicKeyPem)._unsafeUnwrap();
const env = {
  runner,
  top: config.top,
  boot: config.boot,
  recovery: recoveryAccess(runner, { dir: config.recoveryDir, trustedKeys: [key] }),
  disks: config.disks,
};
const onProgress = (e: unknown) => process.stdout.write(`${JSON.stringify(e)}\n`);
const r =
  config.mode === "execute"
    ? await executeReset(env, config.plan, { confirm: config.plan.digest, onProgress })
    : await resumeReset(env, { onProgress });
process.stdout.write(
  `${JSON.stringify({ type: "result", ok: r.isOk(), error: r.isErr() ? r.error.code : null })}\n`,
);
