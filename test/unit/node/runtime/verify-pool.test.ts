/**
 * The verify pool: verdicts equal to inline `verify` item by item (bad signatures, wrong lengths,
 * keys off the curve, mixed message lengths) on worker threads and on the calling thread, and the
 * signature cache filled from it.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CryptoError,
  Ed25519Signer,
  SignatureCache,
  type SignedTx,
  signTx,
  type VerifyItem,
  verify,
} from '../../../../chain/index.js';
import type { P2pMessage } from '../../../../node/p2p/wire.js';
import { VerifyPool } from '../../../../node/runtime/index.js';
import { VerifyInbox } from '../../../../node/runtime/verify-inbox.js';
import { addr, CHAIN_ID, keys } from '../../chain/chain-fixture.js';

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const signers = Array.from({ length: 8 }, () => new Ed25519Signer(rnd(32)));

/** A valid item, or one of the ways an item can be wrong. */
function item(i: number, flaw: number): VerifyItem {
  const s = signers[i % signers.length]!;
  const message = rnd(i % 3 === 0 ? 32 : 1 + (i % 200));
  const signature = s.sign(message);
  switch (flaw) {
    case 1: {
      const bad = Uint8Array.from(signature);
      bad[i % 64]! ^= 1 << (i % 8);
      return { signature: bad, message, publicKey: s.publicKey };
    }
    case 2:
      return { signature, message: Uint8Array.of(...message, 0), publicKey: s.publicKey };
    case 3:
      return { signature: signature.subarray(0, 63), message, publicKey: s.publicKey };
    case 4:
      return { signature, message, publicKey: new Uint8Array(31) };
    case 5:
      // Not a point encoding (y = 2^255 - 1 is above the field prime).
      return { signature, message, publicKey: new Uint8Array(32).fill(0xff) };
    case 6:
      return { signature, message, publicKey: signers[(i + 1) % signers.length]!.publicKey };
    case 7: {
      // A small-order key with R = identity, S = 0: OpenSSL alone would accept it.
      const identity = new Uint8Array(32);
      identity[0] = 1;
      return { signature: Uint8Array.of(...identity, ...new Uint8Array(32)), message, publicKey: identity };
    }
    default:
      return { signature, message, publicKey: s.publicKey };
  }
}

const pool = new VerifyPool({ workers: 2, minParallel: 8 });
afterAll(() => pool.close());

describe('VerifyPool', () => {
  it('gives inline verify verdicts item by item, for batches split over workers and this thread', async () => {
    const items = Array.from({ length: 300 }, (_, i) => item(i, i % 8));
    const got = await pool.verifyBatch(items);
    expect(got).toEqual(items.map((x) => verify(x.signature, x.message, x.publicKey)));
    // Only the unflawed ones verify: the flaws are real.
    expect(got.filter(Boolean).length).toBe(items.filter((_, i) => i % 8 === 0).length);
    expect(pool.stats.offloaded).toBeGreaterThan(0);
    expect(pool.stats.local).toBeGreaterThan(0);
  });

  it('agrees with inline verify on random mixes of flaws and batch sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 40 }), async (flaws) => {
        const items = flaws.map((f, i) => item(i, f));
        const got = await pool.verifyBatch(items);
        expect(got).toEqual(items.map((x) => verify(x.signature, x.message, x.publicKey)));
      }),
      { numRuns: 40 },
    );
  });

  it('runs concurrent batches without mixing their answers', async () => {
    const a = Array.from({ length: 50 }, (_, i) => item(i, 0));
    const b = Array.from({ length: 50 }, (_, i) => item(i, 1));
    const [ra, rb] = await Promise.all([pool.verifyBatch(a), pool.verifyBatch(b)]);
    expect(ra.every(Boolean)).toBe(true);
    expect(rb.some(Boolean)).toBe(false);
  });

  it('verifies small batches on the calling thread only', async () => {
    const p = new VerifyPool({ minParallel: 100 });
    try {
      expect(await p.verifyBatch([item(0, 0), item(1, 1)])).toEqual([true, false]);
      expect(p.stats).toMatchObject({ offloaded: 0, local: 2 });
    } finally {
      await p.close();
    }
  });

  it('refuses work once closed, with a typed error', async () => {
    const p = new VerifyPool();
    await p.close();
    await expect(p.verifyBatch([item(0, 0)])).rejects.toBeInstanceOf(CryptoError);
    await expect(p.verifyBatch([item(0, 0)])).rejects.toMatchObject({ code: 'WORKER_FAILED' });
    expect(() => new VerifyPool({ workers: 0 })).toThrow(CryptoError);
  });
});

