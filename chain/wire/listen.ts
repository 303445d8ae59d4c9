/**
 * Listener messages, encrypted end to end to the grantee: the broker carries them and cannot read
 * them. Each grant's stream has a session key (32 random bytes) wrapped to the grantee's X25519
 * key (its ed25519 account key converted, chain/crypto/x25519-wrap), and each message is
 * ChaCha20-Poly1305 under the session key:
 *
 *   message = [1, grantId (32), session, wrappedKey (80), seq, pullNonce (16) | null, ciphertext]
 *   nonce   = 4 zero bytes || seq as 8 bytes big-endian (seq never repeats within a session)
 *   aad     = canonical([1, grantId, session, seq, pullNonce])
 *   wrap context = canonical(["qood/listen-session/v1", grantId, session])
 *   plaintext    = CBOR [tMs, [[path, value, tMs]...]]   (values after the grant's rounding)
 *
 * The wrapped key rides in every message (80 bytes), so a grantee that subscribes late or loses
 * messages decrypts from the next one; it unwraps once per session and caches the key. The
 * plaintext is CBOR from cbor-x (values may be fractions, which canonical CBOR leaves out): it is
 * authenticated by the AEAD, not signed or hashed, so its encoding need not be canonical.
 */
import { randomBytes } from 'node:crypto';
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readUint } from '../codec/fields.js';
import { open, seal } from '../crypto/aead.js';
import { fromHex, toHex } from '../crypto/hash.js';
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

/** The device's side of a grant's stream: key, wrap and counter. */
export class ListenerSession {
  readonly session: number;
  readonly #key: Uint8Array;
  readonly #wrapped: Uint8Array;
  readonly #grantId: Uint8Array;
  #seq = 0;

  constructor(grantId: string, granteePublicKey: string, session = randomBytes(4).readUInt32BE(0)) {
    this.session = session;
    this.#grantId = fromHex(grantId);
    this.#key = new Uint8Array(randomBytes(32));
    this.#wrapped = wrapKey(
      this.#key,
      x25519PublicFromEd25519(fromHex(granteePublicKey)),
      wrapContext(this.#grantId, session),
    );
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
    return encodeCanonical([1, this.#grantId, this.session, this.#wrapped, seq, pn, ct]);
  }
}

/** The plaintext of a message. */
export function encodeListenerPayload(tMs: number, values: readonly ListenedValue[]): Uint8Array {
  return cborEncode([tMs, values]);
}

const wrapContext = (grantId: Uint8Array, session: number) =>
  encodeCanonical(['qood/listen-session/v1', grantId, session]);

function nonceOf(seq: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(seq));
  return n;
}

const aadOf = (grantId: Uint8Array, session: number, seq: number, pullNonce: Uint8Array | null) =>
  encodeCanonical([1, grantId, session, seq, pullNonce] as CanonicalValue);

/** The grantee's side: unwraps session keys once and opens messages. */
export class ListenerReader {
  readonly #x25519Secret: Uint8Array;
  readonly #keys = new Map<string, Uint8Array>();

  /** `granteeSecretKey`: the grantee's ed25519 secret key (its account key). */
  constructor(granteeSecretKey: Uint8Array) {
    this.#x25519Secret = x25519SecretFromEd25519(granteeSecretKey);
  }

  /**
   * Opens a message. Throws CodecError for a malformed message and CryptoError('AUTH_FAILED') for
   * one not sealed to this grantee or altered on the way.
   */
  open(bytes: Uint8Array): ListenerMessage {
    const a = readArray(decodeCanonical(bytes), 'listen', 7);
    if (readUint(a[0], 'listen.version') !== 1) throw new CodecError('SHAPE', 'listen.version', 'expected 1');
    const grantId = readBytes(a[1], 'listen.grantId', 32);
    const session = readUint(a[2], 'listen.session', 0xffffffff);
    const wrapped = readBytes(a[3], 'listen.wrappedKey', WRAPPED_KEY_LENGTH);
    const seq = readUint(a[4], 'listen.seq');
    const pn = a[5] === null ? null : readBytes(a[5], 'listen.pullNonce', 16);
    const ct = readBytes(a[6], 'listen.ciphertext');
    const cacheKey = `${toHex(grantId)}/${session}/${toHex(wrapped)}`;
    let key = this.#keys.get(cacheKey);
    if (key === undefined) {
      key = unwrapKey(wrapped, this.#x25519Secret, wrapContext(grantId, session));
      this.#keys.set(cacheKey, key);
    }
    const plain = open(key, nonceOf(seq), ct, aadOf(grantId, session, seq, pn));
    const body = cborDecode(plain) as unknown;
    if (!Array.isArray(body) || body.length !== 2 || typeof body[0] !== 'number' || !Array.isArray(body[1]))
      throw new CodecError('SHAPE', 'listen.plaintext', 'expected [tMs, [[path, value, tMs]...]]');
    return {
      grantId: toHex(grantId),
      session,
      seq,
      pullNonce: pn === null ? null : toHex(pn),
      tMs: body[0],
      values: body[1] as ListenedValue[],
    };
  }
}
