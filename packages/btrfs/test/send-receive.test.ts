import { createReadStream } from "node:fs";
import { chmod, mkdir, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { createExecaRunner } from "@lifeboat/core";
import { createBtrfs, requireTools, Scratch, sh } from "@lifeboat/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSubvolume,
  estimateSize,
  listSubvolumes,
  receive,
  receiveFile,
  sendReceive,
  sendStream,
  sendToFile,
  showSubvolume,
  snapshot,
  type TransferProgress,
  verifyReceived,
} from "../src/index.js";
import { treeManifest, watchingRunner } from "./tree-manifest.js";

const runner = createExecaRunner();
let scratch: Scratch;
let a: string;
let b: string;
let streamFile: string;
/** Real files from this machine, about 300 MiB. */
const SOURCES = ["/usr/share/doc", "/usr/lib/gcc", "/usr/share/vim"];

beforeAll(async () => {
  requireTools("btrfs", "cp");
  scratch = await Scratch.create("lifeboat-btrfs-send-");
  ({ mountpoint: a } = await createBtrfs(scratch, { bytes: 1536 * 1024 ** 2, name: "a.img" }));
  ({ mountpoint: b } = await createBtrfs(scratch, { bytes: 2048 * 1024 ** 2, name: "b.img" }));
  (await createSubvolume(runner, a, "data"))._unsafeUnwrap();
  for (const src of SOURCES) {
    const dest = path.join(a, "data", src.replaceAll("/", "_"));
    await sh("cp", ["-a", src, dest]);
  }
  (await snapshot(runner, a, "data", "snap1", { readOnly: true }))._unsafeUnwrap();
  streamFile = scratch.path("snap1.stream");
});
afterAll(async () => {
  await scratch?.cleanup();
});

function subvolumesIn(list: { path: string }[], dir: string): string[] {
  return list.map((s) => s.path).filter((p) => path.posix.dirname(p) === dir);
}

