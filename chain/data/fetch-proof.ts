/**
 * The purchase proof a buyer shows a storage node to fetch the chunks of a filled order: the buyer
 * signs the order id and the current time with the account key that placed the order.
 *
 *   message   = taggedHash("qood/fetch/v1", canonical CBOR [orderId (32 bytes), timeMs])
 *   signature = ed25519(buyer key, message)
 *
 * Sent as three HTTP headers (FETCH_HEADERS). The node accepts a proof whose time is within
 * FETCH_PROOF_WINDOW_MS of its own clock, so a captured request is good for minutes only; it is
 * bound to one order, so it opens nothing else. The chunks are ciphertext and the keys went to the
 * buyer alone, so the proof guards bandwidth and metadata, not secrecy.
 *
 * The owner's read proof opens what a storage node shows nobody else (descriptors of privacy
 * `private`, issue 14): the vehicle's owner account signs the vehicle, the resource and the time.
 *
 *   message   = taggedHash("qood/owner-read/v1", canonical CBOR [vehicleId, resource, timeMs])
 *
 * `resource` is `descriptors` for the listing or a descriptor id (hex). Its headers are
 * OWNER_HEADERS, with the same time window.
 */
import { encodeCanonical } from '../codec/canonical.js';
import { type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { fromHex, taggedHash, toHex } from '../crypto/hash.js';

/** How far the proof's time may be from the node's clock, either way. */
export const FETCH_PROOF_WINDOW_MS = 5 * 60_000;

/** The request headers that carry a proof (lower case, as node:http presents them). */
export const FETCH_HEADERS = {
  buyer: 'x-qood-buyer',
  time: 'x-qood-time',
  signature: 'x-qood-signature',
} as const;

/** What the buyer signs for order `orderId` (32 bytes) at `timeMs`. */
export function fetchProofMessage(orderId: Uint8Array, timeMs: number): Uint8Array {
  return taggedHash('qood/fetch/v1', encodeCanonical([orderId, timeMs]));
}

/** The three header values proving the purchase of order `orderIdHex` at `timeMs`. */
export function fetchProofHeaders(
  signer: Ed25519Signer,
  orderIdHex: string,
  timeMs: number,
): Record<string, string> {
  return {
    [FETCH_HEADERS.buyer]: toHex(signer.publicKey),
    [FETCH_HEADERS.time]: String(timeMs),
    [FETCH_HEADERS.signature]: toHex(signer.sign(fetchProofMessage(fromHex(orderIdHex), timeMs))),
  };
}

/** True when `signatureHex` is `buyerHex`'s signature of the proof message. */
export function checkFetchProof(
  buyerHex: string,
  orderIdHex: string,
  timeMs: number,
  signatureHex: string,
): boolean {
  return verify(fromHex(signatureHex), fetchProofMessage(fromHex(orderIdHex), timeMs), fromHex(buyerHex));
}

/** The request headers of an owner's read proof. */
export const OWNER_HEADERS = {
  owner: 'x-qood-owner',
  time: 'x-qood-time',
  signature: 'x-qood-signature',
} as const;

/** What the vehicle's owner signs to read `resource` of vehicle `vehicleId` at `timeMs`. */
export function ownerReadMessage(vehicleId: string, resource: string, timeMs: number): Uint8Array {
  return taggedHash('qood/owner-read/v1', encodeCanonical([vehicleId, resource, timeMs]));
}

/** The three header values of an owner's read proof. */
export function ownerReadHeaders(
  signer: Ed25519Signer,
  vehicleId: string,
  resource: string,
  timeMs: number,
): Record<string, string> {
  return {
    [OWNER_HEADERS.owner]: toHex(signer.publicKey),
    [OWNER_HEADERS.time]: String(timeMs),
    [OWNER_HEADERS.signature]: toHex(signer.sign(ownerReadMessage(vehicleId, resource, timeMs))),
  };
}

/** True when `signatureHex` is `ownerHex`'s signature of the owner's read message. */
export function checkOwnerRead(
  ownerHex: string,
  vehicleId: string,
  resource: string,
  timeMs: number,
  signatureHex: string,
): boolean {
  return verify(fromHex(signatureHex), ownerReadMessage(vehicleId, resource, timeMs), fromHex(ownerHex));
}
