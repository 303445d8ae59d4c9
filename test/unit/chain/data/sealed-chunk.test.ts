/**
 * The sealed chunk's key: each chunk opens only under the key derived from its epoch key, its
 * device key and its own salt, all named in its signed header; a version 1 chunk (sealed directly
 * under the epoch key, so a key and nonce pair could come back) is refused by name.
 */
import { describe, expect, it } from 'vitest';
import {
  assembleSealedChunk,
  ChunkCheckError,
  type ChunkHeader,
  CryptoError,
  checkSealedChunk,
  ciphertextHash,
  decodeCanonical,
  Ed25519Signer,
  encodeCanonical,
  GENESIS_PREV_ID,
  openChunkBody,
  sealChunkBody,
} from '../../../../chain/index.js';
import { fixed } from '../../../vectors/generate-chain.js';

const device = new Ed25519Signer(fixed('sealed-chunk/device'));
const epochKey = fixed('sealed-chunk/epoch-key');
const body = new TextEncoder().encode('a chunk body');

function sealed(keySalt: Uint8Array, signer = device): { bytes: Uint8Array; header: ChunkHeader } {
  const placement = {
    vehicleId: 'car-1',
    stream: 'drive',
    seq: 0,
    keyEpoch: 20_000,
    dataClass: 'owner',
    privacy: 'normal',
    devicePublicKey: signer.publicKey,
    keySalt,
  } as const;
  const ciphertext = sealChunkBody(epochKey, placement, body);
  const header: ChunkHeader = {
    ...placement,
    tStartUs: 1,
    tEndUs: 2,
    sampleCount: 1,
    dictionaryId: 'd',
    ciphertextHash: ciphertextHash(ciphertext),
    prevId: GENESIS_PREV_ID,
  };
  return { bytes: assembleSealedChunk(header, ciphertext, signer).bytes, header };
}

describe('sealed chunk keys', () => {
  it('opens under the epoch key with its own salt and device key, and under no other', () => {
    const salt = fixed('salt-1').subarray(0, 16);
    const c = checkSealedChunk(sealed(salt).bytes, device.publicKey);
    expect(openChunkBody(epochKey, c.header, c.ciphertext)).toEqual(body);
    const otherSalt = { ...c.header, keySalt: fixed('salt-2').subarray(0, 16) };
    expect(() => openChunkBody(epochKey, otherSalt, c.ciphertext)).toThrow(CryptoError);
    const otherDevice = { ...c.header, devicePublicKey: new Ed25519Signer(fixed('other')).publicKey };
    expect(() => openChunkBody(epochKey, otherDevice, c.ciphertext)).toThrow(CryptoError);
  });

  it('the same body, seq and epoch key under two salts gives unrelated ciphertexts', () => {
    const a = checkSealedChunk(sealed(fixed('salt-1').subarray(0, 16)).bytes);
    const b = checkSealedChunk(sealed(fixed('salt-2').subarray(0, 16)).bytes);
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
  });

  it('refuses a key salt that is not 16 bytes', () => {
    expect(() => sealed(new Uint8Array(8))).toThrow(/chunk key salt: expected 16 bytes/);
  });

  it('refuses a version 1 chunk by its version', () => {
    const top = decodeCanonical(sealed(fixed('salt-1').subarray(0, 16)).bytes) as unknown[];
    const v1 = (top[0] as unknown[]).slice(0, 14);
    v1[0] = 1;
    const bytes = encodeCanonical([v1, top[1], top[2]] as never);
    expect(() => checkSealedChunk(bytes)).toThrow(ChunkCheckError);
    expect(() => checkSealedChunk(bytes)).toThrow(/chunk\.header\.version.*expected 2, got 1/);
  });
});
