/**
 * Generates test/vectors/chain-crypto.json: the bytes and hashes the chain signs, hashes or wraps,
 * from fixed inputs. `npm run build && node dist/test/vectors/generate-chain.js` rewrites the file;
 * test/unit/chain/vectors.test.ts fails when the code no longer produces it. Changing the file is a
 * deliberate, reviewed act: it changes the protocol.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CanonicalValue,
  encodeCanonical,
  getPublicKey,
  hkdf,
  merkleProof,
  merkleRoot,
  seal,
  sha256,
  sign,
  taggedHash,
  toHex,
  wrapKey,
  x25519PublicFromEd25519,
} from '../../chain/index.js';

/** A fixed 32-byte value named by a label (SHA-256 of it). */
export function fixed(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(label));
}

/** Every vector as JSON-ready data. */
export function generateChainVectors(): Record<string, unknown> {
  const canonical: [string, CanonicalValue][] = [
    ['zero', 0],
    ['uint 24', 24],
    ['uint 2^32', 2 ** 32],
    ['uint64 max', (1n << 64n) - 1n],
    ['neg 2^64', -(1n << 64n)],
    ['bytes', Uint8Array.of(0, 1, 2)],
    ['text', 'Vehicle.Speed'],
    ['nested', [1, [Uint8Array.of(0xff), 'x', null, true, false], []]],
  ];
  const secret = fixed('vector/ed25519/secret');
  const messages = ['', 'qood', 'a'.repeat(200)].map((m) => new TextEncoder().encode(m));
  const leaves = Array.from({ length: 7 }, (_, i) => fixed(`vector/merkle/leaf/${i}`));
  const buyerSecret = fixed('vector/wrap/buyer');
  const aeadKey = fixed('vector/aead/key');
  return {
    canonical: canonical.map(([name, v]) => ({ name, hex: toHex(encodeCanonical(v)) })),
    taggedHash: [
      { tag: 'qood/tx/v1', data: '0102', hash: toHex(taggedHash('qood/tx/v1', Uint8Array.of(1, 2))) },
    ],
    ed25519: messages.map((m) => ({
      secret: toHex(secret),
      public: toHex(getPublicKey(secret)),
      message: toHex(m),
      signature: toHex(sign(m, secret)),
    })),
    hkdf: {
      ikm: toHex(fixed('vector/hkdf/ikm')),
      salt: '00',
      info: 'qood/chunk/v1',
      okm: toHex(hkdf(fixed('vector/hkdf/ikm'), Uint8Array.of(0), 'qood/chunk/v1', 32)),
    },
    aead: {
      key: toHex(aeadKey),
      nonce: '000000000000000000000001',
      aad: '616164',
      plaintext: '48656c6c6f',
      sealed: toHex(
        seal(
          aeadKey,
          Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
          Uint8Array.of(0x48, 0x65, 0x6c, 0x6c, 0x6f),
          Uint8Array.of(0x61, 0x61, 0x64),
        ),
      ),
    },
    wrap: {
      buyerEd25519Secret: toHex(buyerSecret),
      recipientX25519: toHex(x25519PublicFromEd25519(getPublicKey(buyerSecret))),
      ephemeralSecret: toHex(fixed('vector/wrap/ephemeral')),
      dataKey: toHex(fixed('vector/wrap/data-key')),
      context: '6f72646572',
      wrapped: toHex(
        wrapKey(
          fixed('vector/wrap/data-key'),
          x25519PublicFromEd25519(getPublicKey(buyerSecret)),
          Uint8Array.of(0x6f, 0x72, 0x64, 0x65, 0x72),
          fixed('vector/wrap/ephemeral'),
        ),
      ),
    },
    merkle: {
      leaves: leaves.map(toHex),
      roots: [0, 1, 2, 3, 7].map((n) => ({ size: n, root: toHex(merkleRoot(leaves.slice(0, n))) })),
      proofs: [0, 4, 6].map((i) => ({ size: 7, index: i, proof: merkleProof(leaves, i).map(toHex) })),
    },
  };
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Compiled to dist/test/vectors: the source tree's test/vectors is three levels up from dist's.
  const out = join(here, '..', '..', '..', 'test', 'vectors', 'chain-crypto.json');
  writeFileSync(out, `${JSON.stringify(generateChainVectors(), null, 2)}\n`);
  process.stdout.write(`written ${out}\n`);
}