describe("send/receive of a real tree", () => {
  it("full send -> receive gives an identical tree, with progress", async () => {
    const events: TransferProgress[] = [];
    const r = (
      await sendReceive(
        runner,
        { topLevel: a, subvolume: "snap1" },
        { topLevel: b, directory: "." },
        { onProgress: (e) => events.push(e) },
      )
    )._unsafeUnwrap();
    const sent = (await showSubvolume(runner, a, "snap1"))._unsafeUnwrap();
    // The default transport samples the receiver's read count: close to, but not exactly, the stream size.
    expect(r.bytes).toBeGreaterThan(200 * 1024 ** 2);
    expect(r.sent).toEqual([{ name: "snap1", uuid: sent.uuid, parentUuid: undefined }]);
    expect(r.subvolumes.map((s) => [s.path, s.receivedUuid, s.readOnly])).toEqual([
      ["snap1", sent.uuid, true],
    ]);
    const bytes = events.flatMap((e) => (e.kind === "bytes" ? [e.bytes] : []));
    expect(bytes.length).toBeGreaterThan(3);
    expect(bytes).toEqual([...bytes].sort((x, y) => x - y));
    expect(bytes.at(-1)).toBe(r.bytes);
    // Every event carries a total, known from the first one on (the
    // subvolume's size estimate), never below done; the last one is done = total.
    const withTotal = events.flatMap((e) => (e.kind === "bytes" ? [e] : []));
    expect(withTotal[0]!.total).toBeGreaterThan(200 * 1024 ** 2);
    for (const e of withTotal) expect(e.total).toBeGreaterThanOrEqual(e.bytes);
    expect(withTotal.at(-1)).toEqual({ kind: "bytes", bytes: r.bytes, total: r.bytes });
    expect(events.find((e) => e.kind === "subvolume")).toBeDefined();
    (await verifyReceived(runner, b, "snap1", { expectedUuid: sent.uuid }))._unsafeUnwrap();
    const [left, right] = await Promise.all([
      treeManifest(path.join(a, "snap1")),
      treeManifest(path.join(b, "snap1")),
    ]);
    expect(left.length).toBeGreaterThan(1000);
    expect(right).toEqual(left);
    const size = (await estimateSize(runner, a, "snap1"))._unsafeUnwrap();
    expect(size.total).toBeGreaterThan(200 * 1024 ** 2);
    expect(size.shared).toBeGreaterThan(0); // shared with "data"
  });

  it("incremental send after changes gives the changed tree", async () => {
    const data = path.join(a, "data");
    await writeFile(path.join(data, "added.txt"), "a new file\n".repeat(1000));
    await rm(path.join(data, "_usr_share_vim"), { recursive: true });
    const victim = path.join(data, "_usr_lib_gcc");
    await mkdir(path.join(victim, "new-dir"));
    await chmod(path.join(victim, "new-dir"), 0o700);
    const f = await open(path.join(data, "added.txt"), "r+");
    await f.write("CHANGED", 100);
    await f.close();
    (await snapshot(runner, a, "data", "snap2", { readOnly: true }))._unsafeUnwrap();
    const incremental: TransferProgress[] = [];
    const r = (
      await sendReceive(
        runner,
        { topLevel: a, subvolume: "snap2" },
        { topLevel: b, directory: "." },
        { parent: "snap1", transport: "node", onProgress: (e) => incremental.push(e) },
      )
    )._unsafeUnwrap();
    // Node transport: exact bytes; the last event is done = total.
    expect(incremental.filter((e) => e.kind === "bytes").at(-1)).toEqual({
      kind: "bytes",
      bytes: r.bytes,
      total: r.bytes,
    });
    const parent = (await showSubvolume(runner, a, "snap1"))._unsafeUnwrap();
    expect(r.sent[0]?.parentUuid).toBe(parent.uuid);
    expect(r.bytes).toBeLessThan(1024 ** 2);
    expect(await treeManifest(path.join(b, "snap2"))).toEqual(
      await treeManifest(path.join(a, "snap2")),
    );
  });

  it("refuses to send a writable subvolume", async () => {
    const r = await sendStream(runner, a, "data");
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "BTRFS_NOT_READ_ONLY", subvolume: "data" });
  });

  it("sends to a file and receives it back only with a verification token", async () => {
    const sent = (await sendToFile(runner, a, "snap1", streamFile))._unsafeUnwrap();
    expect((await stat(streamFile)).size).toBe(sent.bytes);
    await expect(stat(`${streamFile}.partial`)).rejects.toMatchObject({ code: "ENOENT" });
    await mkdir(path.join(b, "from-file"));
    const refused = await receiveFile(runner, b, "from-file", streamFile, {} as never);
    expect(refused._unsafeUnwrapErr().code).toBe("BTRFS_UNTRUSTED_STREAM");
    const fromFile: TransferProgress[] = [];
    const r = (
      await receiveFile(runner, b, "from-file", streamFile, {
        verification: { trust: "caller-verified-this-stream" },
        onProgress: (e) => fromFile.push(e),
      })
    )._unsafeUnwrap();
    expect(r.subvolumes.map((s) => s.path)).toEqual(["from-file/snap1"]);
    // A file's total is its size, from the first event on.
    const fileBytes = fromFile.flatMap((e) => (e.kind === "bytes" ? [e] : []));
    expect(fileBytes.length).toBeGreaterThan(3);
    for (const e of fileBytes) expect(e.total).toBe(sent.bytes);
    expect(fileBytes.at(-1)?.bytes).toBe(sent.bytes);
    expect(r.subvolumes[0]?.receivedUuid).toBe(sent.subvolumes[0]?.uuid);
  });

  it.each(["pipe", "node"] as const)(
    "a sender killed halfway leaves no subvolume on the receiving side (%s transport)",
    async (transport) => {
      const cutDir = `cut-${transport}`;
      await mkdir(path.join(b, cutDir));
      const watching = watchingRunner(runner);
      let killed = false;
      const r = await sendReceive(
        watching,
        { topLevel: a, subvolume: "snap1" },
        { topLevel: b, directory: cutDir },
        {
          transport,
          onProgress: (e) => {
            if (!killed && e.kind === "bytes" && e.bytes > 120 * 1024 ** 2) {
              killed = true;
              const sender = watching.spawned.find((s) => s.args[0] === "send");
              sender?.handle.kill("SIGKILL");
            }
          },
        },
      );
      expect(killed).toBe(true);
      const e = r._unsafeUnwrapErr();
      expect(e.code).toBe("BTRFS_RECEIVE_FAILED");
      if (e.code !== "BTRFS_RECEIVE_FAILED") return;
      expect(e.removed).toEqual([`${cutDir}/snap1`]);
      expect(e.leftBehind).toEqual([]);
      expect(e.bytes).toBeGreaterThan(120 * 1024 ** 2);
      expect(subvolumesIn((await listSubvolumes(runner, b))._unsafeUnwrap(), cutDir)).toEqual([]);
    },
  );

  it("a stream cut exactly at a command boundary is caught and leaves nothing behind", async () => {
    const whole = await readFile(streamFile);
    // Walk the framing to a command boundary past the middle.
    let at = 17;
    while (at < whole.length / 2) at += 10 + whole.readUInt32LE(at);
    const cut = whole.subarray(0, at);
    await mkdir(path.join(b, "cut2"));
    const pieces = Array.from({ length: Math.ceil(cut.length / 2 ** 20) }, (_, i) =>
      cut.subarray(i * 2 ** 20, (i + 1) * 2 ** 20),
    );
    const r = await receive(runner, b, "cut2", Readable.from(pieces), {
      verification: { trust: "caller-verified-this-stream" },
    });
    const e = r._unsafeUnwrapErr();
    expect(e.code).toBe("BTRFS_RECEIVE_FAILED");
    // The receiver is killed before it sees the end of its input; whatever it had created is removed.
    if (e.code === "BTRFS_RECEIVE_FAILED") {
      expect(["cut2/snap1"]).toEqual(expect.arrayContaining([...e.removed]));
      expect(e.leftBehind).toEqual([]);
    }
    expect((e.cause as { code: string; reason: string }).reason).toBe("truncated");
    expect(subvolumesIn((await listSubvolumes(runner, b))._unsafeUnwrap(), "cut2")).toEqual([]);
  });

  it("cancellation removes the half-received subvolume", async () => {
    await mkdir(path.join(b, "cancelled"));
    const controller = new AbortController();
    const r = await receive(runner, b, "cancelled", createReadStream(streamFile), {
      verification: { verifiedBy: "test: file written by sendToFile above" },
      signal: controller.signal,
      onProgress: (e) => {
        if (e.kind === "bytes" && e.bytes > 100 * 1024 ** 2) controller.abort();
      },
    });
    expect(r._unsafeUnwrapErr()).toMatchObject({ code: "ABORTED", removed: ["cancelled/snap1"] });
    expect(subvolumesIn((await listSubvolumes(runner, b))._unsafeUnwrap(), "cancelled")).toEqual(
      [],
    );
  });

  it("rejects something that is not a send stream", async () => {
    await mkdir(path.join(b, "garbage"));
    const r = await receive(
      runner,
      b,
      "garbage",
      Readable.from([Buffer.from("not a stream at all")]),
      {
        verification: { trust: "caller-verified-this-stream" },
      },
    );
    const e = r._unsafeUnwrapErr();
    expect(e.code).toBe("BTRFS_RECEIVE_FAILED");
    expect((e.cause as { reason: string }).reason).toBe("bad-magic");
  });
});
