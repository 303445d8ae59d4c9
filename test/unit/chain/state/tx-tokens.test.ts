import { describe, expect, it } from 'vitest';
import {
  currentMana,
  decodeSignedTx,
  encodeSignedTx,
  getAccount,
  getRecord,
  headerId,
  MAX_NONCE_GAP,
  nextFreeTxHeight,
  type Producer,
  signedHeaderValue,
  stateKey,
  UNIT,
  validateTx,
} from '../../../../chain/index.js';
import { addr, block, genesis, keyOf, keys, reason, tx } from '../chain-fixture.js';

const { alice, bob, issuer, carol } = keys;
const producer = (s: ReturnType<typeof genesis>, i: number) =>
  getRecord<Producer>(s.tree, stateKey.producer(addr(keys.p[i]!)))!;

describe('transfers, nonces, signatures', () => {
  it('moves QDT and QDD and bumps the nonce', () => {
    const g = genesis();
    const s = block(
      g,
      tx(g, alice, 'transfer', { to: addr(bob), token: 'QDT', amount: 5n * UNIT, memo: new Uint8Array() }),
    );
    expect(getAccount(s, addr(alice)).qdt).toBe(995n * UNIT);
    expect(getAccount(s, addr(bob)).qdt).toBe(1005n * UNIT);
    expect(getAccount(s, addr(alice)).nonce).toBe(1);
    const s2 = block(
      s,
      tx(s, alice, 'transfer', { to: addr(bob), token: 'QDD', amount: 7n, memo: Uint8Array.of(1) }),
    );
    expect(getAccount(s2, addr(bob)).qdd).toBe(7n);
    // The older state is untouched.
    expect(getAccount(g, addr(alice)).qdt).toBe(1000n * UNIT);
  });

  it('rejects a bad signature, a wrong nonce, another chain, too much, and zero', () => {
    const g = genesis();
    const body = { to: addr(bob), token: 'QDT' as const, amount: 1n, memo: new Uint8Array() };
    const good = tx(g, alice, 'transfer', body);
    const forged = { ...good, signature: tx(g, bob, 'transfer', body).signature };
    expect(reason(g, good)).toBe('ok');
    expect(reason(g, forged)).toBe('BAD_SIGNATURE');
    // Nonces only rise: a gap is allowed (a refused transaction must not block later ones), a jump
    // past MAX_NONCE_GAP is not, and a used nonce never comes back.
    expect(reason(g, tx(g, alice, 'transfer', body, { nonceOffset: 3 }))).toBe('ok');
    expect(reason(g, tx(g, alice, 'transfer', body, { nonceOffset: MAX_NONCE_GAP + 1 }))).toBe('BAD_NONCE');
    const skipped = block(g, tx(g, alice, 'transfer', body, { nonceOffset: 3 }));
    expect(getAccount(skipped, addr(alice)).nonce).toBe(4);
    expect(reason(skipped, tx(g, alice, 'transfer', body, { nonceOffset: 2 }))).toBe('BAD_NONCE');
    expect(reason(g, tx(g, alice, 'transfer', body, { chainId: 'other' }))).toBe('WRONG_CHAIN');
    expect(reason(g, tx(g, alice, 'transfer', { ...body, amount: 1001n * UNIT }))).toBe('INSUFFICIENT_FUNDS');
    expect(reason(g, tx(g, alice, 'transfer', { ...body, amount: 0n }))).toBe('MALFORMED');
    const r = validateTx(g, tx(g, bob, 'transfer', { ...body, token: 'QDD' }));
    expect(!r.ok && r.error.message).toBe('body.amount: has 0 QDD units, needs 1');
    // A replay of an applied transaction fails on its nonce.
    const s = block(g, good);
    expect(reason(s, good)).toBe('BAD_NONCE');
  });

  it('survives the wire: decode(encode(tx)) has the same id and still verifies', () => {
    const g = genesis();
    const t = tx(g, alice, 'transfer', { to: addr(bob), token: 'QDT', amount: 3n, memo: Uint8Array.of(9) });
    const back = decodeSignedTx(encodeSignedTx(t));
    expect(back.id).toEqual(t.id);
    expect(reason(g, back)).toBe('ok');
  });
});

