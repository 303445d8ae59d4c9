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
 * - `<prefix>/<vehicle>/down/ack`: an array of `bstr(32)` chunk ids the node has stored durably.
 *
 * Both directions are QoS 1 (at least once): duplicates are expected and harmless, since ids are
 * idempotent keys on both sides. Decoders return a result naming what was wrong instead of throwing.
 */
import { Encoder } from 'cbor-x';

/** Default first topic levels (`qood/v1`). */
export const DEFAULT_TOPIC_PREFIX = 'qood/v1';
/** Most ids one ack message may carry (a bound on what a hostile peer can make us process). */
export const MAX_ACK_IDS = 4096;
/** Largest sealed chunk accepted in an envelope, bytes. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

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

/** The vehicle id in a chunk topic, or undefined when the topic is not one. */
export function vehicleOfChunkTopic(prefix: string, topic: string): string | undefined {
  if (!topic.startsWith(`${prefix}/`) || !topic.endsWith('/up/chunk')) return undefined;
  const v = topic.slice(prefix.length + 1, -'/up/chunk'.length);
  return v.length > 0 && !v.includes('/') ? v : undefined;
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

/** Encodes an ack: the ids (hex) as an array of 32-byte byte strings. */
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
    return { ok: false, error: `ack: found ${describe(r.value)}; expected an array of 32-byte chunk ids` };
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
