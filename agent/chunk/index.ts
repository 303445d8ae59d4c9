/** Chunks: per-stream batches of samples and their columnar, compressed encoding. */
export { Chunker, type ChunkerOptions, type PlainChunk } from './chunker.js';
