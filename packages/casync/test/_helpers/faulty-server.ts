import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export type Fault = "drop" | "500" | "404" | "wrong-chunk" | "bit-flip";

/**
 * A static file server for a chunk store on 127.0.0.1 that injects faults:
 * per chunk id, a list of faults used up one per request (`times: Infinity`
 * keeps failing). Counts requests and clean deliveries per chunk id.
 */
export class FaultyServer {
  readonly requests = new Map<string, number>();
  readonly delivered = new Set<string>();
  readonly faults = new Map<string, { fault: Fault; times: number }>();
  #server: Server | undefined;
  url = "";

  constructor(readonly root: string) {}

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      void this.#handle(req.url ?? "/", res);
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/store/`;
  }

  async #handle(url: string, res: import("node:http").ServerResponse): Promise<void> {
    const rel = decodeURIComponent(url).replace(/^\/store\//, "");
    const id = path.basename(rel, ".cacnk");
    this.requests.set(id, (this.requests.get(id) ?? 0) + 1);
    let body: Buffer;
    try {
      body = await readFile(path.join(this.root, path.normalize(rel)));
    } catch {
      res.writeHead(404).end();
      return;
    }
    const fault = this.faults.get(id);
    if (fault !== undefined && fault.times > 0) {
      fault.times--;
      switch (fault.fault) {
        case "500":
          res.writeHead(500).end("boom");
          return;
        case "404":
          res.writeHead(404).end();
          return;
        case "drop":
          res.writeHead(200, { "content-length": body.length });
          res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
          return;
        case "wrong-chunk": {
          // A valid zstd frame of other data: only the id check can catch it.
          const other = await readFile(path.join(this.root, path.normalize(this.otherChunk(id))));
          res.writeHead(200, { "content-length": other.length }).end(other);
          return;
        }
        case "bit-flip": {
          const bad = Buffer.from(body);
          bad[bad.length >> 1] = (bad[bad.length >> 1] as number) ^ 0x10;
          res.writeHead(200, { "content-length": bad.length }).end(bad);
          return;
        }
      }
    }
    this.delivered.add(id);
    res.writeHead(200, { "content-length": body.length }).end(body);
  }

  /** Path of some chunk other than `id` (set by the test). */
  otherChunk: (id: string) => string = () => "";

  reset(): void {
    this.requests.clear();
    this.delivered.clear();
    this.faults.clear();
  }

  totalRequests(): number {
    let n = 0;
    for (const v of this.requests.values()) n += v;
    return n;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}
