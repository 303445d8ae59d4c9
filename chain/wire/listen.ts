/**
 * Listener messages, encrypted end to end to the grantee: the broker carries them and cannot read
 * them. Each grant's stream has a session key (32 random bytes) wrapped to the grantee's X25519
 * key (its ed25519 account key converted, chain/crypto/x25519-wrap), signed by the device, and each
 * message is ChaCha20-Poly1305 under the session key:
 *
 *   message = [3, grantId (32), session, wrappedKey (80), sessionSignature (64), seq,
 *              pullNonce (16) | null, ciphertext]
 *   sessionSignature = ed25519(device key, taggedHash("qood/listen-session-key/v2",
 *                              canonical([grantId, session, granteePublicKey, wrappedKey])))
 *   nonce   = 4 zero bytes || seq as 8 bytes big-endian (seq never repeats within a session)
 *   aad     = canonical([3, grantId, session, seq, pullNonce])
 *   wrap context = canonical(["qood/listen-session/v1", grantId, session])
 *   plaintext    = CBOR [tMs, [[path, value, tMs]...]]   (values after the grant's rounding)
 *
 * Why the signature (issue 14, attack 11): wrapping to the grantee proves nothing about who
 * wrapped, since the grantee's public key and the grant id (the topic) are public; without it
 * anyone could make a session and messages the grantee takes for the car's. The device signs the
 * wrapped key once per session, and the reader opens a session only when that signature verifies
 * under a device key it already trusts for the vehicle: the device keys the owner bound to it (the
 * chain's vehicle record lists them, provable with the light client; the owner may also hand them
 * over with the grant), as for control receipts. Only the device and the grantee know the session
 * key, so the AEAD then authenticates every message of the session as the device's without a
 * signature per message (the fan-out costs one signature per grant and session, not per push). The
 * grantee could seal messages to itself under that key; it cannot show them to anyone as the car's.
 *
 * Replay (version 3): a genuine message recorded from the broker used to open again at any later
 * time, so a grantee could be shown the car parked at home while it was gone. The session number
 * is no longer random: it is the device's session start, ordered (the device takes its clock in ms,
 * or one more than the last session it started when that is higher, and keeps the last in its
 * store), and signed with the session key. Every message carries its sequence number in the AAD.
 * The reader keeps, per grant, the newest session it opened and the highest sequence number in it,
 * and refuses (ListenerError REPLAYED) a message of an older session or a sequence number it has
 * passed, within a session or across sessions. A message that fails to open changes nothing, so a
 * forgery cannot move the mark. `ListenerReader.marks` can be saved and handed to a new reader, so
 * a grantee's restart does not reopen old messages either.
 *
 * The wrapped key and its signature ride in every message (144 bytes), so a grantee that subscribes
 * late or loses messages decrypts from the next one; it checks and unwraps once per session and
 * caches the key. The plaintext is CBOR from cbor-x (values may be fractions, which canonical CBOR
 * leaves out): it is authenticated by the AEAD, not signed or hashed, so its encoding need not be
 * canonical.
 */
import { randomBytes } from 'node:crypto';
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readUint } from '../codec/fields.js';
import { open, seal } from '../crypto/aead.js';
import { type Ed25519Signer, getPublicKey, verify } from '../crypto/ed25519.js';
import { CryptoError } from '../crypto/errors.js';
import { fromHex, taggedHash, toHex } from '../crypto/hash.js';
import {
  unwrapKey,
  WRAPPED_KEY_LENGTH,
  wrapKey,
  x25519PublicFromEd25519,
  x25519SecretFromEd25519,
} from '../crypto/x25519-wrap.js';
import type { SampleValue } from '../data/sample.js';

/** One value as the grantee receives it. */
export type ListenedValue = readonly [path: string, value: SampleValue, tMs: number];

/** A decrypted listener message. */
export interface ListenerMessage {
  readonly grantId: string;
  readonly session: number;
  readonly seq: number;
  /** The pull request's nonce this answers, or null for a push. */
  readonly pullNonce: string | null;
  readonly tMs: number;
  readonly values: readonly ListenedValue[];
}

/**
 * The message version: 3 has ordered, signed session numbers the reader checks for replay (2 had
 * random ones; 1 carried no device signature).
 */
export const LISTEN_VERSION = 3;

/** Why a genuine message is refused by the reader. */
export type ListenerErrorCode = 'REPLAYED';

