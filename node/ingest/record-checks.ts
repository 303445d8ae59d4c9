/**
 * The ingest's checks on a descriptor or a queued transaction from a device, from the MQTT payload
 * to what the store keeps, or why not. `garbage` means the envelope itself did not decode (counted
 * apart from records that decoded but failed a check). Never throws.
 *
 * A descriptor must verify (`VerifyDescriptor`: device signature, the device key the node knows
 * for its vehicle, its Merkle root) and name the vehicle of the topic it came on, and the envelope
 * id must be its id. A transaction must carry the signature of the device key the node knows for
 * the topic's vehicle over its record id (`VerifyTx`): without it, any client of the broker could
 * queue a record under a car's topic and seq and have the node store and acknowledge it. One of
 * kind `descriptor` carries a signed descriptor and is checked as one too; other kinds are kept as
 * queued (the chain validates them on submission).
 */

import { decodeDescriptorEnvelope, decodeTxEnvelope, outboxTxId } from '../../chain/index.js';
import type { IngestDescriptor, IngestTx } from './ingest-store.js';
import type { VerifyDescriptor, VerifyTx } from './verify.js';

/** A checked transaction and its record id (`outboxTxId`, hex), which the tx ack names. */
export type CheckedTx = IngestTx & { readonly id: string };

/** What checking one message found. */
export type RecordCheck<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly garbage: boolean; readonly reason: string };

function checkSigned(
  bytes: Uint8Array,
  vehicleId: string,
  topic: string,
  verify: VerifyDescriptor,
  envelopeId: string | undefined,
): RecordCheck<IngestDescriptor> {
  const v = verify(bytes);
  if (!v.ok) return { ok: false, garbage: false, reason: v.reason };
  if (v.vehicleId !== vehicleId)
    return {
      ok: false,
      garbage: false,
      reason: `descriptor for vehicle '${v.vehicleId}', published on '${topic}'`,
    };
  if (envelopeId !== undefined && envelopeId !== v.id)
    return { ok: false, garbage: false, reason: `envelope id ${envelopeId} is not the descriptor's ${v.id}` };
  return {
    ok: true,
    value: { id: v.id, vehicleId, createdMs: v.createdMs, chunkIds: v.chunkIds, bytes },
  };
}

/** Checks a message from `<prefix>/<vehicleId>/up/descriptor`. */
export function checkDescriptorMessage(
  vehicleId: string,
  topic: string,
  payload: Uint8Array,
  verify: VerifyDescriptor,
): RecordCheck<IngestDescriptor> {
  const env = decodeDescriptorEnvelope(payload);
  if (!env.ok) return { ok: false, garbage: true, reason: env.error };
  return checkSigned(env.value.bytes, vehicleId, topic, verify, env.value.id);
}

/** Checks a message from `<prefix>/<vehicleId>/up/tx`. */
export function checkTxMessage(
  vehicleId: string,
  topic: string,
  payload: Uint8Array,
  verify: VerifyDescriptor,
  verifyTx: VerifyTx,
): RecordCheck<CheckedTx> {
  const env = decodeTxEnvelope(payload);
  if (!env.ok) return { ok: false, garbage: true, reason: env.error };
  const { seq, kind, bytes } = env.value;
  const signed = verifyTx(vehicleId, env.value);
  if (!signed.ok) return { ok: false, garbage: false, reason: signed.reason };
  if (kind === 'descriptor') {
    const d = checkSigned(bytes, vehicleId, topic, verify, undefined);
    if (!d.ok) return { ok: false, garbage: false, reason: `tx ${seq} (descriptor): ${d.reason}` };
  }
  return { ok: true, value: { vehicleId, seq, kind, bytes, id: outboxTxId(vehicleId, env.value) } };
}
