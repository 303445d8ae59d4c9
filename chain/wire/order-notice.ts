/**
 * Order notices: how a storage node tells a device that a buyer has ordered one of its descriptors,
 * with everything the device needs to check that claim against the chain before it hands out keys.
 *
 *   topic   <prefix>/<vehicle>/down/order            (QoS 1; the device fills each order once)
 *   payload [1, orderId (32), descriptorId (32), orderProof, descriptorProof, signedDescriptor]
 *
 * `orderProof` and `descriptorProof` are state proofs (chain/light/codec `encodeStateProof`) of the
 * order record and of the anchored descriptor record at a final height; `signedDescriptor` is the
 * device-signed descriptor whose Merkle root the anchor carries. The node is not trusted: the device
 * checks both proofs with its light client, and the descriptor's signature with its own key.
 */
import { CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readUint } from '../codec/fields.js';
import { fromHex, toHex } from '../crypto/hash.js';
import { decodeStateProof, encodeStateProof, type StateProof } from '../light/codec.js';

const VERSION = 1;
/** Largest order notice accepted (a signed descriptor of 4096 chunks is about 140 kB). */
export const MAX_ORDER_NOTICE_BYTES = 1024 * 1024;

export interface OrderNotice {
  /** Hex order id (the order transaction's id). */
  readonly orderId: string;
  /** Hex id of the anchored descriptor (the anchoring transaction's id). */
  readonly descriptorId: string;
  readonly orderProof: StateProof;
  readonly descriptorProof: StateProof;
  readonly signedDescriptor: Uint8Array;
}

/** Where a node publishes a vehicle's order notices. */
export function orderTopic(prefix: string, vehicleId: string): string {
  return `${prefix}/${vehicleId}/down/order`;
}

export function encodeOrderNotice(n: OrderNotice): Uint8Array {
  return encodeCanonical([
    VERSION,
    fromHex(n.orderId),
    fromHex(n.descriptorId),
    encodeStateProof(n.orderProof),
    encodeStateProof(n.descriptorProof),
    n.signedDescriptor,
  ]);
}

/** Decodes a notice; throws CodecError (or the light codec's LightError) saying what is wrong. */
export function decodeOrderNotice(bytes: Uint8Array): OrderNotice {
  if (bytes.length > MAX_ORDER_NOTICE_BYTES)
    throw new CodecError('SHAPE', 'orderNotice', `${bytes.length} bytes, at most ${MAX_ORDER_NOTICE_BYTES}`);
  const a = readArray(decodeCanonical(bytes), 'orderNotice', 6);
  if (readUint(a[0], 'orderNotice.version') !== VERSION)
    throw new CodecError('SHAPE', 'orderNotice.version', `expected ${VERSION}`);
  return {
    orderId: toHex(readBytes(a[1], 'orderNotice.orderId', 32)),
    descriptorId: toHex(readBytes(a[2], 'orderNotice.descriptorId', 32)),
    orderProof: decodeStateProof(readBytes(a[3], 'orderNotice.orderProof')),
    descriptorProof: decodeStateProof(readBytes(a[4], 'orderNotice.descriptorProof')),
    signedDescriptor: readBytes(a[5], 'orderNotice.signedDescriptor'),
  };
}
