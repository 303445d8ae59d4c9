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
 * - `<prefix>/<vehicle>/up/tx`: a map `{ seq: uint, kind: tstr, bytes: bstr }`: a transaction from
 *   the device's outbox for the node to submit to the chain. `seq` is its position in the outbox
 *   (increasing, never reused by one device store), `kind` what it is (`descriptor`, `revoke` ...:
 *   1 to 32 of letters, digits, `-`, such as `descriptor` or `controlExec`), `bytes` the transaction as queued.
 * - `<prefix>/<vehicle>/down/ack`: an array of `bstr(32)`: ids of chunks and of descriptors the node
 *   has stored durably. A chunk id (SHA-256 of a chunk header) and a descriptor id (SHA-256 tagged
 *   `qood/descriptor/v1`) are distinct values, so one list serves both and one subscription carries
 *   every ack a device's data needs; the device deletes whichever it holds and ignores the rest.
 * - `<prefix>/<vehicle>/down/tx-ack`: an array of `uint`: outbox seqs of that vehicle the node has
 *   stored durably. The key is (vehicle, seq), the vehicle being the topic's.
 *
 * Every topic is QoS 1 (at least once): duplicates are expected and harmless, since ids and
 * (vehicle, seq) are idempotent keys on both sides. Decoders return a result naming what was wrong
 * instead of throwing.
 */
import { Encoder } from 'cbor-x';

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

/** A queued transaction on its way up. */
export interface TxEnvelope {
  /** Position in the device's outbox. */
  readonly seq: number;
  readonly kind: string;
  readonly bytes: Uint8Array;
}

/** A decode outcome: the value, or what was wrong and what was expected. */
export type WireResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

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
    return { ok: false, error: `${what}: not CBOR (${payload.length} bytes): ${(err as Error).message}` };
  }
}

