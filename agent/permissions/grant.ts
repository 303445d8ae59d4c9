/**
 * Grants as the device receives them: the owner-signed `grant` transaction exactly as the chain
 * records it, with its terms document, in one canonical CBOR bundle:
 *
 *   bundle = [1, signedGrantTx (bytes, chain/tx codec), terms (bytes, terms.ts)]
 *
 * The device checks the transaction's signature and that its sender is the owner key of the
 * device's binding (so grants work offline, without the chain), that it names this vehicle, and
 * that the terms hash to the grant's `termsHash`. The grant id is the transaction id (hex), the
 * same id the chain stores the grant under, so a revocation from the chain names it too.
 *
 * The chain names vehicles by 32 bytes; the device's config names it by a topic-safe text id. The
 * chain id of a vehicle is `taggedHash("qood/vehicle-id/v1", utf8(vehicleId))` (chainVehicleId).
 */
import {
  bytesEqual,
  CodecError,
  chainVehicleId,
  decodeCanonical,
  decodeSignedTx,
  encodeCanonical,
  readArray,
  readBytes,
  readUint,
  type SignedTx,
  type TxBodies,
  toHex,
  verify,
} from '../../chain/index.js';
import { decodeTerms, type GrantTerms, termsHash } from './terms.js';

/** Largest grant bundle accepted, bytes. */
export const MAX_GRANT_BYTES = 16 * 1024;

export { chainVehicleId };

/** A grant that passed the owner-signature checks. */
export interface VerifiedGrant {
  /** The grant transaction's id, hex: the id everywhere (topics, CLI, chain). */
  readonly id: string;
  readonly body: TxBodies['grant'];
  readonly terms: GrantTerms;
  /** The bundle as received (what the store keeps). */
  readonly bundle: Uint8Array;
}

/** Why a grant bundle was not accepted. */
export type GrantRefusalCode =
  | 'MALFORMED'
  | 'NOT_A_GRANT'
  | 'NOT_OWNER'
  | 'BAD_SIGNATURE'
  | 'WRONG_VEHICLE'
  | 'TERMS_MISMATCH'
  | 'BAD_WINDOW'
  | 'EXPIRED'
  /** The owner revoked this grant id (before or after it arrived): it never installs again. */
  | 'REVOKED';

export class GrantError extends Error {
  constructor(
    readonly code: GrantRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'GrantError';
  }
}

/** The bundle's bytes. */
export function encodeGrantBundle(signedTx: Uint8Array, terms: Uint8Array): Uint8Array {
  return encodeCanonical([1, signedTx, terms]);
}

/** Splits a bundle; throws GrantError('MALFORMED') naming the offset or field. */
export function decodeGrantBundle(bytes: Uint8Array): {
  tx: SignedTx;
  terms: GrantTerms;
  termsBytes: Uint8Array;
} {
  if (bytes.length > MAX_GRANT_BYTES)
    throw new GrantError(
      'MALFORMED',
      `grant bundle: ${bytes.length} bytes; expected at most ${MAX_GRANT_BYTES}`,
    );
  try {
    const a = readArray(decodeCanonical(bytes), 'bundle', 3);
    if (readUint(a[0], 'bundle.version') !== 1) throw new CodecError('SHAPE', 'bundle.version', 'expected 1');
    const termsBytes = readBytes(a[2], 'bundle.terms');
    return { tx: decodeSignedTx(readBytes(a[1], 'bundle.tx')), terms: decodeTerms(termsBytes), termsBytes };
  } catch (err) {
    if (err instanceof CodecError) throw new GrantError('MALFORMED', `grant bundle: ${err.message}`);
    throw err;
  }
}

/**
 * Decodes and checks a bundle against the device's owner key and vehicle. `nowMs` refuses a grant
 * that has already ended (one not yet started is accepted and waits). Throws GrantError.
 */
export function verifyGrantBundle(
  bytes: Uint8Array,
  device: { readonly ownerPublicKey: Uint8Array; readonly vehicleId: string },
  nowMs: number,
): VerifiedGrant {
  const { tx, terms, termsBytes } = decodeGrantBundle(bytes);
  if (tx.tx.kind !== 'grant')
    throw new GrantError('NOT_A_GRANT', `the transaction is a ${tx.tx.kind}, not a grant`);
  const body = tx.tx.body;
  const sender = tx.tx.sender;
  if (sender !== toHex(device.ownerPublicKey))
    throw new GrantError(
      'NOT_OWNER',
      `signed by ${sender.slice(0, 16)}..., not by this vehicle's owner ${toHex(device.ownerPublicKey).slice(0, 16)}...`,
    );
  if (!verify(tx.signature, tx.id, device.ownerPublicKey))
    throw new GrantError('BAD_SIGNATURE', "the owner's signature on the grant does not verify");
  const vehicle = chainVehicleId(device.vehicleId);
  if (body.vehicle !== vehicle)
    throw new GrantError(
      'WRONG_VEHICLE',
      `the grant is for vehicle ${body.vehicle.slice(0, 16)}..., this is ${device.vehicleId} (${vehicle.slice(0, 16)}...)`,
    );
  if (!bytesEqual(termsHash(termsBytes), body.termsHash))
    throw new GrantError('TERMS_MISMATCH', "the terms document does not hash to the grant's termsHash");
  if (!(body.toMs > body.fromMs))
    throw new GrantError('BAD_WINDOW', `validity ${body.fromMs}..${body.toMs} is empty`);
  if (body.toMs <= nowMs)
    throw new GrantError('EXPIRED', `the grant ended at ${new Date(body.toMs).toISOString()}`);
  if (body.kind === 'listen' && !(terms.rateHz > 0))
    throw new GrantError('MALFORMED', 'a listen grant needs terms with a rate > 0');
  return { id: toHex(tx.id), body, terms, bundle: bytes };
}

/**
 * Checks an owner-signed `revoke` transaction (what the owner's wallet sends to the chain, relayed
 * down to the device): the sender is this vehicle's owner and the signature verifies. Returns the
 * revoked grant's id. Throws GrantError.
 */
export function verifyOwnerRevoke(bytes: Uint8Array, ownerPublicKey: Uint8Array): string {
  if (bytes.length > MAX_GRANT_BYTES)
    throw new GrantError('MALFORMED', `revoke: ${bytes.length} bytes; expected at most ${MAX_GRANT_BYTES}`);
  let tx: SignedTx;
  try {
    tx = decodeSignedTx(bytes);
  } catch (err) {
    if (err instanceof CodecError) throw new GrantError('MALFORMED', `revoke: ${err.message}`);
    throw err;
  }
  if (tx.tx.kind !== 'revoke')
    throw new GrantError('NOT_A_GRANT', `the transaction is a ${tx.tx.kind}, not a revoke`);
  if (tx.tx.sender !== toHex(ownerPublicKey))
    throw new GrantError(
      'NOT_OWNER',
      `signed by ${tx.tx.sender.slice(0, 16)}..., not by this vehicle's owner`,
    );
  if (!verify(tx.signature, tx.id, ownerPublicKey))
    throw new GrantError('BAD_SIGNATURE', "the owner's signature on the revoke does not verify");
  return tx.tx.body.grant;
}
