/**
 * The ingest's checks on the real formats of chain/data. A chunk (sealed-chunk): the device
 * signature over the header id, the ciphertext hash, and that the signing key is a device key bound
 * to the vehicle the header names (device-keys.ts: the chain's final state, or the static
 * override); the ciphertext stays opaque (a storage node never holds chunk keys). A descriptor: the
 * device signature (`openDescriptor`), that the key it names is bound to its vehicle, that it lists
 * at least one chunk, and that its Merkle root is the root over the ids it lists (what the chain
 * will anchor must describe them). A queued transaction: the device signature over its record id
 * (`verifyTxEnvelope`), with a key bound to the vehicle of the topic; the transaction's own bytes
 * may be signed by someone else (an owner's revoke) or by nobody (a revoke request), so this is
 * what ties it to the device.
 */

import {
  bytesEqual,
  ChunkCheckError,
  checkSealedChunk,
  DescriptorError,
  decodeSealedChunk,
  descriptorRoot,
  getPublicKey,
  openDescriptor,
  type TxEnvelope,
  toHex,
  verifyTxEnvelope,
} from '../../chain/index.js';
import { type BoundKeys, type DeviceKeySource, staticDeviceKeys } from './device-keys.js';
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

/** Device keys as a static map (vehicle id -> hex public key) or a source such as a DeviceRegistry. */
export type DeviceKeysInput = Readonly<Record<string, string>> | DeviceKeySource;

function sourceOf(input: DeviceKeysInput): DeviceKeySource {
  return typeof (input as DeviceKeySource).keysOf === 'function'
    ? (input as DeviceKeySource)
    : staticDeviceKeys(input as Readonly<Record<string, string>>);
}

/** The bound key equal to `key`, or undefined. */
function boundKey(bound: BoundKeys, key: Uint8Array): Uint8Array | undefined {
  return bound.keys.find((k) => bytesEqual(k, key));
}

/** A verifier that knows each vehicle's device public keys (a static map or a source). */
export function sealedChunkVerifier(deviceKeys: DeviceKeysInput): VerifyChunk {
  const keys = sourceOf(deviceKeys);
  return (bytes: Uint8Array): ChunkVerdict => {
    let vehicleId: string;
    try {
      // Decode first to learn the vehicle and the signing key, then check that key is bound to it;
      // the signature is verified once, by checkSealedChunk with the bound key.
      const peek = decodeSealedChunk(bytes);
      vehicleId = peek.header.vehicleId;
      const bound = keys.keysOf(vehicleId);
      if (bound.keys.length === 0)
        return {
          ok: false,
          reason: `chunk: no device key bound to vehicle '${vehicleId}' (${bound.source})`,
        };
      const key = boundKey(bound, peek.header.devicePublicKey);
      if (key === undefined)
        return {
          ok: false,
          reason: `chunk: signed by device key ${toHex(peek.header.devicePublicKey)}, which is not bound to vehicle '${vehicleId}' (${bound.source})`,
        };
      const c = checkSealedChunk(bytes, key);
      return { ok: true, id: toHex(c.id), vehicleId, stream: c.header.stream, seq: c.header.seq };
    } catch (err) {
      if (err instanceof ChunkCheckError) return { ok: false, reason: err.message };
      throw err;
    }
  };
}

/** A descriptor verifier that knows each vehicle's device public keys (a static map or a source). */
export function sealedDescriptorVerifier(deviceKeys: DeviceKeysInput): VerifyDescriptor {
  const keys = sourceOf(deviceKeys);
  return (bytes: Uint8Array): DescriptorVerdict => {
    let opened: ReturnType<typeof openDescriptor>;
    try {
      opened = openDescriptor(bytes);
    } catch (err) {
      if (err instanceof DescriptorError) return { ok: false, reason: err.message };
      throw err;
    }
    const d = opened.descriptor;
    const bound = keys.keysOf(d.vehicleId);
    if (bound.keys.length === 0)
      return {
        ok: false,
        reason: `descriptor: no device key bound to vehicle '${d.vehicleId}' (${bound.source})`,
      };
    if (boundKey(bound, d.devicePublicKey) === undefined)
      return {
        ok: false,
        reason: `descriptor: signed by device key ${toHex(d.devicePublicKey)}, which is not bound to vehicle '${d.vehicleId}' (${bound.source})`,
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

/** A queued-transaction verifier that knows each vehicle's device public keys (a static map or a source). */
export function sealedTxVerifier(deviceKeys: DeviceKeysInput): VerifyTx {
  const keys = sourceOf(deviceKeys);
  return (vehicleId: string, e: TxEnvelope): TxVerdict => {
    const bound = keys.keysOf(vehicleId);
    if (bound.keys.length === 0)
      return { ok: false, reason: `tx: no device key bound to vehicle '${vehicleId}' (${bound.source})` };
    // Anyone on the broker may publish on this vehicle's up/tx: only a bound device's signature says
    // it is its record. A vehicle has at most MAX_DEVICES keys, so trying each is cheap.
    if (!bound.keys.some((key) => verifyTxEnvelope(vehicleId, e, key)))
      return {
        ok: false,
        reason: `tx ${e.seq}: not signed by a device key bound to vehicle '${vehicleId}' (${bound.source})`,
      };
    return { ok: true };
  };
}

/** The three checks of an ingest that knows each vehicle's device public keys (a static map or a source). */
export function deviceVerifiers(deviceKeys: DeviceKeysInput): {
  verifyChunk: VerifyChunk;
  verifyDescriptor: VerifyDescriptor;
  verifyTx: VerifyTx;
} {
  const keys = sourceOf(deviceKeys);
  return {
    verifyChunk: sealedChunkVerifier(keys),
    verifyDescriptor: sealedDescriptorVerifier(keys),
    verifyTx: sealedTxVerifier(keys),
  };
}
