/** Chunks: per-stream batches of samples and their columnar, compressed encoding. */
export { Chunker, type ChunkerOptions, type PlainChunk } from './chunker.js';
export { CHUNK_FORMAT_VERSION, ChunkFormatError, decodeChunkBody, encodeChunkBody } from './columnar.js';
