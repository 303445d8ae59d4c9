import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Account,
  applyBlock,
  type Block,
  buildBlock,
  type ChainState,
  currentMana,
  getRecord,
  headerId,
  merkleRoot,
  type SignedTx,
  type Supply,
  smtLeaves,
  stateKey,
  stateRoot,
  toHex,
  UNIT,
  validateTx,
} from '../../../../chain/index.js';
import { addr, genesis, keyOf, keys, tx } from '../chain-fixture.js';

const resign = (b: Block, change: Partial<Block['header']['header']>, signer = keys.p[0]!): Block => {
  const header = { ...b.header.header, ...change };
  return { ...b, header: { header, signature: signer.sign(headerId(header)) } };
};

describe('applyBlock', () => {
  const g = genesis();
  const t = tx(g, keys.alice, 'transfer', {
    to: addr(keys.bob),
    token: 'QDT',
    amount: 1n,
    memo: new Uint8Array(),
  });
  const built = buildBlock(g, [t], keys.p[0]!, g.timeMs + 500);
  const code = (b: Block, s: ChainState = g) => {
    const r = applyBlock(s, b);
    return r.ok ? 'ok' : r.error.code;
  };

  it('accepts what buildBlock made, giving the same state root, and leaves the old state alone', () => {
    const rootBefore = stateRoot(g);
    const r = applyBlock(g, built.block);
    expect(r.ok && toHex(stateRoot(r.state))).toBe(toHex(stateRoot(built.state)));
    expect(stateRoot(g)).toEqual(rootBefore);
    expect(r.ok && r.state.blockId).toEqual(headerId(built.block.header.header));
  });

  it('refuses wrong height, parent, time, chain, producer, signature, roots and invalid transactions', () => {
    expect(code(resign(built.block, { height: 2 }))).toBe('WRONG_HEIGHT');
    expect(code(resign(built.block, { prevHash: new Uint8Array(32).fill(1) }))).toBe('WRONG_PARENT');
    expect(code(resign(built.block, { timeMs: g.timeMs }))).toBe('TIME_NOT_INCREASING');
    expect(code(resign(built.block, { chainId: 'other' }))).toBe('WRONG_CHAIN');
    expect(code(resign(built.block, { producer: addr(keys.bob) }, keys.bob))).toBe('UNKNOWN_PRODUCER');
    expect(code(resign(built.block, {}, keys.p[1]!))).toBe('BAD_SIGNATURE');
    expect(code(resign(built.block, { stateRoot: new Uint8Array(32) }))).toBe('STATE_ROOT_MISMATCH');
    expect(code({ ...built.block, txs: [] })).toBe('TX_ROOT_MISMATCH');
    const bad = tx(g, keys.bob, 'transfer', {
      to: addr(keys.alice),
      token: 'QDD',
      amount: 1n,
      memo: new Uint8Array(),
    });
    const withBad = buildBlock(g, [], keys.p[0]!, g.timeMs + 500);
    const forced = resign({ ...withBad.block, txs: [t, bad] }, { txRoot: buildRoot([t, bad]) });
    const r = applyBlock(g, forced);
    expect(!r.ok && [r.error.code, r.error.txError?.txIndex, r.error.txError?.code]).toEqual([
      'TX_INVALID',
      1,
      'INSUFFICIENT_FUNDS',
    ]);
  });

  it('buildBlock drops transactions that do not apply and says why', () => {
    const dup = buildBlock(g, [t, t], keys.p[0]!, g.timeMs + 500);
    expect(dup.block.txs).toHaveLength(1);
    expect(dup.rejected.map((x) => x.error.code)).toEqual(['BAD_NONCE']);
  });
});

function buildRoot(txs: SignedTx[]) {
  return merkleRoot(txs.map((x) => x.id));
}

