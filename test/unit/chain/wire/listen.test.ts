/**
 * Listener messages (chain/wire/listen.ts): the grantee opens what the device sealed to it, and
 * nothing else. Attack 11 of issue 14: a session key wrapped to the grantee proves nothing about
 * who wrapped it (the grantee's public key is public), so anyone who knows a grant id and the
 * grantee's key could make a message the grantee would take for the car's. The device now signs
 * each session's wrapped key, and the reader checks that signature against the device keys it knows.
 * And a genuine message replayed later (within its session or after a newer one) is refused: the
 * reader keeps a high-water mark of signed session numbers and sequence numbers per grant.
 */
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  decodeCanonical,
  Ed25519Signer,
  encodeCanonical,
  encodeListenerPayload,
  ListenerError,
  ListenerReader,
  ListenerSession,
  toHex,
} from '../../../../chain/index.js';
import { fixed } from '../../../vectors/generate-chain.js';

const device = new Ed25519Signer(fixed('listen/device'));
const GRANTEE_SECRET = fixed('listen/grantee');
const grantee = new Ed25519Signer(GRANTEE_SECRET);
const attacker = new Ed25519Signer(fixed('listen/attacker'));
/** A grant id is public: it is the topic the car publishes on. */
const GRANT_ID = toHex(fixed('listen/grant-id'));

const parkedAtHome = encodeListenerPayload(1_760_000_000_000, [['Vehicle.Speed', 0, 1_760_000_000_000]]);

/** Opens with the grantee's reader, which knows the vehicle's device key; returns the error code. */
function refusal(bytes: Uint8Array): string {
  try {
    new ListenerReader(GRANTEE_SECRET, [device.publicKey]).open(bytes);
    return 'opened';
  } catch (err) {
    return err instanceof CryptoError ? err.code : (err as Error).name;
  }
}

describe('listener messages', () => {
  it('the grantee opens what the device sealed to it, push and pull', () => {
    const s = new ListenerSession(GRANT_ID, toHex(grantee.publicKey), device, 1);
    const reader = new ListenerReader(GRANTEE_SECRET, [device.publicKey]);
    const push = reader.open(s.seal(parkedAtHome));
    expect(push).toMatchObject({
      grantId: GRANT_ID,
      seq: 0,
      pullNonce: null,
      values: [['Vehicle.Speed', 0, 1_760_000_000_000]],
    });
    const pullNonce = toHex(fixed('listen/pull').subarray(0, 16));
    expect(reader.open(s.seal(parkedAtHome, pullNonce))).toMatchObject({ seq: 1, pullNonce });
  });

  it('attack 11: a message forged with the grant id and the grantee’s public key is refused by the reader', () => {
    // Everything the attacker uses is public: the grant id, the grantee's key, the code.
    const forged = new ListenerSession(GRANT_ID, toHex(grantee.publicKey), attacker, 1).seal(parkedAtHome);
    expect(refusal(forged)).toBe('BAD_SIGNATURE');
  });

  it('attack 11: a genuine session signature does not vouch for a key the attacker wrapped', () => {
    const genuine = decodeCanonical(
      new ListenerSession(GRANT_ID, toHex(grantee.publicKey), device, 7).seal(parkedAtHome),
    ) as unknown[];
    const forged = decodeCanonical(
      new ListenerSession(GRANT_ID, toHex(grantee.publicKey), attacker, 7).seal(parkedAtHome),
    ) as unknown[];
    // The attacker's wrapped key and ciphertext under the device's signature of the same session.
    const spliced = [...forged];
    spliced[4] = genuine[4];
    expect(refusal(encodeCanonical(spliced as never))).toBe('BAD_SIGNATURE');
    // The device's signed session with the attacker's ciphertext: the key is not the attacker's.
    const swapped = [...genuine];
    swapped[7] = forged[7];
    expect(refusal(encodeCanonical(swapped as never))).toBe('AUTH_FAILED');
  });

  it('a session signed for one grant does not open as another grant’s', () => {
    const other = toHex(fixed('listen/other-grant'));
    const msg = decodeCanonical(
      new ListenerSession(other, toHex(grantee.publicKey), device, 1).seal(parkedAtHome),
    ) as unknown[];
    msg[1] = fixed('listen/grant-id');
    expect(refusal(encodeCanonical(msg as never))).not.toBe('opened');
  });

  it('refuses the unsigned messages of the first version', () => {
    const m = decodeCanonical(
      new ListenerSession(GRANT_ID, toHex(grantee.publicKey), device, 1).seal(parkedAtHome),
    ) as unknown[];
    const v1 = [1, m[1], m[2], m[3], m[5], m[6], m[7]];
    expect(refusal(encodeCanonical(v1 as never))).toBe('CodecError');
  });
});

