#!/usr/bin/env node
/**
 * lifeboatd: Lifeboat's system service. Connects to the system bus (or
 * `DBUS_SYSTEM_BUS_ADDRESS`), serves `org.lifeboat.Lifeboat1` and runs until
 * SIGTERM/SIGINT, after which it lets running jobs finish (their journals make
 * them resumable if it is killed instead).
 *
 *   lifeboatd [--trusted-key /etc/lifeboat/keys/oem.pem]... [--run-directory /run/lifeboat]
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { NameFlag, RequestNameReply, systemBus } from "@jellybrick/dbus-next";
import { createExecaRunner } from "@lifeboat/core";
import { loadPublicKey, type PublicKey, readMinimumEpoch } from "@lifeboat/image";
import { MINIMUM_EPOCH_FILE } from "@lifeboat/image/layout";
import { BUS_NAME } from "./names.js";
import { startService } from "./service.js";

function fail(message: string): never {
  process.stderr.write(`lifeboatd: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "trusted-key": { type: "string", multiple: true, default: [] },
      "run-directory": { type: "string" },
    },
    strict: true,
  });
  const keyFiles = values["trusted-key"] ?? [];
  const trustedKeys: PublicKey[] = [];
  let minimumEpoch: number | undefined;
  for (const file of keyFiles) {
    const key = loadPublicKey(await readFile(file));
    if (key.isErr()) fail(`${file}: ${key.error.message}`);
    trustedKeys.push(key.value);
    const floor = await readMinimumEpoch(path.join(path.dirname(file), MINIMUM_EPOCH_FILE));
    if (floor.isErr()) fail(floor.error.message);
    if (floor.value !== undefined && (minimumEpoch === undefined || floor.value > minimumEpoch))
      minimumEpoch = floor.value;
  }

  const bus = systemBus();
  // The library emits "error" (a lost connection) without declaring it in its event types.
  (bus as unknown as NodeJS.EventEmitter).on("error", (e: unknown) =>
    fail(`bus: ${e instanceof Error ? e.message : String(e)}`),
  );
  const service = startService({
    bus,
    runner: createExecaRunner(),
    trustedKeys,
    minimumEpoch,
    runDirectory: values["run-directory"],
  });
  const reply = await bus.requestName(BUS_NAME, NameFlag.DO_NOT_QUEUE);
  if (reply !== RequestNameReply.PRIMARY_OWNER) fail(`${BUS_NAME} is owned by another process`);
  process.stderr.write(`lifeboatd: serving ${BUS_NAME}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    service.stop();
    await service.idle();
    bus.disconnect();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)));
