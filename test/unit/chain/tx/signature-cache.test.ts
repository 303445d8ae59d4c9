/**
 * The signature cache: each transaction signature is verified once per node, a cached verdict is
 * exactly what inline verification gives for the same object, tampered bytes never borrow a cached
 * verdict, and blocks from peers still have every signature checked.
 */
import { describe, expect, it } from 'vitest';
import {
  applyBlock,
  buildBlock,
  ConsensusEngine,
  decodeSignedTx,
  encodeSignedTx,
  producerForSlot,
  SignatureCache,
  type SignedTx,
  signTx,
  toHex,
  verify,
} from '../../../../chain/index.js';
import { checkTx } from '../../../../node/runtime/tx-check.js';
import { addr, CHAIN_ID, genesis, keys } from '../chain-fixture.js';

const g = genesis();
const transfer = (nonce: number, amount = 1n, from = keys.alice): SignedTx =>
  signTx(
    {
      chainId: CHAIN_ID,
      kind: 'transfer',
      sender: addr(from),
      nonce,
      fee: 0n,
      body: { to: addr(keys.bob), token: 'QDT', amount, memo: new Uint8Array() },
    },
    from,
  );
const inline = (t: SignedTx) => verify(t.signature, t.id, Buffer.from(t.tx.sender, 'hex'));
/** A copy with one signature bit flipped. */
const badSig = (t: SignedTx): SignedTx => {
  const signature = Uint8Array.from(t.signature);
  signature[5]! ^= 1;
  return { ...t, signature };
};

describe('SignatureCache', () => {
  it('verifies once, then answers from the cache; failures are never kept', () => {
    const c = new SignatureCache();
    const t = transfer(0);
    expect(c.has(t)).toBe(false);
    expect(c.verify(t)).toBe(true);
    expect(c.verify(t)).toBe(true);
    expect(c.stats).toMatchObject({ verified: 1, hits: 1, failed: 0 });
    const b = badSig(transfer(1));
    expect(c.verify(b)).toBe(false);
    expect(c.verify(b)).toBe(false);
    expect(c.stats.failed).toBe(2);
    expect(c.size).toBe(1);
  });

  it('gives the verdict inline verification gives, for good and bad signatures and wrong senders', () => {
    const c = new SignatureCache();
    const good = transfer(0);
    c.verify(good);
    const cases: SignedTx[] = [
      good,
      badSig(good),
      // Same id and signature, another sender: not the cached entry.
      { ...good, tx: { ...good.tx, sender: addr(keys.bob) } },
      // Same id, a valid signature by someone else.
      { ...good, signature: keys.bob.sign(good.id) },
      // A sender that is not a curve point.
      { ...good, tx: { ...good.tx, sender: 'ff'.repeat(32) } },
    ];
    for (const t of cases) expect(c.verify(t)).toBe(inline(t));
    expect(cases.map((t) => c.has(t))).toEqual([true, false, false, false, false]);
  });

  it('a tampered transaction with a cached id cannot pass: decoding recomputes the id from the bytes', () => {
    const c = new SignatureCache();
    const t = transfer(0, 1n);
    expect(c.verify(t)).toBe(true);
    // Raise the amount in the encoded bytes, keeping the original signature.
    const forged = transfer(0, 900n);
    const bytes = encodeSignedTx({ ...forged, signature: t.signature });
    const decoded = decodeSignedTx(bytes);
    expect(toHex(decoded.id)).not.toBe(toHex(t.id));
    expect(c.has(decoded)).toBe(false);
    expect(c.verify(decoded)).toBe(false);
    expect(checkTx(g, decoded, c)?.code).toBe('BAD_SIGNATURE');
    // And through a block: applying with the cache as the hook refuses it.
    const built = buildBlock(g, [decoded], keys.p[0]!, g.timeMs + 500, { signaturesChecked: true });
    const r = applyBlock(g, built.block, { isVerified: c.isVerified });
    expect(!r.ok && r.error.code).toBe('TX_INVALID');
    expect(!r.ok && r.error.txError?.code).toBe('BAD_SIGNATURE');
  });

  it('evicts the least recently used entry beyond its capacity', () => {
    const c = new SignatureCache(2);
    const [a, b, d] = [transfer(0), transfer(1), transfer(2)];
    c.verify(a);
    c.verify(b);
    expect(c.has(a)).toBe(true); // a is now the most recent
    c.verify(d);
    expect([c.has(a), c.has(b), c.has(d)]).toEqual([true, false, true]);
    expect(c.stats.evicted).toBe(1);
  });
});

