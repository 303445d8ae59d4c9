/**
 * The device <-> storage node sync protocol on MQTT, shared by the agent's uplink and the node's
 * ingest (the agent reaches it through chain/index.ts). Payloads are CBOR:
 *
 * - `<prefix>/<vehicle>/up/chunk`: a map `{ id: bstr(32), stream: tstr, seq: uint, bytes: bstr,
 *   ? prev: uint }`, where `bytes` is the sealed chunk as stored (opaque here), `id` the SHA-256 of
 *   its header, and `prev` the seq of the chunk before it in the stream that the device still holds
 *   unacknowledged (absent when there is none: everything before was acknowledged or evicted).
 *   `prev` lets the node keep each stream in order: a chunk whose `prev` it has not stored yet
 *   arrived ahead of a lost one, and is left for the device to send again in order.
 * - `<prefix>/<vehicle>/up/descriptor`: a map `{ id: bstr(32), bytes: bstr }`, where `bytes` is the
 *   signed descriptor (chain/data/descriptor) and `id` its descriptor id.
 * - `<prefix>/<vehicle>/up/tx`: a map `{ seq: uint, kind: tstr, bytes: bstr, sig: bstr(64) }`: a
 *   transaction from the device's outbox for the node to submit to the chain. `seq` is its position
 *   in the outbox (increasing), `kind` what it is (1 to 32 of letters, digits, `-`, such as
 *   `descriptor`, `revoke` or `controlExec`), `bytes` the transaction as queued, and `sig` the
 *   device key's ed25519 signature of its record id (`outboxTxId`: tagged SHA-256 of vehicle, seq,
 *   kind and bytes). The bytes alone do not say who queued them (an owner-signed revoke, a
 *   `revoke-request` with no signature at all), so the signature is what tells the node that this
 *   device, and not another client of the broker, put the record in its outbox.
 * - `<prefix>/<vehicle>/down/ack`: a map `{ v: tstr, ids: [* bstr(32)], key: bstr(32), sig: bstr(64) }`:
 *   ids of chunks and of descriptors the node has stored durably, for vehicle `v`, signed by the
 *   storage node's key `key`. A chunk id (SHA-256 of a chunk header) and a descriptor id (SHA-256
 *   tagged `qood/descriptor/v1`) are distinct values, so one list serves both; the device deletes
 *   whichever it holds and ignores the rest.
 * - `<prefix>/<vehicle>/down/tx-ack`: a map `{ v: tstr, txs: [* [uint, bstr(32)]], key, sig }`: the
 *   (outbox seq, record id) of each transaction the node has stored durably. The record id names the
 *   content, so an ack for seq 3 deletes the device's entry 3 only when that entry is what the node
 *   stored (not an intruder's record under the same seq, nor an older store's entry 3).
 *
 * Ack signatures (`sig`) are ed25519 by `key` over `taggedHash('qood/ack/v1', canonical [type, v,
 * list])`, with type `ack` or `tx-ack`, so an ack for one vehicle or one list is never valid for
 * another. A device believes an ack only when `key` is one of the storage node keys it was given
 * (its `sync.nodeKeys` config) and the signature verifies (`openAck`, `openTxAck`). A replayed
 * genuine ack is harmless: it names content the node holds.
 *
 * Every topic is QoS 1 (at least once): duplicates are expected and harmless, since ids and
 * (vehicle, seq, record id) are idempotent keys on both sides. Decoders return a result naming
 * what was wrong, with a `code`, instead of throwing.
 */
import { Encoder } from 'cbor-x';
import { type CanonicalValue, encodeCanonical } from '../codec/canonical.js';
import { ED25519, type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { bytesEqual, taggedHash } from '../crypto/hash.js';

/** Default first topic levels (`qood/v1`). */
export const DEFAULT_TOPIC_PREFIX = 'qood/v1';
/** Most ids one ack message may carry (a bound on what a hostile peer can make us process). */
export const MAX_ACK_IDS = 4096;
/** Largest sealed chunk accepted in an envelope, bytes. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Largest signed descriptor accepted in an envelope, bytes (one of 4096 chunks is about 140 kB). */
export const MAX_DESCRIPTOR_BYTES = 1024 * 1024;
/** Largest queued transaction accepted in an envelope, bytes. */
export const MAX_TX_BYTES = 1024 * 1024;
/** Longest vehicle id an ack may name, characters. */
export const MAX_VEHICLE_ID_LENGTH = 256;
/** Tag of the hash a device signs for a queued transaction (its record id). */
export const OUTBOX_TX_TAG = 'qood/outbox-tx/v1';
/** Tag of the hash a storage node signs for an ack. */
export const ACK_TAG = 'qood/ack/v1';

const cbor = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});

