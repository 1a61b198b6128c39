import path from "node:path";
import { exportPublicKeyPem, type PrivateKey } from "@lifeboat/image";
import type { ProvisionedService, ProvisionServiceOptions } from "@lifeboat/reset";
import pc from "picocolors";

/**
 * `provision --service <dir>`: the files of the `@lifeboat/service` package in
 * `dir` (its `data/` and the one-file `dist/lifeboatd-standalone.mjs`), and
 * the recovery image's public key for lifeboatd to trust when there is one.
 */
export function serviceOptions(dir: string, key: PrivateKey | undefined): ProvisionServiceOptions {
  return {
    dataDirectory: path.join(dir, "data"),
    daemon: path.join(dir, "dist", "lifeboatd-standalone.mjs"),
    ...(key ? { trustedKeysPem: [exportPublicKeyPem(key.publicKey)] } : {}),
  };
}

/** The text lines of `provision`'s service report. */
export function describeService(s: ProvisionedService | null): string[] {
  if (s === null) return [];
  const written = s.files.filter((f) => f.status === "written").length;
  return [
    `  lifeboatd installed in root (${written} written, ${s.files.length - written} already there): ${s.files.map((f) => f.path).join(", ")}`,
    ...(s.hasNode ? [] : [pc.yellow("  the root has no /usr/bin/node: lifeboatd needs it to run")]),
  ];
}