/** Sums every account's holdings. */
function totals(s: ChainState) {
  let qdt = 0n;
  let qdd = 0n;
  for (const leaf of smtLeaves(s.tree)) {
    const v = leaf.value as Partial<Account> & { side?: string; open?: boolean; price?: bigint };
    if (v !== null && typeof v === 'object' && 'unbonding' in v) {
      const a = v as Account;
      qdt += a.qdt + a.staked + a.unbonding.reduce((x, u) => x + u.amount, 0n);
      qdd += a.qdd;
    } else if (v !== null && typeof v === 'object' && v.side === 'buy' && v.open) {
      qdd += v.price!;
    }
  }
  return { qdt, qdd };
}

describe('properties over random transaction sequences', () => {
  const actors = [keys.alice, keys.bob, keys.carol, keys.oem, keys.issuer, keyOf('fresh')];
  const op = fc.record({
    from: fc.integer({ min: 0, max: actors.length - 1 }),
    to: fc.integer({ min: 0, max: actors.length - 1 }),
    kind: fc.constantFrom(
      'transfer',
      'transferQdd',
      'stake',
      'unstake',
      'withdraw',
      'vote',
      'issue',
      'redeem',
    ),
    amount: fc.bigInt({ min: 0n, max: 600n * UNIT }),
    fee: fc.constantFrom(0n, 10_000n, 5n * UNIT),
    nonceSkew: fc.constantFrom(0, 0, 0, 0, 1, -1),
    block: fc.boolean(),
  });

  it('supply is conserved, mana stays within its bar, and validateTx agrees with applyBlock', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        let s = genesis();
        let pending: SignedTx[] = [];
        let time = s.timeMs;
        const flush = () => {
          time += 500;
          const built = buildBlock(s, pending, keys.p[0]!, time);
          // Every accepted transaction validated alone against the state it was built on, in order.
          const r = applyBlock(s, built.block);
          expect(r.ok).toBe(true);
          if (r.ok) s = r.state;
          pending = [];
        };
        for (const o of ops) {
          const from = actors[o.from]!;
          const to = addr(actors[o.to]!);
          const body = (() => {
            switch (o.kind) {
              case 'transfer':
                return ['transfer', { to, token: 'QDT', amount: o.amount, memo: new Uint8Array() }] as const;
              case 'transferQdd':
                return ['transfer', { to, token: 'QDD', amount: o.amount, memo: new Uint8Array() }] as const;
              case 'vote':
                return ['vote', { producers: [addr(keys.p[o.to % 4]!)] }] as const;
              case 'withdraw':
                return ['withdraw', {}] as const;
              case 'issue':
                return ['issue', { to, amount: o.amount }] as const;
              default:
                return [o.kind, { amount: o.amount }] as const;
            }
          })();
          const t = tx(s, from, body[0] as 'transfer', body[1] as never, {
            fee: o.fee,
            nonceOffset: pending.filter((p) => p.tx.sender === addr(from)).length + o.nonceSkew,
          });
          // validateTx on a state == applying it in a block of one on that state.
          const alone = validateTx(s, t, { timeMs: time + 500 });
          const one = buildBlock(s, [t], keys.p[0]!, time + 500);
          expect(alone.ok).toBe(one.block.txs.length === 1);
          if (!alone.ok) expect(one.rejected[0]!.error.code).toBe(alone.error.code);
          pending.push(t);
          if (o.block) flush();
        }
        flush();
        const sup = getRecord<Supply>(s.tree, stateKey.supply())!;
        const sum = totals(s);
        expect(sum.qdt).toBe(sup.qdt);
        expect(sum.qdd).toBe(sup.qdd);
        const initial = totals(genesis());
        expect(sup.qdt + sup.burned).toBe(initial.qdt);
        for (const leaf of smtLeaves(s.tree)) {
          const a = leaf.value as Account;
          if (typeof a === 'object' && a !== null && 'unbonding' in a) {
            const m = currentMana(a, s.height, s.params);
            expect(m >= 0n).toBe(true);
            expect(a.mana >= 0n).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
