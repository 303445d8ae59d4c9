/**
 * The chain: codec, crypto, state machine and consensus. The agent and the other folders import it
 * only through this file; it imports nothing else of QoodBlock's.
 */
export {
  type CanonicalValue,
  CodecError,
  type CodecErrorCode,
  decodeCanonical,
  encodeCanonical,
  MAX_DEPTH,
} from './codec/canonical.js';
export { readAmount, readArray, readBool, readBytes, readText, readUint } from './codec/fields.js';
export { AEAD, hkdf, open, seal } from './crypto/aead.js';
export {
  checkPublicKey,
  ED25519,
  Ed25519Signer,
  getPublicKey,
  sign,
  verify,
  verifyNoble,
} from './crypto/ed25519.js';
export { CryptoError, type CryptoErrorCode } from './crypto/errors.js';
export { bytesEqual, fromHex, sha256, taggedHash, toHex } from './crypto/hash.js';
export { merkleLeafHash, merkleProof, merkleRoot, verifyMerkleProof } from './crypto/merkle.js';
export {
  unwrapKey,
  WRAPPED_KEY_LENGTH,
  wrapKey,
  x25519PublicFromEd25519,
  x25519PublicKey,
  x25519SecretFromEd25519,
  x25519SharedSecret,
} from './crypto/x25519-wrap.js';
export * from './data/index.js';
export {
  ackTopic,
  type ChunkEnvelope,
  chunkTopic,
  chunkTopicFilter,
  DEFAULT_TOPIC_PREFIX,
  decodeAck,
  decodeChunkEnvelope,
  encodeAck,
  encodeChunkEnvelope,
  MAX_ACK_IDS,
  MAX_CHUNK_BYTES,
  vehicleOfChunkTopic,
  type WireResult,
} from './node/ingest/wire.js';
