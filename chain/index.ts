/**
 * The chain: codec, crypto, state machine, consensus and the light client. The agent and the other folders import it
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
  type VerifyItem,
  VerifyPool,
  type VerifyPoolOptions,
  type VerifyPoolStats,
} from './crypto/verify-pool.js';
export {
  unwrapBytes,
  unwrapKey,
  WRAPPED_KEY_LENGTH,
  wrapBytes,
  wrapKey,
  x25519PublicFromEd25519,
  x25519PublicKey,
  x25519SecretFromEd25519,
  x25519SharedSecret,
} from './crypto/x25519-wrap.js';
export * from './data/index.js';
export { BlockTree, type TreeEntry } from './dpos/block-tree.js';
export { type BlockRef, ConsensusEngine, type EngineOptions, type VoteVerifier } from './dpos/engine.js';
export {
  checkCertificate,
  DposError,
  type DposErrorCode,
  type FinalityCertificate,
  type FinalityVote,
  signVote,
  voteMessage,
} from './dpos/finality.js';
export {
  type BlockVote,
  type EngineAction,
  type EngineEvent,
  type EngineStats,
  type Evidence,
  type FinalBlock,
  type MissedSlot,
  REJECT_CODES,
  type RejectCode,
  type ScheduleChange,
} from './dpos/messages.js';
export { electSchedule, finalityQuorum, producerForSlot, slotAt } from './dpos/schedule.js';
export { ScheduleBook } from './dpos/schedule-book.js';
export * from './light/index.js';
export * from './node/bridge/order-notice-wire.js';
export {
  ackTopic,
  type ChunkEnvelope,
  chunkTopic,
  chunkTopicFilter,
  DEFAULT_TOPIC_PREFIX,
  type DescriptorEnvelope,
  decodeAck,
  decodeChunkEnvelope,
  decodeDescriptorEnvelope,
  decodeTxAck,
  decodeTxEnvelope,
  descriptorTopic,
  descriptorTopicFilter,
  encodeAck,
  encodeChunkEnvelope,
  encodeDescriptorEnvelope,
  encodeTxAck,
  encodeTxEnvelope,
  MAX_ACK_IDS,
  MAX_CHUNK_BYTES,
  MAX_DESCRIPTOR_BYTES,
  MAX_TX_BYTES,
  parseUplinkTopic,
  type TxEnvelope,
  txAckTopic,
  txTopic,
  txTopicFilter,
  UPLINK_KINDS,
  type UplinkKind,
  vehicleOfChunkTopic,
  type WireResult,
} from './node/ingest/wire.js';
export { type ApplyOptions, applyTx, MAX_NONCE_GAP, type TxResult, validateTx } from './state/apply.js';
export { agreementId, MAX_DEVICES } from './state/apply-market.js';
export type { TxContext } from './state/apply-tokens.js';
export {
  applyBlock,
  type Block,
  type BlockResult,
  type BuiltBlock,
  buildBlock,
  createGenesis,
  type GenesisSpec,
} from './state/block.js';
export { currentMana, maxMana, nextFreeTxHeight } from './state/mana.js';
export { type ChainParams, mainnetParams, minimalParams, UNIT } from './state/params.js';
export { type KeyProof, proveKey } from './state/prove.js';
export {
  type Account,
  type Agreement,
  type Descriptor as AnchoredDescriptor,
  decodeAccount,
  decodeAgreement,
  decodeDescriptor as decodeAnchoredDescriptor,
  decodeGrant,
  decodeOrder,
  decodeVehicle,
  type Grant,
  type Order,
  type Producer,
  type Share,
  type Supply,
  type Vehicle,
} from './state/records.js';
export {
  decodeSchedule,
  encodeSchedule,
  MAX_SCHEDULE,
  rankSchedule,
  recordedSchedule,
} from './state/schedule-record.js';
export { EMPTY_ROOT, type SmtProof, smtVerify } from './state/smt.js';
export { type ChainState, getAccount, getRecord, keyHash, stateKey, stateRoot } from './state/state.js';
// The SQLite store is not re-exported: importing chain/ must not load better-sqlite3 (a node
// imports chain/store/index.js for it).
export {
  type ChainStore,
  decodeBlock,
  decodeCertificate,
  decodeGenesis,
  encodeBlock,
  encodeCertificate,
  encodeGenesis,
  MemoryChainStore,
  type RebuildOptions,
  rebuildState,
  StoreError,
  type StoreErrorCode,
  type TxLocation,
  type VehicleGrant,
} from './store/pure.js';
export {
  agreementTermsHash,
  decodeSignedTx,
  encodeSignedTx,
  readUnsignedTx,
  signTx,
  txId,
} from './tx/codec.js';
export { BlockError, type BlockErrorCode, TxError, type TxErrorCode } from './tx/errors.js';
export {
  type BlockHeader,
  headerId,
  headerValue,
  readSignedHeader,
  type SignedHeader,
  signedHeaderValue,
} from './tx/header.js';
export { SignatureCache, type SignatureCacheStats } from './tx/signature-cache.js';
export {
  type AgreementTerms,
  type SignedTx,
  TOKENS,
  type Token,
  TX_KINDS,
  type TxBodies,
  type TxKind,
  type UnsignedTx,
} from './tx/types.js';
