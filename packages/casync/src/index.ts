/**
 * `@lifeboat/casync`: casync-compatible content-defined chunking for recovery
 * image updates. Make a `.caibx` index and `.castr` chunk store from an image;
 * extract an image from an index, seeds and stores (folders or HTTP).
 *
 * @module @lifeboat/casync
 */
export {
  type ChunkerParams,
  type ChunkSizes,
  chunkBoundaries,
  chunkerParams,
  DEFAULT_CHUNK_SIZES,
  discriminatorFor,
  findChunkEnd,
} from "./chunker.js";
export type {
  CasyncBadIndexError,
  CasyncBadParametersError,
  CasyncChunkCorruptError,
  CasyncChunkMismatchError,
  CasyncChunkNotFoundError,
  CasyncDecompressFailedError,
  CasyncError,
  CasyncFetchFailedError,
  CasyncOwnError,
} from "./errors.js";
export { estimateUpdate, type UpdateEstimate } from "./estimate.js";
export {
  type ExtractOptions,
  type ExtractProgress,
  type ExtractResult,
  extractImage,
} from "./extract.js";
export {
  type CasyncIndex,
  DEFAULT_INDEX_FLAGS,
  encodeIndex,
  type IndexChunk,
  parseIndex,
} from "./index-format.js";
export { type MakeOptions, type MakeProgress, type MakeResult, makeIndex } from "./make.js";
export { type ChunkStore, chunkPath } from "./store.js";