/**
 * A message that opened but is not new: an older session of its grant than one already opened, or
 * a sequence number at or below the highest one seen in its session. Neither a codec nor a crypto
 * failure, hence its own class.
 */
export class ListenerError extends Error {
  constructor(
    readonly code: ListenerErrorCode,
    readonly grantId: string,
    message: string,
  ) {
    super(`listener message of grant ${grantId.slice(0, 16)}...: ${message}`);
    this.name = 'ListenerError';
  }
}

/** A reader's high-water mark for a grant: the newest session opened and its highest seq. */
export interface ListenerMark {
  readonly session: number;
  readonly seq: number;
}

/** The device's side of a grant's stream: key, wrap, the device's signature of it, and counter. */
export class ListenerSession {
  readonly session: number;
  readonly #key: Uint8Array;
  readonly #wrapped: Uint8Array;
  readonly #signature: Uint8Array;
  readonly #grantId: Uint8Array;
  #seq = 0;

  /**
   * `device` signs the session (once, here); `granteePublicKey` is the grant's grantee, hex.
   * `session`: the session's start, ordered: later sessions of the device must have higher numbers
   * (the listener hub takes max(now in ms, last + 1), kept in its store), since the grantee's
   * reader refuses a session older than one it has opened.
   */
  constructor(grantId: string, granteePublicKey: string, device: Ed25519Signer, session: number) {
    if (!Number.isSafeInteger(session) || session < 0)
      throw new CodecError('SHAPE', 'listen.session', `expected a safe non-negative integer, got ${session}`);
    this.session = session;
    this.#grantId = fromHex(grantId);
    this.#key = new Uint8Array(randomBytes(32));
    const grantee = fromHex(granteePublicKey);
    this.#wrapped = wrapKey(this.#key, x25519PublicFromEd25519(grantee), wrapContext(this.#grantId, session));
    // The defence against forged sessions (attack 11): the reader opens none unsigned by a device key it trusts.
    this.#signature = device.sign(sessionDigest(this.#grantId, session, grantee, this.#wrapped));
  }

  /** Messages sealed so far. */
  get seq(): number {
    return this.#seq;
  }

  /** Seals one message. `plaintext` comes from `encodeListenerPayload`. */
  seal(plaintext: Uint8Array, pullNonce: string | null = null): Uint8Array {
    const seq = this.#seq++;
    const pn = pullNonce === null ? null : fromHex(pullNonce);
    const ct = seal(this.#key, nonceOf(seq), plaintext, aadOf(this.#grantId, this.session, seq, pn));
    return encodeCanonical([
      LISTEN_VERSION,
      this.#grantId,
      this.session,
      this.#wrapped,
      this.#signature,
      seq,
      pn,
      ct,
    ]);
  }
}

/** The plaintext of a message. */
export function encodeListenerPayload(tMs: number, values: readonly ListenedValue[]): Uint8Array {
  return cborEncode([tMs, values]);
}

const wrapContext = (grantId: Uint8Array, session: number) =>
  encodeCanonical(['qood/listen-session/v2', grantId, session]);

/** What the device signs for a session: the grant, the session, the grantee and the wrapped key. */
const sessionDigest = (grantId: Uint8Array, session: number, grantee: Uint8Array, wrapped: Uint8Array) =>
  taggedHash('qood/listen-session-key/v2', encodeCanonical([grantId, session, grantee, wrapped]));

function nonceOf(seq: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(seq));
  return n;
}

const aadOf = (grantId: Uint8Array, session: number, seq: number, pullNonce: Uint8Array | null) =>
  encodeCanonical([LISTEN_VERSION, grantId, session, seq, pullNonce] as CanonicalValue);

/** The grantee's side: checks each session's device signature, unwraps its key once, opens messages. */
export class ListenerReader {
  readonly #x25519Secret: Uint8Array;
  readonly #granteePublicKey: Uint8Array;
  readonly #deviceKeys: readonly Uint8Array[];
  readonly #keys = new Map<string, Uint8Array>();
  /** Per grant (hex): the newest session opened and its highest seq (the replay defence). */
  readonly #marks: Map<string, ListenerMark>;