/** A chunk on its way up. */
export interface ChunkEnvelope {
  /** Hex SHA-256 of the chunk header (64 lower-case hex digits). */
  readonly id: string;
  readonly stream: string;
  readonly seq: number;
  readonly bytes: Uint8Array;
  /** Seq of the previous unacknowledged chunk of the stream on the device, if any. */
  readonly prev?: number;
}

/** A descriptor on its way up. */
export interface DescriptorEnvelope {
  /** Hex descriptor id (64 lower-case hex digits). */
  readonly id: string;
  /** The signed descriptor. */
  readonly bytes: Uint8Array;
}

/** A queued transaction as the device's outbox holds it. */
export interface OutboxTx {
  /** Position in the device's outbox. */
  readonly seq: number;
  readonly kind: string;
  readonly bytes: Uint8Array;
}

/** A queued transaction on its way up, signed by the device. */
export interface TxEnvelope extends OutboxTx {
  /** The device key's signature of `outboxTxId` (64 bytes). */
  readonly sig: Uint8Array;
}

/** A signed ack of chunks and descriptors (`down/ack`). */
export interface Ack {
  readonly vehicleId: string;
  /** Hex chunk and descriptor ids. */
  readonly ids: readonly string[];
  /** The storage node key that signed it (32 bytes). */
  readonly nodeKey: Uint8Array;
  readonly sig: Uint8Array;
}

/** One acknowledged transaction: its outbox seq and its record id (`outboxTxId`, hex). */
export interface TxAckEntry {
  readonly seq: number;
  readonly id: string;
}

/** A signed ack of queued transactions (`down/tx-ack`). */
export interface TxAck {
  readonly vehicleId: string;
  readonly txs: readonly TxAckEntry[];
  readonly nodeKey: Uint8Array;
  readonly sig: Uint8Array;
}

/**
 * Why a payload was refused: not CBOR; a field of the wrong type or out of its limits; an ack for
 * another vehicle; signed by a key the device does not trust; or a signature that does not verify.
 */
export type WireErrorCode = 'NOT_CBOR' | 'BAD_FIELD' | 'WRONG_VEHICLE' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE';

/** A decode outcome: the value, or what was wrong and what was expected. */
export type WireResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: WireErrorCode; readonly error: string };

const badField = (error: string): { ok: false; code: 'BAD_FIELD'; error: string } => ({
  ok: false,
  code: 'BAD_FIELD',
  error,
});

/** Topic a vehicle publishes chunks on. */
export function chunkTopic(prefix: string, vehicleId: string): string {
  return `${prefix}/${vehicleId}/up/chunk`;
}

/** Topic a vehicle receives acks on. */
export function ackTopic(prefix: string, vehicleId: string): string {
  return `${prefix}/${vehicleId}/down/ack`;
}

/** The filter a node subscribes to for every vehicle's chunks. */
export function chunkTopicFilter(prefix: string): string {
  return `${prefix}/+/up/chunk`;
}

/** Topic a vehicle publishes descriptors on. */
export function descriptorTopic(prefix: string, vehicleId: string): string {
  return `${prefix}/${vehicleId}/up/descriptor`;
}

/** Topic a vehicle publishes queued transactions on. */
export function txTopic(prefix: string, vehicleId: string): string {
  return `${prefix}/${vehicleId}/up/tx`;
}

/** Topic a vehicle receives transaction acks (outbox seqs) on. */
export function txAckTopic(prefix: string, vehicleId: string): string {
  return `${prefix}/${vehicleId}/down/tx-ack`;
}

/** The filter a node subscribes to for every vehicle's descriptors. */
export function descriptorTopicFilter(prefix: string): string {
  return `${prefix}/+/up/descriptor`;
}

/** The filter a node subscribes to for every vehicle's queued transactions. */
export function txTopicFilter(prefix: string): string {
  return `${prefix}/+/up/tx`;
}

/** What a device publishes on the `up/...` topic level. */
export const UPLINK_KINDS = ['chunk', 'descriptor', 'tx'] as const;
export type UplinkKind = (typeof UPLINK_KINDS)[number];

