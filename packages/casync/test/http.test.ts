import { randomBytes } from "node:crypto";
import { access, readFile, writeFile } from "node:fs/promises";
import { Scratch } from "@lifeboat/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CasyncIndex, chunkPath, extractImage, makeIndex } from "../src/index.js";
import { FaultyServer } from "./_helpers/faulty-server.js";

// Extraction from an HTTP store on 127.0.0.1 that drops connections, answers 500,
// serves wrong or damaged chunks: it completes or fails typed, never writes a wrong image.
describe("HTTP store with injected failures", () => {
  let scratch: Scratch;
  let server: FaultyServer;
  let index: CasyncIndex;
  let image: Buffer;
  const fast = { retries: 3, backoffMs: 5, concurrency: 4 };
  const exists = (p: string) =>
    access(p).then(
      () => true,
      () => false,
    );
  const ids = () => index.chunks.map((c) => c.id);

  beforeAll(async () => {
    scratch = await Scratch.create("lifeboat-casync-http-");
    image = randomBytes(6 * 1024 * 1024);
    await writeFile(scratch.path("image.bin"), image);
    index = (
      await makeIndex(scratch.path("image.bin"), { store: scratch.path("store") })
    )._unsafeUnwrap().index;
    server = new FaultyServer(scratch.path("store"));
    server.otherChunk = (id) => chunkPath(ids().find((x) => x !== id) as string);
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
    await scratch?.cleanup();
  });
  beforeEach(() => server.reset());

  it("completes through dropped connections, 500s, a wrong chunk and a damaged chunk", async () => {
    const [a, b, c, d] = ids() as [string, string, string, string];
    server.faults.set(a, { fault: "drop", times: 1 });
    server.faults.set(b, { fault: "500", times: 2 });
    server.faults.set(c, { fault: "wrong-chunk", times: 1 });
    server.faults.set(d, { fault: "bit-flip", times: 1 });
    const out = scratch.path("ok.bin");
    const r = await extractImage(index, out, { stores: [server.url], ...fast });
    expect(r.isOk()).toBe(true);
    expect((await readFile(out)).equals(image)).toBe(true);
    expect([a, b, c, d].map((id) => server.requests.get(id))).toEqual([2, 3, 2, 2]);
    expect(r._unsafeUnwrap().requests).toBe(index.chunks.length + 5);
  });

  it("fails with CASYNC_CHUNK_CORRUPT on a chunk that stays wrong, then resumes fetching only what is missing", async () => {
    const last = ids().at(-1) as string;
    server.faults.set(last, { fault: "wrong-chunk", times: Number.POSITIVE_INFINITY });
    const out = scratch.path("resume.bin");
    const first = await extractImage(index, out, { stores: [server.url], ...fast, concurrency: 1 });
    expect(first._unsafeUnwrapErr()).toMatchObject({
      code: "CASYNC_CHUNK_CORRUPT",
      chunkId: last,
      attempts: 4,
      store: `${server.url}${chunkPath(last)}`,
    });
    expect(await exists(out)).toBe(false);
    expect(await exists(`${out}.part`)).toBe(true);
    const verified = new Set(server.delivered);
    expect(verified.size).toBe(index.chunks.length - 1);

    server.reset();
    const second = await extractImage(index, out, { stores: [server.url], ...fast });
    expect((await readFile(out)).equals(image)).toBe(true);
    expect([...server.requests.keys()]).toEqual([last]);
    expect(second._unsafeUnwrap()).toMatchObject({
      bytesFromResume: image.length - (index.chunks.at(-1)?.size ?? 0),
      requests: 1,
    });
    expect(await exists(`${out}.part`)).toBe(false);
  });

  it("fails with CASYNC_FETCH_FAILED after retries when the server keeps answering 500", async () => {
    const id = ids()[3] as string;
    server.faults.set(id, { fault: "500", times: Number.POSITIVE_INFINITY });
    const out = scratch.path("500.bin");
    const r = await extractImage(index, out, { stores: [server.url], ...fast });
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "CASYNC_FETCH_FAILED",
      chunkId: id,
      status: 500,
      attempts: 4,
    });
    expect(server.requests.get(id)).toBe(4);
    expect(await exists(out)).toBe(false);
  });

  it("falls back to the next store, and reports CASYNC_CHUNK_NOT_FOUND when none has the chunk", async () => {
    const id = ids()[1] as string;
    server.faults.set(id, { fault: "404", times: 1 });
    const both = await extractImage(index, scratch.path("fallback.bin"), {
      stores: [server.url, scratch.path("store")],
      ...fast,
    });
    expect(both.isOk()).toBe(true);
    server.faults.set(id, { fault: "404", times: 1 });
    const r = await extractImage(index, scratch.path("404.bin"), {
      stores: [server.url],
      ...fast,
      resume: false,
    });
    expect(r._unsafeUnwrapErr()).toMatchObject({
      code: "CASYNC_CHUNK_NOT_FOUND",
      chunkId: id,
      stores: [server.url],
    });
  });

  it("stops with ABORTED when the signal fires", async () => {
    const controller = new AbortController();
    const out = scratch.path("abort.bin");
    const r = await extractImage(index, out, {
      stores: [server.url],
      ...fast,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytesFromStores > 0) controller.abort();
      },
    });
    expect(r._unsafeUnwrapErr().code).toBe("ABORTED");
    expect(await exists(out)).toBe(false);
  });
});