  /**
   * `granteeSecretKey`: the grantee's ed25519 secret key (its account key). `devicePublicKeys`: the
   * device keys the grantee trusts for the vehicle (those the owner bound to it: the chain's
   * vehicle record); a session signed by any other key is refused. `marks`: high-water marks a
   * previous reader kept (`marks`), so old messages stay refused across the grantee's restarts.
   */
  constructor(
    granteeSecretKey: Uint8Array,
    devicePublicKeys: Uint8Array | readonly Uint8Array[],
    marks: ReadonlyMap<string, ListenerMark> = new Map(),
  ) {
    this.#x25519Secret = x25519SecretFromEd25519(granteeSecretKey);
    this.#granteePublicKey = getPublicKey(granteeSecretKey);
    this.#deviceKeys = devicePublicKeys instanceof Uint8Array ? [devicePublicKeys] : [...devicePublicKeys];
    this.#marks = new Map(marks);
  }

  /** The high-water marks by grant id (hex), to save and hand to the next reader. */
  get marks(): ReadonlyMap<string, ListenerMark> {
    return new Map(this.#marks);
  }

  /**
   * Opens a message. Throws CodecError for a malformed message (a version 1 message, which carries
   * no device signature, among them), CryptoError('BAD_SIGNATURE') for a session no trusted device
   * key signed, CryptoError('AUTH_FAILED') for one not sealed to this grantee or altered on the
   * way, and ListenerError('REPLAYED') for a genuine message that is not newer than one opened.
   */
  open(bytes: Uint8Array): ListenerMessage {
    const a = readArray(decodeCanonical(bytes), 'listen');
    const version = readUint(a[0], 'listen.version');
    if (version !== LISTEN_VERSION)
      throw new CodecError('SHAPE', 'listen.version', `expected ${LISTEN_VERSION}, got ${version}`);
    readArray(a, 'listen', 8);
    const grantId = readBytes(a[1], 'listen.grantId', 32);
    const session = readUint(a[2], 'listen.session');
    const wrapped = readBytes(a[3], 'listen.wrappedKey', WRAPPED_KEY_LENGTH);
    const signature = readBytes(a[4], 'listen.sessionSignature', 64);
    const seq = readUint(a[5], 'listen.seq');
    const pn = a[6] === null ? null : readBytes(a[6], 'listen.pullNonce', 16);
    const ct = readBytes(a[7], 'listen.ciphertext');
    const cacheKey = `${toHex(grantId)}/${session}/${toHex(wrapped)}/${toHex(signature)}`;
    let key = this.#keys.get(cacheKey);
    if (key === undefined) {
      // Unwrapping first tells a message for another grantee (AUTH_FAILED) from a forgery.
      const unwrapped = unwrapKey(wrapped, this.#x25519Secret, wrapContext(grantId, session));
      // Enforced before the key is used: only a session a trusted device signed is opened (attack 11).
      const digest = sessionDigest(grantId, session, this.#granteePublicKey, wrapped);
      if (!this.#deviceKeys.some((d) => verify(signature, digest, d)))
        throw new CryptoError(
          'BAD_SIGNATURE',
          'listener session',
          `session ${session} of grant ${toHex(grantId).slice(0, 16)}... is not signed by a device key of the vehicle`,
        );
      key = unwrapped;
      // Cached only once checked, so forged sessions cannot fill the cache.
      this.#keys.set(cacheKey, key);
    }
    const grantHex = toHex(grantId);
    // The replay defence, enforced before the message is opened: the session number is under the
    // device's signature and the seq under the AEAD, so neither can be raised by a third party.
    const mark = this.#marks.get(grantHex);
    if (mark !== undefined && session < mark.session)
      throw new ListenerError(
        'REPLAYED',
        grantHex,
        `session ${session} is older than session ${mark.session}, already opened`,
      );
    if (mark !== undefined && session === mark.session && seq <= mark.seq)
      throw new ListenerError(
        'REPLAYED',
        grantHex,
        `message ${seq} of session ${session} is not after message ${mark.seq}, already opened`,
      );
    const plain = open(key, nonceOf(seq), ct, aadOf(grantId, session, seq, pn));
    const body = cborDecode(plain) as unknown;
    if (!Array.isArray(body) || body.length !== 2 || typeof body[0] !== 'number' || !Array.isArray(body[1]))
      throw new CodecError('SHAPE', 'listen.plaintext', 'expected [tMs, [[path, value, tMs]...]]');
    // Raised only once the message proved genuine, so a forgery cannot block later messages.
    this.#marks.set(grantHex, { session, seq });
    return {
      grantId: grantHex,
      session,
      seq,
      pullNonce: pn === null ? null : toHex(pn),
      tMs: body[0],
      values: body[1] as ListenedValue[],
    };
  }
}
