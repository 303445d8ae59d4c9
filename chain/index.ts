/**
 * The chain core: codec, crypto, state machine, consensus, the light client, data and wire formats. Other rooms import it
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
export type { BatchVerifier, VerifyItem } from './crypto/batch-verifier.js';
export {
  checkPublicKey,
  ED25519,
  Ed25519Signer,
  getPublicKey,
  sign,
  strictPublicKey,
  verify,
  verifyNoble,
} from './crypto/ed25519.js';
export { CryptoError, type CryptoErrorCode } from './crypto/errors.js';
export { bytesEqual, fromHex, sha256, taggedHash, toHex } from './crypto/hash.js';
export { merkleLeafHash, merkleProof, merkleRoot, verifyMerkleProof } from './crypto/merkle.js';
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
export { Mempool } from './dpos/mempool.js';
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
export {
  type ActiveSchedule,
  activeSchedule,
  decodeActiveSchedule,
  encodeActiveSchedule,
  type RoundParams,
  roundAt,
  roundParams,
  scheduleForBlock,
} from './state/active-schedule.js';
export { type ApplyOptions, applyTx, MAX_NONCE_GAP, type TxResult, validateTx } from './state/apply.js';
export { agreementId, extensionCost, MAX_DEVICES, paidEndMs } from './state/apply-market.js';
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
export {
  EMPTY_ROOT,
  type SmtNode,
  type SmtProof,
  smtBuild,
  smtGet,
  smtLeaves,
  smtProve,
  smtRoot,
  smtSet,
  smtVerify,
} from './state/smt.js';
export { type ChainState, getAccount, getRecord, keyHash, stateKey, stateRoot } from './state/state.js';
export {
  checkAppend,
  checkCertificate as checkStoreCertificate,
  checkTruncate,
  grantsIn,
  idOf,
} from './store/chain-store.js';
// The store contract and its memory implementation; the SQLite one is the node's (node/store), so
// importing chain/ never loads better-sqlite3.
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
} from './store/index.js';
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
  type GrantExtension,
  type SignedTx,
  TOKENS,
  type Token,
  TX_KINDS,
  type TxBodies,
  type TxKind,
  type UnsignedTx,
} from './tx/types.js';
export * from './wire/index.js';