describe('SignatureCache.verifyAll with a pool', () => {
  const tx = (nonce: number): SignedTx =>
    signTx(
      {
        chainId: CHAIN_ID,
        kind: 'transfer',
        sender: addr(keys.alice),
        nonce,
        fee: 0n,
        body: { to: addr(keys.bob), token: 'QDT', amount: 1n, memo: new Uint8Array() },
      },
      keys.alice,
    );

  it('answers cached ones at once, verifies the rest in the pool and keeps only those that verify', async () => {
    const cache = new SignatureCache();
    const txs = Array.from({ length: 40 }, (_, i) => tx(i));
    cache.verify(txs[0]!);
    const bad = { ...txs[7]!, signature: Uint8Array.from(txs[7]!.signature).fill(0, 0, 8) };
    const batch = [...txs.slice(0, 7), bad, ...txs.slice(8)];
    const got = await cache.verifyAll(batch, pool);
    expect(got).toEqual(batch.map((t) => verify(t.signature, t.id, Buffer.from(t.tx.sender, 'hex'))));
    expect(got.filter((x) => !x)).toHaveLength(1);
    expect(cache.size).toBe(39);
    expect(cache.has(bad)).toBe(false);
    expect(cache.has(txs[7]!)).toBe(false);
    expect(cache.stats).toMatchObject({ failed: 1, verified: 39 });
  });
});

describe('VerifyInbox', () => {
  const tx = (nonce: number): SignedTx =>
    signTx(
      {
        chainId: CHAIN_ID,
        kind: 'transfer',
        sender: addr(keys.bob),
        nonce,
        fee: 0n,
        body: { to: addr(keys.alice), token: 'QDT', amount: 1n, memo: new Uint8Array() },
      },
      keys.bob,
    );
  const blockOf = (txs: SignedTx[]): P2pMessage =>
    ({ kind: 'blocks', blocks: [{ header: {} as never, txs }] }) as P2pMessage;
  const status = (n: number): P2pMessage => ({ kind: 'status', finalHeight: n, headHeight: n });

  it('keeps arrival order: messages after a large one wait for its pool verification', async () => {
    const cache = new SignatureCache();
    const seen: string[] = [];
    const inbox = new VerifyInbox({
      pool,
      cache,
      minTxs: 10,
      handle: (_from, m) => {
        seen.push(
          m.kind === 'blocks'
            ? `blocks:${cache.size}`
            : `status:${(m as { finalHeight: number }).finalHeight}`,
        );
      },
    });
    inbox.receive('p', status(1));
    expect(seen).toEqual(['status:1']);
    const big = Array.from({ length: 30 }, (_, i) => tx(i));
    inbox.receive('p', blockOf([...big.slice(0, 29), { ...big[29]!, signature: new Uint8Array(64) }]));
    inbox.receive('p', status(2));
    inbox.receive('p', blockOf([tx(40)]));
    expect(seen).toEqual(['status:1']);
    expect(inbox.size).toBe(3);
    await inbox.drained();
    // The block reached the engine with its 29 good signatures cached (the bad one left to inline).
    expect(seen).toEqual(['status:1', 'blocks:29', 'status:2', 'blocks:29']);
    expect(cache.stats).toMatchObject({ verified: 29, failed: 1 });
  });

  it('passes small messages straight through when nothing waits', () => {
    const seen: number[] = [];
    const inbox = new VerifyInbox({
      pool,
      cache: new SignatureCache(),
      handle: () => seen.push(1),
    });
    inbox.receive('p', blockOf([tx(1), tx(2)]));
    expect(seen).toEqual([1]);
  });
});