describe('applying with the isVerified hook', () => {
  const txs = [transfer(0), transfer(1), transfer(2)];
  const built = buildBlock(g, txs, keys.p[0]!, g.timeMs + 500);

  it('skips the verification of cached transactions and still verifies the others', () => {
    const c = new SignatureCache();
    c.verify(txs[0]!);
    c.verify(txs[1]!);
    const r = applyBlock(g, built.block, { isVerified: c.isVerified });
    expect(r.ok).toBe(true);
    expect(c.stats.hits).toBe(2);
    // One bad signature the cache does not know fails the block at its index.
    const block = { ...built.block, txs: [txs[0]!, txs[1]!, badSig(txs[2]!)] };
    const bad = applyBlock(g, block, { isVerified: c.isVerified });
    expect(!bad.ok && bad.error.txError?.code).toBe('BAD_SIGNATURE');
    expect(!bad.ok && bad.error.txError?.txIndex).toBe(2);
  });

  it('gives the same state root as inline verification', () => {
    const c = new SignatureCache();
    for (const t of txs) c.verify(t);
    const a = applyBlock(g, built.block);
    const b = applyBlock(g, built.block, { isVerified: c.isVerified });
    expect(a.ok && b.ok && toHex(a.state.blockId)).toBe(b.ok && toHex(b.state.blockId));
    expect(a.ok && b.ok && toHex(a.state.tree!.hash)).toBe(b.ok && toHex(b.state.tree!.hash));
  });
});

describe('ConsensusEngine with a signature cache', () => {
  it('builds from mempool transactions without verifying again, and learns the signatures of peer blocks', () => {
    const producer = new SignatureCache();
    const engine = new ConsensusEngine({ genesis: g, signer: keys.p[0]!, signatureCache: producer });
    const txs = [transfer(0), transfer(1)];
    // Admission verifies each signature once (nonce 1 may wait behind nonce 0).
    for (const t of txs) expect(checkTx(g, t, producer)).toBeUndefined();
    expect(producer.stats.verified).toBe(2);
    for (const t of txs) engine.handle({ kind: 'tx', tx: t });
    const verifiedBefore = producer.stats.verified;
    // Tick through slots until this producer builds a block.
    let block: ReturnType<typeof engine.handle>[number] | undefined;
    for (let s = 1; s < 20 && block === undefined; s++)
      block = engine
        .handle({ kind: 'tick', timeMs: g.timeMs + s * 500 })
        .find((a) => a.kind === 'broadcastBlock');
    expect(block?.kind === 'broadcastBlock' && block.block.txs.length).toBe(2);
    expect(producer.stats.verified).toBe(verifiedBefore);
    expect(producer.stats.hits).toBeGreaterThanOrEqual(2);

    // A follower with an empty cache verifies every signature of the peer block, then keeps them.
    const follower = new SignatureCache();
    const other = new ConsensusEngine({ genesis: g, signatureCache: follower });
    if (block?.kind !== 'broadcastBlock') throw new Error('no block');
    other.handle({ kind: 'tick', timeMs: block.block.header.header.timeMs });
    other.handle({ kind: 'block', from: 'peer', block: block.block });
    expect(other.head.height).toBe(1);
    expect(follower.size).toBe(2);
    expect(txs.every((t) => follower.has(t))).toBe(true);
  });

  it('refuses a peer block with a bad signature even when its id is cached with another signature', () => {
    const cache = new SignatureCache();
    const t = transfer(0);
    cache.verify(t);
    const engine = new ConsensusEngine({ genesis: g, signatureCache: cache });
    // The block comes from the producer of slot 1, signed correctly around a bad tx signature.
    const slotProducer = keys.p.find(
      (k) => addr(k) === producerForSlot(engine.scheduleAt(1), 1, g.params.blocksPerTurn),
    )!;
    const built = buildBlock(g, [badSig(t)], slotProducer, g.timeMs + 500, { signaturesChecked: true });
    engine.handle({ kind: 'tick', timeMs: g.timeMs + 500 });
    engine.handle({ kind: 'block', from: 'peer', block: built.block });
    expect(engine.head.height).toBe(0);
    expect(engine.stats.rejected.INVALID_BLOCK).toBe(1);
  });
});