/** What opening gives with `reader`: 'opened' or the error's code. */
function openWith(reader: ListenerReader, bytes: Uint8Array): string {
  try {
    reader.open(bytes);
    return 'opened';
  } catch (err) {
    return err instanceof CryptoError || err instanceof ListenerError ? err.code : (err as Error).name;
  }
}

describe('replay of genuine listener messages', () => {
  const driving = encodeListenerPayload(1_760_000_600_000, [['Vehicle.Speed', 90, 1_760_000_600_000]]);

  it('a genuine listener message replayed later is refused by the reader', () => {
    const reader = new ListenerReader(GRANTEE_SECRET, [device.publicKey]);
    const first = new ListenerSession(GRANT_ID, toHex(grantee.publicKey), device, 1000);
    const parked0 = first.seal(parkedAtHome);
    const parked1 = first.seal(parkedAtHome);
    expect(openWith(reader, parked0)).toBe('opened');
    expect(openWith(reader, parked1)).toBe('opened');
    // Within the session: a message already passed.
    expect(openWith(reader, parked0)).toBe('REPLAYED');
    expect(openWith(reader, parked1)).toBe('REPLAYED');
    // The device restarts (a later session number, whatever its clock says) and the car drives.
    const second = new ListenerSession(GRANT_ID, toHex(grantee.publicKey), device, 1001);
    expect(openWith(reader, second.seal(driving))).toBe('opened');
    // Across sessions: the old session's "parked at home" is refused.
    expect(openWith(reader, parked1)).toBe('REPLAYED');
    // The grantee restarts with the marks it saved: still refused.
    const again = new ListenerReader(GRANTEE_SECRET, [device.publicKey], reader.marks);
    expect(openWith(again, parked1)).toBe('REPLAYED');
    expect(openWith(again, second.seal(driving))).toBe('opened');
  });

  it('a forged session with a higher number does not move the mark: the genuine stream goes on', () => {
    const reader = new ListenerReader(GRANTEE_SECRET, [device.publicKey]);
    const genuine = new ListenerSession(GRANT_ID, toHex(grantee.publicKey), device, 5000);
    expect(openWith(reader, genuine.seal(parkedAtHome))).toBe('opened');
    const forged = new ListenerSession(GRANT_ID, toHex(grantee.publicKey), attacker, 9_000_000);
    expect(openWith(reader, forged.seal(parkedAtHome))).toBe('BAD_SIGNATURE');
    // An altered sequence number fails the AEAD and changes nothing either.
    const m = decodeCanonical(genuine.seal(driving)) as unknown[];
    m[5] = 99;
    expect(openWith(reader, encodeCanonical(m as never))).toBe('AUTH_FAILED');
    expect(openWith(reader, genuine.seal(driving))).toBe('opened');
    expect(reader.marks.get(GRANT_ID)).toEqual({ session: 5000, seq: 2 });
  });

  it('refuses the random-session messages of version 2', () => {
    const m = decodeCanonical(
      new ListenerSession(GRANT_ID, toHex(grantee.publicKey), device, 1).seal(parkedAtHome),
    ) as unknown[];
    m[0] = 2;
    expect(refusal(encodeCanonical(m as never))).toBe('CodecError');
  });
});
