/** Data records shared by devices, storage nodes and buyers: sealed chunks, descriptors, bindings. */
export * from './binding.js';
export * from './descriptor.js';
export * from './fetch-proof.js';
export * from './key-bundle.js';
export * from './sealed-chunk.js';
