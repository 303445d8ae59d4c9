/**
 * The ingest's checks on the real formats of chain/data. A chunk (sealed-chunk): the device
 * signature over the header id, the ciphertext hash, and that the signing key is the device key
 * the node knows for the vehicle the header names; the ciphertext stays opaque (a storage node
 * never holds chunk keys). A descriptor: the device signature (`openDescriptor`), that the key it
 * names is the one the node knows for its vehicle, that it lists at least one chunk, and that its
 * Merkle root is the root over the ids it lists (what the chain will anchor must describe them).
 * A queued transaction: the device signature over its record id (`verifyTxEnvelope`), with the key
 * the node knows for the vehicle of the topic; the transaction's own bytes may be signed by someone
 * else (an owner's revoke) or by nobody (a revoke request), so this is what ties it to the device.
 */

import {
  bytesEqual,
  ChunkCheckError,
  checkSealedChunk,
  DescriptorError,
  descriptorRoot,
  fromHex,
  getPublicKey,
  openDescriptor,
  type TxEnvelope,
  toHex,
  verifyTxEnvelope,
} from '../../chain/index.js';
import type {
  ChunkVerdict,
  DescriptorVerdict,
  TxVerdict,
  VerifyChunk,
  VerifyDescriptor,
  VerifyTx,
} from './verify.js';

/** The public key (hex) of a 32-byte ed25519 secret key. */
export function devicePublicKeyHex(secretKey: Uint8Array): string {
  return toHex(getPublicKey(secretKey));
}

/** A verifier that knows each vehicle's device public key (hex, 32 bytes). */
export function sealedChunkVerifier(deviceKeys: Readonly<Record<string, string>>): VerifyChunk {
  const keys = parseDeviceKeys(deviceKeys);
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

/** A descriptor verifier that knows each vehicle's device public key (hex, 32 bytes). */
export function sealedDescriptorVerifier(deviceKeys: Readonly<Record<string, string>>): VerifyDescriptor {
  const keys = parseDeviceKeys(deviceKeys);
  return (bytes: Uint8Array): DescriptorVerdict => {
    let opened: ReturnType<typeof openDescriptor>;
    try {
      opened = openDescriptor(bytes);
    } catch (err) {
      if (err instanceof DescriptorError) return { ok: false, reason: err.message };
      throw err;
    }
    const d = opened.descriptor;
    const key = keys.get(d.vehicleId);
    if (key === undefined)
      return { ok: false, reason: `descriptor: no device key known for vehicle '${d.vehicleId}'` };
    if (!bytesEqual(key, d.devicePublicKey))
      return {
        ok: false,
        reason: `descriptor: signed by device key ${toHex(d.devicePublicKey)}, not the key known for vehicle '${d.vehicleId}'`,
      };
    if (d.chunkIds.length === 0) return { ok: false, reason: 'descriptor: lists no chunks' };
    if (!bytesEqual(descriptorRoot(d.chunkIds), d.merkleRoot))
      return { ok: false, reason: 'descriptor: the Merkle root does not match its chunk ids' };
    return {
      ok: true,
      id: toHex(opened.id),
      vehicleId: d.vehicleId,
      createdMs: d.createdMs,
      chunkIds: d.chunkIds.map(toHex),
    };
  };
}

/** A queued-transaction verifier that knows each vehicle's device public key (hex, 32 bytes). */
export function sealedTxVerifier(deviceKeys: Readonly<Record<string, string>>): VerifyTx {
  const keys = parseDeviceKeys(deviceKeys);
  return (vehicleId: string, e: TxEnvelope): TxVerdict => {
    const key = keys.get(vehicleId);
    if (key === undefined) return { ok: false, reason: `tx: no device key known for vehicle '${vehicleId}'` };
    // Anyone on the broker may publish on this vehicle's up/tx: only the device's signature says it is its record.
    if (!verifyTxEnvelope(vehicleId, e, key))
      return {
        ok: false,
        reason: `tx ${e.seq}: not signed by the device key known for vehicle '${vehicleId}'`,
      };
    return { ok: true };
  };
}

/** The three checks of an ingest that knows each vehicle's device public key (hex, 32 bytes). */
export function deviceVerifiers(deviceKeys: Readonly<Record<string, string>>): {
  verifyChunk: VerifyChunk;
  verifyDescriptor: VerifyDescriptor;
  verifyTx: VerifyTx;
} {
  return {
    verifyChunk: sealedChunkVerifier(deviceKeys),
    verifyDescriptor: sealedDescriptorVerifier(deviceKeys),
    verifyTx: sealedTxVerifier(deviceKeys),
  };
}

function parseDeviceKeys(deviceKeys: Readonly<Record<string, string>>): Map<string, Uint8Array> {
  return new Map(Object.entries(deviceKeys).map(([v, k]) => [v, fromHex(k.toLowerCase())]));
}
