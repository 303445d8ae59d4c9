/**
 * A minimal signed chunk format, used by the ingest's tests, the bench and `qood node`
 * (`ingest.deviceKeys`) until the sealed header of the sealing code replaces it:
 *
 *   chunk  = CBOR [ header: bstr, signature: bstr(64), ciphertext: bstr ]
 *   header = CBOR { v: vehicleId, s: stream, q: seq, h: SHA-256(ciphertext) }
 *   id     = hex SHA-256(header bytes); signature = ed25519(device key, header bytes)
 *
 * The ciphertext is opaque. Verification checks the CBOR shape, that the vehicle has a known
 * device key, the signature over the header, and the ciphertext hash.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Encoder } from 'cbor-x';
import type { ChunkVerdict, VerifyChunk } from './verify.js';

const cbor = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});

/** The fields a chunk header names. */
export interface InterimHeader {
  readonly vehicleId: string;
  readonly stream: string;
  readonly seq: number;
}

/** Seals `ciphertext` under `header`, signed with a 32-byte ed25519 secret key. Returns bytes and id. */
export function signInterimChunk(
  header: InterimHeader,
  ciphertext: Uint8Array,
  secretKey: Uint8Array,
): { bytes: Uint8Array; id: string } {
  const h = cbor.encode({ v: header.vehicleId, s: header.stream, q: header.seq, h: sha256(ciphertext) });
  const sig = ed25519.sign(h, secretKey);
  return { bytes: cbor.encode([h, sig, ciphertext]), id: bytesToHex(sha256(h)) };
}

/** The public key (hex) of a 32-byte ed25519 secret key. */
export function interimPublicKeyHex(secretKey: Uint8Array): string {
  return bytesToHex(ed25519.getPublicKey(secretKey));
}

/** A verifier that knows each vehicle's device public key (hex, 32 bytes). */
export function interimVerifier(deviceKeys: Readonly<Record<string, string>>): VerifyChunk {
  const keys = new Map(Object.entries(deviceKeys).map(([v, k]) => [v, hexToBytes(k)]));
  return (bytes: Uint8Array): ChunkVerdict => {
    let outer: unknown;
    let header: unknown;
    try {
      outer = cbor.decode(bytes);
    } catch (err) {
      return { ok: false, reason: `chunk: not CBOR: ${(err as Error).message}` };
    }
    if (!Array.isArray(outer) || outer.length !== 3 || !outer.every((x) => x instanceof Uint8Array))
      return {
        ok: false,
        reason: 'chunk: expected a CBOR array [header, signature, ciphertext] of byte strings',
      };
    const [h, sig, ct] = outer as [Uint8Array, Uint8Array, Uint8Array];
    try {
      header = cbor.decode(h);
    } catch (err) {
      return { ok: false, reason: `chunk header: not CBOR: ${(err as Error).message}` };
    }
    const m = header as Record<string, unknown> | null;
    if (
      typeof m !== 'object' ||
      m === null ||
      typeof m.v !== 'string' ||
      typeof m.s !== 'string' ||
      typeof m.q !== 'number' ||
      !Number.isSafeInteger(m.q) ||
      m.q < 0 ||
      !(m.h instanceof Uint8Array)
    )
      return {
        ok: false,
        reason: 'chunk header: expected a map with v (text), s (text), q (uint), h (bytes)',
      };
    const key = keys.get(m.v);
    if (key === undefined)
      return { ok: false, reason: `chunk header: no device key known for vehicle '${m.v}'` };
    let valid = false;
    try {
      valid = sig.length === 64 && ed25519.verify(sig, h, key);
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: `chunk ${m.v}/${m.s}/${m.q}: the signature does not verify` };
    if (bytesToHex(sha256(ct)) !== bytesToHex(m.h))
      return { ok: false, reason: `chunk ${m.v}/${m.s}/${m.q}: the ciphertext does not match its hash` };
    return { ok: true, id: bytesToHex(sha256(h)), vehicleId: m.v, stream: m.s, seq: m.q };
  };
}