/** The vehicle and kind of an uplink topic, or undefined when the topic is not one. */
export function parseUplinkTopic(
  prefix: string,
  topic: string,
): { readonly vehicleId: string; readonly kind: UplinkKind } | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const rest = topic.slice(prefix.length + 1).split('/');
  if (rest.length !== 3 || rest[1] !== 'up' || rest[0]!.length === 0) return undefined;
  const kind = UPLINK_KINDS.find((k) => k === rest[2]);
  return kind === undefined ? undefined : { vehicleId: rest[0]!, kind };
}

/** The vehicle id in a chunk topic, or undefined when the topic is not one. */
export function vehicleOfChunkTopic(prefix: string, topic: string): string | undefined {
  const t = parseUplinkTopic(prefix, topic);
  return t?.kind === 'chunk' ? t.vehicleId : undefined;
}

const hexToBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const bytesToHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const isId = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);

/** Encodes a chunk envelope. Throws a TypeError for an id that is not 64 hex digits. */
export function encodeChunkEnvelope(e: ChunkEnvelope): Uint8Array {
  if (!isId(e.id))
    throw new TypeError(`chunk id: expected 64 lower-case hex digits, got ${JSON.stringify(e.id)}`);
  return cbor.encode({
    id: hexToBytes(e.id),
    stream: e.stream,
    seq: e.seq,
    bytes: e.bytes,
    ...(e.prev === undefined ? {} : { prev: e.prev }),
  });
}

function decodeCbor(payload: Uint8Array, what: string): WireResult<unknown> {
  try {
    return { ok: true, value: cbor.decode(payload) as unknown };
  } catch (err) {
    return {
      ok: false,
      code: 'NOT_CBOR',
      error: `${what}: not CBOR (${payload.length} bytes): ${(err as Error).message}`,
    };
  }
}

