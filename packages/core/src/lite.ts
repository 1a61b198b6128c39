/**
 * The parts of `@lifeboat/core` that need nothing but Node.js and neverthrow:
 * the IO_FAILED and ABORTED error builders, the durable file writes and the
 * worker-thread script loader of casync's and image's pools. For a
 * package that must stay small in memory: importing this subpath does not load
 * core's zod schemas or execa (about 25 MiB of RSS for core's root), which is
 * why `@lifeboat/casync`'s index maker uses it.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "@lifeboat/core/lite";
 * const r = await writeFileAtomic("/srv/store/index.caibx", bytes);
 * if (r.isErr()) console.error(r.error.message);
 * ```
 *
 * @module @lifeboat/core/lite
 */
export { fsyncDirectory, writeFileAtomic } from "./atomic-file.js";
export { type AbortedError, abortedError, type IoFailedError, ioError } from "./errors.js";
export { workerScript } from "./worker-script.js";