describe('the mana bar (fee-free transfers by coin age)', () => {
  it('spends mana per transaction, then needs a fee, and says when the next free one is due', () => {
    // dave holds 2.5 QDT: room for two free transactions (1 QDT of mana each), then a wait.
    const dave = keyOf('dave');
    let s = genesis();
    s = block(
      s,
      tx(s, bob, 'transfer', { to: addr(dave), token: 'QDT', amount: 2_500_000n, memo: new Uint8Array() }),
    );
    // A new balance starts with an empty bar: no free mana for newly arrived coins.
    expect(currentMana(getAccount(s, addr(dave)), s.height, s.params)).toBe(0n);
    const send = () =>
      tx(s, dave, 'transfer', { to: addr(bob), token: 'QDT', amount: 1n, memo: new Uint8Array() });
    const r = validateTx(s, send());
    expect(!r.ok && r.error.code).toBe('INSUFFICIENT_MANA');
    // 2.5 QDT refills 1 QDT of mana in 100 * 1 / 2.5 = 40 blocks from height 1.
    expect(!r.ok && r.error.message).toMatch(/free again at height 41/);
    // With a fee it goes through, and the fee is burnt.
    const before = getRecord<{ burned: bigint }>(s.tree, stateKey.supply())!.burned;
    s = block(
      s,
      tx(
        s,
        dave,
        'transfer',
        { to: addr(bob), token: 'QDT', amount: 1n, memo: new Uint8Array() },
        { fee: s.params.minFee },
      ),
    );
    expect(getRecord<{ burned: bigint }>(s.tree, stateKey.supply())!.burned).toBe(before + s.params.minFee);
    // The fee transaction kept the 25,000 mana regenerated so far; the rest takes 40 more blocks.
    const due = nextFreeTxHeight(getAccount(s, addr(dave)), s.height + 1, s.params);
    expect(due).toBe(42);
    while (s.height + 2 < due!) s = block(s);
    expect(reason(s, send())).toBe('INSUFFICIENT_MANA');
    s = block(s);
    expect(reason(s, send())).toBe('ok');
    s = block(s, send());
    expect(reason(s, send())).toBe('INSUFFICIENT_MANA');
  });

  it('a fee with too little QDT to pay it is refused', () => {
    const erin = keyOf('erin');
    let s = genesis();
    s = block(
      s,
      tx(s, alice, 'transfer', { to: addr(erin), token: 'QDD', amount: 5n, memo: new Uint8Array() }),
    );
    expect(
      reason(
        s,
        tx(
          s,
          erin,
          'transfer',
          { to: addr(bob), token: 'QDD', amount: 1n, memo: new Uint8Array() },
          { fee: s.params.minFee },
        ),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    expect(
      reason(s, tx(s, erin, 'transfer', { to: addr(bob), token: 'QDD', amount: 1n, memo: new Uint8Array() })),
    ).toBe('INSUFFICIENT_MANA');
  });
});

describe('QDD issue and redeem', () => {
  it('only the issuer issues and redeems, and supply follows', () => {
    let s = genesis();
    expect(reason(s, tx(s, alice, 'issue', { to: addr(alice), amount: 1n }))).toBe('NOT_ISSUER');
    expect(reason(s, tx(s, alice, 'redeem', { amount: 1n }))).toBe('NOT_ISSUER');
    s = block(s, tx(s, issuer, 'issue', { to: addr(bob), amount: 40n }));
    expect(getAccount(s, addr(bob)).qdd).toBe(40n);
    expect(reason(s, tx(s, issuer, 'redeem', { amount: 1n }))).toBe('INSUFFICIENT_FUNDS');
    s = block(
      s,
      tx(s, bob, 'transfer', { to: addr(issuer), token: 'QDD', amount: 30n, memo: new Uint8Array() }),
    );
    s = block(s, tx(s, issuer, 'redeem', { amount: 30n }));
    expect(getRecord<{ qdd: bigint }>(s.tree, stateKey.supply())!.qdd).toBe(600n * UNIT + 10n);
  });
});

describe('staking, unbonding, producers and votes', () => {
  it('stake-weighted votes follow stake changes continuously', () => {
    let s = genesis();
    s = block(s, tx(s, alice, 'stake', { amount: 100n * UNIT }));
    s = block(s, tx(s, alice, 'vote', { producers: [addr(keys.p[1]!), addr(keys.p[2]!)] }));
    expect(producer(s, 1).votes).toBe(999n * UNIT + 100n * UNIT);
    s = block(s, tx(s, alice, 'stake', { amount: 50n * UNIT }));
    expect(producer(s, 2).votes).toBe(998n * UNIT + 150n * UNIT);
    s = block(s, tx(s, alice, 'vote', { producers: [addr(keys.p[3]!)] }));
    expect(producer(s, 1).votes).toBe(999n * UNIT);
    expect(producer(s, 3).votes).toBe(997n * UNIT + 150n * UNIT);
    s = block(s, tx(s, alice, 'unstake', { amount: 150n * UNIT }));
    expect(producer(s, 3).votes).toBe(997n * UNIT);
  });

  it('rejects votes for unknown producers, duplicates and more than 30', () => {
    const s = genesis();
    expect(reason(s, tx(s, alice, 'vote', { producers: [addr(bob)] }))).toBe('UNKNOWN');
    expect(reason(s, tx(s, alice, 'vote', { producers: [addr(keys.p[0]!), addr(keys.p[0]!)] }))).toBe(
      'MALFORMED',
    );
    const many = Array.from({ length: 31 }, (_, i) => addr(keyOf(`x${i}`)));
    expect(reason(s, tx(s, alice, 'vote', { producers: many }))).toBe('LIMIT');
    expect(reason(s, tx(s, alice, 'stake', { amount: 2000n * UNIT }))).toBe('INSUFFICIENT_FUNDS');
    expect(reason(s, tx(s, alice, 'unstake', { amount: 1n }))).toBe('INSUFFICIENT_FUNDS');
  });

  it('unbonded stake is withdrawable only after the unbonding period', () => {
    let s = genesis();
    s = block(s, tx(s, alice, 'stake', { amount: 10n * UNIT }));
    s = block(s, tx(s, alice, 'unstake', { amount: 10n * UNIT }));
    const release = s.height + s.params.unbondingBlocks;
    expect(reason(s, tx(s, alice, 'withdraw', {}))).toBe('NOT_YET');
    while (s.height + 1 < release) s = block(s);
    s = block(s, tx(s, alice, 'withdraw', {}));
    expect(getAccount(s, addr(alice)).qdt).toBe(1000n * UNIT);
    expect(getAccount(s, addr(alice)).unbonding).toEqual([]);
  });

  it('registers a producer once', () => {
    let s = genesis();
    s = block(s, tx(s, carol, 'registerProducer', { url: 'https://carol.example' }));
    expect(producer(s, 0)).toBeDefined();
    expect(s.producers).toContain(addr(carol));
    expect(reason(s, tx(s, carol, 'registerProducer', { url: 'x' }))).toBe('DUPLICATE');
  });
});

describe('double-sign evidence', () => {
  it('penalises a producer that signed two blocks at one height, once', () => {
    const g = genesis();
    const p1 = keys.p[1]!;
    const h = (root: number) => {
      const header = {
        chainId: g.params.chainId,
        height: 7,
        prevHash: new Uint8Array(32),
        timeMs: 1,
        producer: addr(p1),
        txRoot: new Uint8Array(32),
        stateRoot: new Uint8Array(32).fill(root),
      };
      return signedHeaderValue({ header, signature: p1.sign(headerId(header)) });
    };
    const ev = tx(g, bob, 'doubleSign', { a: h(1), b: h(2) });
    expect(reason(g, tx(g, bob, 'doubleSign', { a: h(1), b: h(1) }))).toBe('BAD_EVIDENCE');
    expect(reason(g, tx(g, bob, 'doubleSign', { a: h(1), b: [1, 2] }))).toBe('MALFORMED');
    const s = block(g, ev);
    expect(getAccount(s, addr(p1)).staked).toBe(999n * UNIT - (999n * UNIT) / 10n);
    expect(producer(s, 1).jailed).toBe(true);
    expect(producer(s, 1).votes).toBe(999n * UNIT - (999n * UNIT) / 10n);
    expect(reason(s, tx(s, bob, 'doubleSign', { a: h(2), b: h(1) }))).toBe('DUPLICATE');
    // A jailed producer's blocks are refused.
    expect(validateTx(s, ev).ok).toBe(false);
  });
});