/** Decodes an envelope from the `up/chunk` topic. */
export function decodeChunkEnvelope(payload: Uint8Array): WireResult<ChunkEnvelope> {
  const r = decodeCbor(payload, 'chunk envelope');
  if (!r.ok) return r;
  const v = r.value;
  const fail = (field: string, expected: string, found: unknown): WireResult<ChunkEnvelope> =>
    badField(`chunk envelope: field '${field}': found ${found}; expected ${expected}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    return fail('(top level)', 'a map with id, stream, seq, bytes', Array.isArray(v) ? 'an array' : typeof v);
  const m = v as Record<string, unknown>;
  if (!(m.id instanceof Uint8Array) || m.id.length !== 32)
    return fail('id', 'a 32-byte byte string', describe(m.id));
  if (typeof m.stream !== 'string' || m.stream.length === 0 || m.stream.length > 256)
    return fail('stream', 'a text string of 1 to 256 characters', describe(m.stream));
  if (typeof m.seq !== 'number' || !Number.isSafeInteger(m.seq) || m.seq < 0)
    return fail('seq', 'an unsigned integer', describe(m.seq));
  if (!(m.bytes instanceof Uint8Array) || m.bytes.length > MAX_CHUNK_BYTES)
    return fail('bytes', `a byte string of at most ${MAX_CHUNK_BYTES} bytes`, describe(m.bytes));
  if (
    m.prev !== undefined &&
    (typeof m.prev !== 'number' || !Number.isSafeInteger(m.prev) || m.prev < 0 || m.prev >= m.seq)
  )
    return fail('prev', `an unsigned integer below seq (${m.seq}), or nothing`, describe(m.prev));
  const value = { id: bytesToHex(m.id), stream: m.stream, seq: m.seq, bytes: m.bytes };
  return { ok: true, value: m.prev === undefined ? value : { ...value, prev: m.prev } };
}

/** A decoded map, or what the top level was instead. */
function decodeMap(payload: Uint8Array, what: string, fields: string): WireResult<Record<string, unknown>> {
  const r = decodeCbor(payload, what);
  if (!r.ok) return r;
  const v = r.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    return badField(`${what}: field '(top level)': found ${describe(v)}; expected a map with ${fields}`);
  return { ok: true, value: v as Record<string, unknown> };
}

/** The bytes a storage node signs for an ack: the ack type, the vehicle and the list. */
function ackSigningHash(type: 'ack' | 'tx-ack', vehicleId: string, list: CanonicalValue): Uint8Array {
  return taggedHash(ACK_TAG, encodeCanonical([type, vehicleId, list]));
}

function checkVehicleId(vehicleId: string, what: string): void {
  if (vehicleId.length === 0 || vehicleId.length > MAX_VEHICLE_ID_LENGTH)
    throw new TypeError(`${what}: vehicle id: expected 1 to ${MAX_VEHICLE_ID_LENGTH} characters`);
}

/**
 * Encodes an ack of chunk and descriptor ids (hex) for `vehicleId`, signed with the storage node's
 * key. Throws a TypeError for an id that is not 64 hex digits or more than MAX_ACK_IDS ids.
 */
export function encodeAck(vehicleId: string, ids: readonly string[], signer: Ed25519Signer): Uint8Array {
  checkVehicleId(vehicleId, 'ack');
  if (ids.length > MAX_ACK_IDS) throw new TypeError(`ack: ${ids.length} ids; at most ${MAX_ACK_IDS}`);
  for (const id of ids)
    if (!isId(id))
      throw new TypeError(`chunk id: expected 64 lower-case hex digits, got ${JSON.stringify(id)}`);
  const list = ids.map(hexToBytes);
  const sig = signer.sign(ackSigningHash('ack', vehicleId, list));
  return cbor.encode({ v: vehicleId, ids: list, key: signer.publicKey, sig });
}

/** The signer fields every ack carries, checked for shape. */
function ackSigner(
  m: Record<string, unknown>,
  what: string,
): WireResult<{ vehicleId: string; nodeKey: Uint8Array; sig: Uint8Array }> {
  if (typeof m.v !== 'string' || m.v.length === 0 || m.v.length > MAX_VEHICLE_ID_LENGTH)
    return badField(
      `${what}: field 'v': found ${describe(m.v)}; expected a vehicle id of 1 to ${MAX_VEHICLE_ID_LENGTH} characters`,
    );
  if (!(m.key instanceof Uint8Array) || m.key.length !== ED25519.publicKey)
    return badField(`${what}: field 'key': found ${describe(m.key)}; expected a 32-byte byte string`);
  if (!(m.sig instanceof Uint8Array) || m.sig.length !== ED25519.signature)
    return badField(`${what}: field 'sig': found ${describe(m.sig)}; expected a 64-byte byte string`);
  return { ok: true, value: { vehicleId: m.v, nodeKey: m.key, sig: m.sig } };
}

/** Decodes an ack from the `down/ack` topic (shape only: `openAck` also checks who signed it). */
export function decodeAck(payload: Uint8Array): WireResult<Ack> {
  const r = decodeMap(payload, 'ack', 'v, ids, key, sig');
  if (!r.ok) return r;
  const s = ackSigner(r.value, 'ack');
  if (!s.ok) return s;
  const list = r.value.ids;
  if (!Array.isArray(list))
    return badField(`ack: field 'ids': found ${describe(list)}; expected an array of 32-byte ids`);
  if (list.length > MAX_ACK_IDS) return badField(`ack: ${list.length} ids; expected at most ${MAX_ACK_IDS}`);
  const ids: string[] = [];
  for (const [i, x] of list.entries()) {
    if (!(x instanceof Uint8Array) || x.length !== 32)
      return badField(`ack: ids element ${i}: found ${describe(x)}; expected a 32-byte byte string`);
    ids.push(bytesToHex(x));
  }
  return { ok: true, value: { ...s.value, ids } };
}

/** Who may sign acks for whom: the device's vehicle and the storage node keys it trusts. */
export interface AckTrust {
  readonly vehicleId: string;
  /** Public keys (32 bytes) of the storage nodes whose acks the device believes. */
  readonly nodeKeys: readonly Uint8Array[];
}

/** Checks vehicle, key and signature of a decoded ack of either type. */
function checkAckSignature<T extends { vehicleId: string; nodeKey: Uint8Array; sig: Uint8Array }>(
  what: string,
  value: T,
  hash: () => Uint8Array,
  trust: AckTrust,
): WireResult<T> {
  if (value.vehicleId !== trust.vehicleId)
    return {
      ok: false,
      code: 'WRONG_VEHICLE',
      error: `${what}: for vehicle ${JSON.stringify(value.vehicleId)}, not ${JSON.stringify(trust.vehicleId)}`,
    };
  if (!trust.nodeKeys.some((k) => bytesEqual(k, value.nodeKey)))
    return {
      ok: false,
      code: 'UNKNOWN_KEY',
      error: `${what}: signed by ${bytesToHex(value.nodeKey)}, which is not a storage node key this device trusts`,
    };
  if (!verify(value.sig, hash(), value.nodeKey))
    return { ok: false, code: 'BAD_SIGNATURE', error: `${what}: the signature does not verify` };
  return { ok: true, value };
}

/**
 * Decodes an ack and checks that a trusted storage node signed it for this vehicle. Only an ack
 * that passes may delete anything on the device: anyone on the broker can publish on `down/ack`.
 */
export function openAck(payload: Uint8Array, trust: AckTrust): WireResult<Ack> {
  const r = decodeAck(payload);
  if (!r.ok) return r;
  const a = r.value;
  return checkAckSignature('ack', a, () => ackSigningHash('ack', a.vehicleId, a.ids.map(hexToBytes)), trust);
}

/** Encodes a descriptor envelope. Throws a TypeError for an id that is not 64 hex digits. */
export function encodeDescriptorEnvelope(e: DescriptorEnvelope): Uint8Array {
  if (!isId(e.id))
    throw new TypeError(`descriptor id: expected 64 lower-case hex digits, got ${JSON.stringify(e.id)}`);
  return cbor.encode({ id: hexToBytes(e.id), bytes: e.bytes });
}

/** Decodes an envelope from the `up/descriptor` topic. */
export function decodeDescriptorEnvelope(payload: Uint8Array): WireResult<DescriptorEnvelope> {
  const r = decodeMap(payload, 'descriptor envelope', 'id, bytes');
  if (!r.ok) return r;
  const m = r.value;
  const fail = (field: string, expected: string, found: unknown): WireResult<DescriptorEnvelope> =>
    badField(`descriptor envelope: field '${field}': found ${describe(found)}; expected ${expected}`);
  if (!(m.id instanceof Uint8Array) || m.id.length !== 32) return fail('id', 'a 32-byte byte string', m.id);
  if (!(m.bytes instanceof Uint8Array) || m.bytes.length === 0 || m.bytes.length > MAX_DESCRIPTOR_BYTES)
    return fail('bytes', `a byte string of 1 to ${MAX_DESCRIPTOR_BYTES} bytes`, m.bytes);
  return { ok: true, value: { id: bytesToHex(m.id), bytes: m.bytes } };
}

const TX_KIND = /^[A-Za-z0-9-]{1,32}$/;

function checkOutboxTx(t: OutboxTx): void {
  if (!Number.isSafeInteger(t.seq) || t.seq < 0)
    throw new TypeError(`tx seq: expected an unsigned integer, got ${t.seq}`);
  if (!TX_KIND.test(t.kind))
    throw new TypeError(`tx kind: expected 1 to 32 of letters, digits, '-', got ${JSON.stringify(t.kind)}`);
}

/**
 * The record id of a queued transaction (hex): tagged SHA-256 of the vehicle, its outbox seq, kind
 * and bytes. The device signs it when it publishes the record; the node names it in the tx-ack.
 */
export function outboxTxId(vehicleId: string, t: OutboxTx): string {
  return bytesToHex(outboxTxHash(vehicleId, t));
}

function outboxTxHash(vehicleId: string, t: OutboxTx): Uint8Array {
  return taggedHash(OUTBOX_TX_TAG, encodeCanonical([vehicleId, t.seq, t.kind, t.bytes]));
}

/** Signs a queued transaction with the device key for the `up/tx` topic. Throws a TypeError as encodeTxEnvelope. */
export function signTxEnvelope(vehicleId: string, t: OutboxTx, device: Ed25519Signer): TxEnvelope {
  checkOutboxTx(t);
  return { seq: t.seq, kind: t.kind, bytes: t.bytes, sig: device.sign(outboxTxHash(vehicleId, t)) };
}

/** True when `e` was signed by `devicePublicKey` for `vehicleId` (the vehicle of the topic it came on). */
export function verifyTxEnvelope(vehicleId: string, e: TxEnvelope, devicePublicKey: Uint8Array): boolean {
  return verify(e.sig, outboxTxHash(vehicleId, e), devicePublicKey);
}

/** Encodes a transaction envelope. Throws a TypeError for a seq, kind or signature the decoder would refuse. */
export function encodeTxEnvelope(e: TxEnvelope): Uint8Array {
  checkOutboxTx(e);
  if (e.sig.length !== ED25519.signature)
    throw new TypeError(`tx sig: expected ${ED25519.signature} bytes, got ${e.sig.length}`);
  return cbor.encode({ seq: e.seq, kind: e.kind, bytes: e.bytes, sig: e.sig });
}

/** Decodes an envelope from the `up/tx` topic (shape only: `verifyTxEnvelope` checks the signature). */
export function decodeTxEnvelope(payload: Uint8Array): WireResult<TxEnvelope> {
  const r = decodeMap(payload, 'tx envelope', 'seq, kind, bytes, sig');
  if (!r.ok) return r;
  const m = r.value;
  const fail = (field: string, expected: string, found: unknown): WireResult<TxEnvelope> =>
    badField(`tx envelope: field '${field}': found ${describe(found)}; expected ${expected}`);
  if (typeof m.seq !== 'number' || !Number.isSafeInteger(m.seq) || m.seq < 0)
    return fail('seq', 'an unsigned integer', m.seq);
  if (typeof m.kind !== 'string' || !TX_KIND.test(m.kind))
    return fail('kind', "1 to 32 of letters, digits, '-'", m.kind);
  if (!(m.bytes instanceof Uint8Array) || m.bytes.length === 0 || m.bytes.length > MAX_TX_BYTES)
    return fail('bytes', `a byte string of 1 to ${MAX_TX_BYTES} bytes`, m.bytes);
  if (!(m.sig instanceof Uint8Array) || m.sig.length !== ED25519.signature)
    return fail('sig', `the device's ${ED25519.signature}-byte signature`, m.sig);
  return { ok: true, value: { seq: m.seq, kind: m.kind, bytes: m.bytes, sig: m.sig } };
}

/**
 * Encodes an ack of queued transactions for `vehicleId`, signed with the storage node's key: each
 * entry's outbox seq and record id (`outboxTxId`). Throws a TypeError for a bad seq or id.
 */
export function encodeTxAck(
  vehicleId: string,
  txs: readonly TxAckEntry[],
  signer: Ed25519Signer,
): Uint8Array {
  checkVehicleId(vehicleId, 'tx ack');
  if (txs.length > MAX_ACK_IDS) throw new TypeError(`tx ack: ${txs.length} entries; at most ${MAX_ACK_IDS}`);
  for (const t of txs) {
    if (!Number.isSafeInteger(t.seq) || t.seq < 0)
      throw new TypeError(`tx seq: expected an unsigned integer, got ${t.seq}`);
    if (!isId(t.id))
      throw new TypeError(`tx id: expected 64 lower-case hex digits, got ${JSON.stringify(t.id)}`);
  }
  const list = txs.map((t) => [t.seq, hexToBytes(t.id)] as [number, Uint8Array]);
  const sig = signer.sign(ackSigningHash('tx-ack', vehicleId, list));
  return cbor.encode({ v: vehicleId, txs: list, key: signer.publicKey, sig });
}

/** Decodes an ack from the `down/tx-ack` topic (shape only: `openTxAck` also checks who signed it). */
export function decodeTxAck(payload: Uint8Array): WireResult<TxAck> {
  const r = decodeMap(payload, 'tx ack', 'v, txs, key, sig');
  if (!r.ok) return r;
  const s = ackSigner(r.value, 'tx ack');
  if (!s.ok) return s;
  const list = r.value.txs;
  if (!Array.isArray(list))
    return badField(`tx ack: field 'txs': found ${describe(list)}; expected an array of [seq, id] pairs`);
  if (list.length > MAX_ACK_IDS)
    return badField(`tx ack: ${list.length} entries; expected at most ${MAX_ACK_IDS}`);
  const txs: TxAckEntry[] = [];
  for (const [i, x] of list.entries()) {
    const pair = x as unknown[];
    if (
      !Array.isArray(x) ||
      x.length !== 2 ||
      typeof pair[0] !== 'number' ||
      !Number.isSafeInteger(pair[0]) ||
      pair[0] < 0 ||
      !(pair[1] instanceof Uint8Array) ||
      pair[1].length !== 32
    )
      return badField(
        `tx ack: txs element ${i}: found ${describe(x)}; expected [an unsigned integer, a 32-byte byte string]`,
      );
    txs.push({ seq: pair[0], id: bytesToHex(pair[1]) });
  }
  return { ok: true, value: { ...s.value, txs } };
}

/** Decodes a tx ack and checks that a trusted storage node signed it for this vehicle (see openAck). */
export function openTxAck(payload: Uint8Array, trust: AckTrust): WireResult<TxAck> {
  const r = decodeTxAck(payload);
  if (!r.ok) return r;
  const a = r.value;
  const list = () => a.txs.map((t) => [t.seq, hexToBytes(t.id)] as [number, Uint8Array]);
  return checkAckSignature('tx ack', a, () => ackSigningHash('tx-ack', a.vehicleId, list()), trust);
}

/** A short description of a decoded value for error messages. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v instanceof Uint8Array) return `a ${v.length}-byte byte string`;
  if (typeof v === 'string') return `the text ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v)}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${String(v)}`;
}
