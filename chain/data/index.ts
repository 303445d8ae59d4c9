/**
 * Data formats shared by devices, storage nodes and buyers: samples, the columnar chunk body, key
 * derivation from the owner's seed, sealed chunks, descriptors, bindings, key bundles and the
 * buyer's check of a batch.
 */
export * from './binding.js';
export * from './columnar.js';
export * from './descriptor.js';
export * from './fetch-proof.js';
export * from './key-bundle.js';
export * from './keys.js';
export type * from './sample.js';
export * from './sealed-chunk.js';
export * from './verify.js';
