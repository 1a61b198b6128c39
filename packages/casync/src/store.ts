/**
 * casync chunk stores (`.castr`): `<store>/<first 4 hex digits>/<id>.cacnk`,
 * each file one compressed frame of the chunk. A store is a local folder or
 * an HTTP(S) base URL serving the same paths.
 *
 * @module
 */

/** A chunk store: a local folder path, or an `http:`/`https:` base URL. */
export type ChunkStore = string | URL;

const ID = /^[0-9a-f]{64}$/;

/** True when `id` is a well-formed chunk id (64 lowercase hex digits). */
export function isChunkId(id: string): boolean {
  return ID.test(id);
}

/**
 * The path of a chunk inside a store, relative to the store's root.
 *
 * @example
 * ```ts
 * chunkPath("025788d0…"); // "0257/025788d0….cacnk"
 * ```
 */
export function chunkPath(id: string): string {
  return `${id.slice(0, 4)}/${id}.cacnk`;
}

/** True when a store string names an HTTP(S) store rather than a folder. */
export function isRemoteStore(store: ChunkStore): boolean {
  const text = String(store);
  return text.startsWith("http://") || text.startsWith("https://");
}