/** Decodes an envelope from the `up/chunk` topic. */
export function decodeChunkEnvelope(payload: Uint8Array): WireResult<ChunkEnvelope> {
  const r = decodeCbor(payload, 'chunk envelope');
  if (!r.ok) return r;
  const v = r.value;
  const fail = (field: string, expected: string, found: unknown): WireResult<ChunkEnvelope> => ({
    ok: false,
    error: `chunk envelope: field '${field}': found ${found}; expected ${expected}`,
  });
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

/** Encodes an ack: the chunk and descriptor ids (hex) as an array of 32-byte byte strings. */
export function encodeAck(ids: readonly string[]): Uint8Array {
  for (const id of ids)
    if (!isId(id))
      throw new TypeError(`chunk id: expected 64 lower-case hex digits, got ${JSON.stringify(id)}`);
  return cbor.encode(ids.map(hexToBytes));
}

/** Decodes an ack from the `down/ack` topic into hex ids. */
export function decodeAck(payload: Uint8Array): WireResult<string[]> {
  const r = decodeCbor(payload, 'ack');
  if (!r.ok) return r;
  if (!Array.isArray(r.value))
    return {
      ok: false,
      error: `ack: found ${describe(r.value)}; expected an array of 32-byte chunk or descriptor ids`,
    };
  if (r.value.length > MAX_ACK_IDS)
    return { ok: false, error: `ack: ${r.value.length} ids; expected at most ${MAX_ACK_IDS}` };
  const ids: string[] = [];
  for (const [i, x] of r.value.entries()) {
    if (!(x instanceof Uint8Array) || x.length !== 32)
      return { ok: false, error: `ack: element ${i}: found ${describe(x)}; expected a 32-byte byte string` };
    ids.push(bytesToHex(x));
  }
  return { ok: true, value: ids };
}

/** Encodes a descriptor envelope. Throws a TypeError for an id that is not 64 hex digits. */
export function encodeDescriptorEnvelope(e: DescriptorEnvelope): Uint8Array {
  if (!isId(e.id))
    throw new TypeError(`descriptor id: expected 64 lower-case hex digits, got ${JSON.stringify(e.id)}`);
  return cbor.encode({ id: hexToBytes(e.id), bytes: e.bytes });
}

/** A decoded map, or what the top level was instead. */
function decodeMap(payload: Uint8Array, what: string, fields: string): WireResult<Record<string, unknown>> {
  const r = decodeCbor(payload, what);
  if (!r.ok) return r;
  const v = r.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    return {
      ok: false,
      error: `${what}: field '(top level)': found ${describe(v)}; expected a map with ${fields}`,
    };
  return { ok: true, value: v as Record<string, unknown> };
}

/** Decodes an envelope from the `up/descriptor` topic. */
export function decodeDescriptorEnvelope(payload: Uint8Array): WireResult<DescriptorEnvelope> {
  const r = decodeMap(payload, 'descriptor envelope', 'id, bytes');
  if (!r.ok) return r;
  const m = r.value;
  const fail = (field: string, expected: string, found: unknown): WireResult<DescriptorEnvelope> => ({
    ok: false,
    error: `descriptor envelope: field '${field}': found ${describe(found)}; expected ${expected}`,
  });
  if (!(m.id instanceof Uint8Array) || m.id.length !== 32) return fail('id', 'a 32-byte byte string', m.id);
  if (!(m.bytes instanceof Uint8Array) || m.bytes.length === 0 || m.bytes.length > MAX_DESCRIPTOR_BYTES)
    return fail('bytes', `a byte string of 1 to ${MAX_DESCRIPTOR_BYTES} bytes`, m.bytes);
  return { ok: true, value: { id: bytesToHex(m.id), bytes: m.bytes } };
}

const TX_KIND = /^[A-Za-z0-9-]{1,32}$/;

/** Encodes a transaction envelope. Throws a TypeError for a seq or kind the decoder would refuse. */
export function encodeTxEnvelope(e: TxEnvelope): Uint8Array {
  if (!Number.isSafeInteger(e.seq) || e.seq < 0)
    throw new TypeError(`tx seq: expected an unsigned integer, got ${e.seq}`);
  if (!TX_KIND.test(e.kind))
    throw new TypeError(`tx kind: expected 1 to 32 of letters, digits, '-', got ${JSON.stringify(e.kind)}`);
  return cbor.encode({ seq: e.seq, kind: e.kind, bytes: e.bytes });
}

/** Decodes an envelope from the `up/tx` topic. */
export function decodeTxEnvelope(payload: Uint8Array): WireResult<TxEnvelope> {
  const r = decodeMap(payload, 'tx envelope', 'seq, kind, bytes');
  if (!r.ok) return r;
  const m = r.value;
  const fail = (field: string, expected: string, found: unknown): WireResult<TxEnvelope> => ({
    ok: false,
    error: `tx envelope: field '${field}': found ${describe(found)}; expected ${expected}`,
  });
  if (typeof m.seq !== 'number' || !Number.isSafeInteger(m.seq) || m.seq < 0)
    return fail('seq', 'an unsigned integer', m.seq);
  if (typeof m.kind !== 'string' || !TX_KIND.test(m.kind))
    return fail('kind', "1 to 32 of letters, digits, '-'", m.kind);
  if (!(m.bytes instanceof Uint8Array) || m.bytes.length === 0 || m.bytes.length > MAX_TX_BYTES)
    return fail('bytes', `a byte string of 1 to ${MAX_TX_BYTES} bytes`, m.bytes);
  return { ok: true, value: { seq: m.seq, kind: m.kind, bytes: m.bytes } };
}

/** Encodes a transaction ack: the outbox seqs as an array of unsigned integers. */
export function encodeTxAck(seqs: readonly number[]): Uint8Array {
  for (const q of seqs)
    if (!Number.isSafeInteger(q) || q < 0)
      throw new TypeError(`tx seq: expected an unsigned integer, got ${q}`);
  return cbor.encode([...seqs]);
}

/** Decodes an ack from the `down/tx-ack` topic into outbox seqs. */
export function decodeTxAck(payload: Uint8Array): WireResult<number[]> {
  const r = decodeCbor(payload, 'tx ack');
  if (!r.ok) return r;
  if (!Array.isArray(r.value))
    return { ok: false, error: `tx ack: found ${describe(r.value)}; expected an array of outbox seqs` };
  if (r.value.length > MAX_ACK_IDS)
    return { ok: false, error: `tx ack: ${r.value.length} seqs; expected at most ${MAX_ACK_IDS}` };
  for (const [i, x] of r.value.entries())
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)
      return { ok: false, error: `tx ack: element ${i}: found ${describe(x)}; expected an unsigned integer` };
  return { ok: true, value: r.value as number[] };
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
