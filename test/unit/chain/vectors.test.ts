import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  decodeCanonical,
  decodeSignedTx,
  encodeCanonical,
  encodeSignedTx,
  fromHex,
  TX_KINDS,
  unwrapKey,
  verify,
  verifyMerkleProof,
  verifyNoble,
  x25519SecretFromEd25519,
} from '../../../chain/index.js';
import { generateChainVectors, generateTxVectors } from '../../vectors/generate-chain.js';

const file = join(import.meta.dirname, '..', '..', 'vectors', 'chain-crypto.json');
const pinned = JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof generateChainVectors> & {
  canonical: { name: string; hex: string }[];
  ed25519: { public: string; message: string; signature: string }[];
  wrap: { buyerEd25519Secret: string; dataKey: string; context: string; wrapped: string };
  merkle: {
    leaves: string[];
    roots: { size: number; root: string }[];
    proofs: { size: number; index: number; proof: string[] }[];
  };
};

describe('chain crypto vectors (test/vectors/chain-crypto.json)', () => {
  it('are exactly what the code produces today (a change here is a protocol change)', () => {
    expect(JSON.parse(JSON.stringify(generateChainVectors()))).toEqual(pinned);
  });

  it('hold independently: canonical bytes round-trip, signatures verify with both verifiers, the wrap opens, proofs check', () => {
    for (const c of pinned.canonical)
      expect(Buffer.from(encodeCanonical(decodeCanonical(fromHex(c.hex)))).toString('hex')).toBe(c.hex);
    for (const v of pinned.ed25519) {
      expect(verify(fromHex(v.signature), fromHex(v.message), fromHex(v.public))).toBe(true);
      expect(verifyNoble(fromHex(v.signature), fromHex(v.message), fromHex(v.public))).toBe(true);
    }
    const w = pinned.wrap;
    expect(
      unwrapKey(
        fromHex(w.wrapped),
        x25519SecretFromEd25519(fromHex(w.buyerEd25519Secret)),
        fromHex(w.context),
      ),
    ).toEqual(fromHex(w.dataKey));
    const root7 = fromHex(pinned.merkle.roots.find((r) => r.size === 7)!.root);
    for (const p of pinned.merkle.proofs)
      expect(
        verifyMerkleProof(
          fromHex(pinned.merkle.leaves[p.index]!),
          p.index,
          p.size,
          p.proof.map(fromHex),
          root7,
        ),
      ).toBe(true);
  });
});

const txFile = join(import.meta.dirname, '..', '..', 'vectors', 'chain-tx.json');
const pinnedTx = JSON.parse(readFileSync(txFile, 'utf8')) as {
  txs: { kind: string; id: string; signed: string }[];
};

describe('transaction, header and chain vectors (test/vectors/chain-tx.json)', () => {
  it('are exactly what the code produces today', () => {
    expect(JSON.parse(JSON.stringify(generateTxVectors()))).toEqual(pinnedTx);
  });

  it('cover every transaction kind, and each decodes, re-encodes identically and verifies', () => {
    expect(pinnedTx.txs.map((t) => t.kind).sort()).toEqual(Object.keys(TX_KINDS).sort());
    for (const t of pinnedTx.txs) {
      const s = decodeSignedTx(fromHex(t.signed));
      expect(s.tx.kind).toBe(t.kind);
      expect(Buffer.from(s.id).toString('hex')).toBe(t.id);
      expect(Buffer.from(encodeSignedTx(s)).toString('hex')).toBe(t.signed);
      expect(verify(s.signature, s.id, fromHex(s.tx.sender))).toBe(true);
    }
  });
});

describe('transaction decoding of garbage', () => {
  it('names the field and what was expected, and throws only CodecError', () => {
    const t = decodeSignedTx(fromHex(pinnedTx.txs[0]!.signed));
    const value = decodeCanonical(fromHex(pinnedTx.txs[0]!.signed)) as unknown as [unknown[], Uint8Array];
    const mutate = (f: (v: unknown[]) => void) => {
      const copy = structuredClone(value) as unknown as [unknown[], Uint8Array];
      f(copy[0]);
      return encodeCanonical(copy as never);
    };
    expect(() => decodeSignedTx(mutate((v) => (v[2] = 99)))).toThrow('tx.kind: unknown transaction kind 99');
    expect(() => decodeSignedTx(mutate((v) => (v[3] = new Uint8Array(31))))).toThrow(
      'tx.sender: expected 32 bytes, got 31',
    );
    expect(() => decodeSignedTx(mutate((v) => ((v[6] as unknown[])[2] = -1)))).toThrow(
      'tx.body.amount: expected an amount',
    );
    expect(() => decodeSignedTx(mutate((v) => (v[0] = 2)))).toThrow('tx.version: expected version 1');
    expect(t.tx.kind).toBe('transfer');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (noise, at) => {
        const b = fromHex(pinnedTx.txs[at % pinnedTx.txs.length]!.signed);
        const cut = Uint8Array.from([...b.subarray(0, at % b.length), ...noise]);
        try {
          decodeSignedTx(cut);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
