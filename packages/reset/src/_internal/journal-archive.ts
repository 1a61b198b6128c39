import { mkdir, open, rm } from "node:fs/promises";
import path from "node:path";
import {
  fsyncDirectory,
  type IoFailedError,
  type JournalRecord,
  journalFiles,
} from "@lifeboat/core";
import type { ResultAsync } from "neverthrow";
import { JOURNAL_FILE, LIFEBOAT_DIR } from "../layout.js";
import { io } from "./fs.js";

/** Where finished and abandoned journals are kept, relative to the top level. */
export const JOURNAL_ARCHIVE_DIR = `${LIFEBOAT_DIR}/journals`;

/**
 * Move a journal aside so the next plan starts a fresh one: `record` is
 * written to `.lifeboat/journals/<time>-<digest>[-<suffix>].json` (fsynced:
 * on Btrfs that also makes a new file's name durable), then both slots are
 * removed. The removal needs no fsync of its own: the next run's first
 * journal write fsyncs the same directory, and until then a power cut only
 * brings the journal back, which is archived again (to the same name).
 */
export function archiveJournal(
  top: string,
  record: JournalRecord,
  suffix = "",
): ResultAsync<string, IoFailedError> {
  const journalPath = path.join(top, JOURNAL_FILE);
  const dir = path.join(top, JOURNAL_ARCHIVE_DIR);
  const when = (record.finishedAt ?? record.updatedAt).replace(/[-:.]/g, "");
  const name = `${when}-${record.planDigest.slice(7, 19)}${suffix ? `-${suffix}` : ""}.json`;
  const dest = path.join(dir, name);
  return io(
    (async () => {
      // The first archive ever creates the directory: its name is made durable once.
      if ((await mkdir(dir, { recursive: true })) !== undefined)
        await fsyncDirectory(path.dirname(dir));
      const file = await open(dest, "w", 0o644);
      try {
        await file.writeFile(`${JSON.stringify(record, null, 2)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      for (const slot of journalFiles(journalPath)) await rm(slot, { force: true });
      return `${JOURNAL_ARCHIVE_DIR}/${name}`;
    })(),
    journalPath,
    "archive the journal",
  );
}
