/**
 * The mempool's candidates for a block: arrival order between senders, each sender's in nonce order
 * (nonces only rise on chain, so a later nonce taken first would make an earlier one unusable).
 */
import { describe, expect, it } from 'vitest';
import {
  Ed25519Signer,
  Mempool,
  type SignedTx,
  sha256,
  signTx,
  toHex,
  type UnsignedTx,
} from '../../../../chain/index.js';

const key = (label: string) => new Ed25519Signer(sha256(new TextEncoder().encode(label)));
const alice = key('mempool/alice');
const bob = key('mempool/bob');

function transfer(signer: Ed25519Signer, nonce: number): SignedTx {
  const u = {
    chainId: 'qood-mempool',
    kind: 'transfer',
    sender: toHex(signer.publicKey),
    nonce,
    fee: 0n,
    body: { to: toHex(bob.publicKey), token: 'QDT', amount: 1n, memo: new Uint8Array() },
  } as UnsignedTx;
  return signTx(u, signer);
}

const label = (t: SignedTx) => `${t.tx.sender === toHex(alice.publicKey) ? 'alice' : 'bob'}#${t.tx.nonce}`;

describe('Mempool', () => {
  it("keeps arrival order between senders and each sender's nonce order", () => {
    const pool = new Mempool('qood-mempool', 10);
    for (const t of [transfer(alice, 2), transfer(bob, 0), transfer(alice, 0), transfer(alice, 1)])
      expect(pool.add(t)).toBeUndefined();
    expect(pool.candidates(10).map(label)).toEqual(['alice#0', 'bob#0', 'alice#1', 'alice#2']);
    // Capped at `max`: the oldest arrival slots, each with its sender's lowest nonce.
    expect(pool.candidates(2).map(label)).toEqual(['alice#0', 'bob#0']);
    expect(pool.has(toHex(transfer(alice, 1).id))).toBe(true);
    expect(pool.has(toHex(transfer(alice, 3).id))).toBe(false);
    expect(pool.add(transfer(alice, 3))).toBeUndefined();
    expect(pool.add({ ...transfer(bob, 1), tx: { ...transfer(bob, 1).tx, chainId: 'other' } })).toMatch(
      /chain 'other'/,
    );
  });
});
