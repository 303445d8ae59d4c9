/**
 * The ingest's chunk check on the real sealed format (chain/data/sealed-chunk): the device
 * signature over the header id, the ciphertext hash, and that the signing key is the device key
 * the node knows for the vehicle the header names. The ciphertext stays opaque: a storage node
 * never holds chunk keys.
 */

import { getPublicKey } from '../../crypto/ed25519.js';
import { fromHex, toHex } from '../../crypto/hash.js';
import { ChunkCheckError, checkSealedChunk } from '../../data/sealed-chunk.js';
import type { ChunkVerdict, VerifyChunk } from './verify.js';

/** The public key (hex) of a 32-byte ed25519 secret key. */
export function devicePublicKeyHex(secretKey: Uint8Array): string {
  return toHex(getPublicKey(secretKey));
}

/** A verifier that knows each vehicle's device public key (hex, 32 bytes). */
export function sealedChunkVerifier(deviceKeys: Readonly<Record<string, string>>): VerifyChunk {
  const keys = new Map(Object.entries(deviceKeys).map(([v, k]) => [v, fromHex(k.toLowerCase())]));
  return (bytes: Uint8Array): ChunkVerdict => {
    let vehicleId: string;
    try {
      // Decode first to learn the vehicle, then check against the key the node knows for it.
      const peek = checkSealedChunk(bytes);
      vehicleId = peek.header.vehicleId;
      const key = keys.get(vehicleId);
      if (key === undefined)
        return { ok: false, reason: `chunk: no device key known for vehicle '${vehicleId}'` };
      const c = checkSealedChunk(bytes, key);
      return { ok: true, id: toHex(c.id), vehicleId, stream: c.header.stream, seq: c.header.seq };
    } catch (err) {
      if (err instanceof ChunkCheckError) return { ok: false, reason: err.message };
      throw err;
    }
  };
}
