import { describe, expect, it } from 'vitest';
import {
  decodeCheckpoint,
  decodeUpdate,
  encodeCheckpoint,
  encodeUpdate,
  type FinalityUpdate,
  headerId,
  keyHash,
  LightClient,
  LightError,
  proveKey,
  signVote,
  stateKey,
  UNIT,
  type UpdateResult,
} from '../../../../chain/index.js';
import {
  buildLightChain,
  checkpointAt,
  LIGHT_T0,
  lightKey,
  lightTx,
  updateAt,
  votesAt,
} from '../../../support/light-chain.js';

const alice = lightKey('alice');
const bob = lightKey('bob');
const hex = (k: { publicKey: Uint8Array }) => Buffer.from(k.publicKey).toString('hex');

// Four producers, one block a turn (rounds of 4 blocks), three schedule changes elected at blocks
// 3, 10 and 17 and run, as consensus does, from the round after next of the round's last block:
// 8, 16, 24. Alice transfers at block 6.
const chain = buildLightChain({
  producers: 4,
  electAt: [3, 10, 17],
  height: 28,
  roundBlocks: 4,
  accounts: [{ address: hex(alice), qdt: 1000n * UNIT }],
  extra: (s, h) =>
    h === 6
      ? [
          lightTx(s, alice, 'transfer', {
            to: hex(bob),
            token: 'QDT',
            amount: 7n * UNIT,
            memo: new Uint8Array(0),
          }),
        ]
      : [],
});

/** Applies an update through its canonical bytes, as a device receives it. */
function applyBytes(c: LightClient, u: FinalityUpdate): UpdateResult {
  return c.apply(decodeUpdate(encodeUpdate(u)));
}

function code(r: UpdateResult): string {
  return r.ok ? 'ok' : r.error.code;
}

describe('the light client follows finality updates through three schedule changes', () => {
  it('builds a chain whose active schedule changes three times', () => {
    expect(chain.activations).toEqual([8, 16, 24]);
    const distinct = new Set(chain.active.map((s) => s.join()));
    expect(distinct.size).toBe(4);
  });

  it('from a checkpoint at block 1, with an update in every round and a few more', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    const follow = [3, 5, 10, 11, 14, 17, 22, 24, 28];
    const seen: { h: number; proven: boolean; activated: boolean }[] = [];
    for (const h of follow) {
      const r = applyBytes(c, updateAt(chain, h));
      expect(r.ok, r.ok ? '' : r.error.message).toBe(true);
      if (r.ok) seen.push({ h, proven: r.scheduleProven, activated: r.scheduleActivated });
      expect(c.head.height).toBe(h);
      expect(c.schedule).toEqual(chain.active[h]);
    }
    // Each change is proven by the first update of the round before it runs (the record's next
    // schedule) and followed from the first update of the round it runs in.
    expect(seen.filter((s) => s.proven).map((s) => s.h)).toEqual([5, 14, 22]);
    expect(seen.filter((s) => s.activated).map((s) => s.h)).toEqual([10, 17, 24]);
    // Between an election and its activation the old schedule still certifies (block 14).
    expect(chain.active[14]).toEqual(chain.active[10]);
    expect(c.nextSchedule).toEqual(c.schedule);
  });

  it('checks a grant, a balance and an absence against the head with short proofs', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    for (const h of [3, 5, 8]) expect(applyBytes(c, updateAt(chain, h)).ok).toBe(true);
    const s = chain.states[8]!;
    const p = proveKey(s, stateKey.account(hex(bob)));
    const bobAccount = c.account(hex(bob), {
      height: 8,
      proof: { key: p.key, value: p.value, proof: p.proof },
    });
    expect(bobAccount instanceof LightError ? bobAccount.message : bobAccount?.qdt).toBe(7n * UNIT);
    const g = proveKey(s, stateKey.grant('ab'.repeat(32)));
    expect(
      c.grant('ab'.repeat(32), { height: 8, proof: { key: g.key, value: g.value, proof: g.proof } }),
    ).toBeNull();
    expect(p.wireBytes).toBeLessThan(1024);
  });
});

describe('the light client refuses', () => {
  it('a forged certificate: a bad signature, too few votes, an outsider, a duplicate voter', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    const u = updateAt(chain, 2);
    const votes = u.votes;
    const swapped = votes.map((v, i) => (i === 0 ? { ...v, signature: votes[1]!.signature } : v));
    const outsider = lightKey('outsider');
    const outsiderVote = { producer: hex(outsider), signature: outsider.sign(new Uint8Array(32)) };
    const cases: [string, FinalityUpdate['votes']][] = [
      ['BAD_SIGNATURE', swapped],
      ['NO_QUORUM', votes.slice(0, 2)],
      ['NOT_SCHEDULED', [...votes.slice(0, 2), outsiderVote]],
      ['DUPLICATE_VOTER', [...votes.slice(0, 2), votes[0]!]],
      // Votes of block 3 do not certify block 2.
      ['BAD_SIGNATURE', votesAt(chain, 3)],
    ];
    for (const [reason, v] of cases) {
      const r = applyBytes(c, { ...u, votes: v });
      expect(code(r)).toBe('BAD_CERTIFICATE');
      expect(r.ok ? '' : r.error.certificate).toBe(reason);
    }
    // A header changed after the votes (another state root) is not the voted block.
    const forgedRoot = { ...u, header: { ...u.header, stateRoot: keyHash('forged') } };
    expect(code(applyBytes(c, forgedRoot))).toBe('BAD_CERTIFICATE');
    expect(c.head.height).toBe(1);
    expect(code(applyBytes(c, u))).toBe('ok');
  });

  it('a stale checkpoint (older than the window, or behind the head) and a stale update', () => {
    const cp = checkpointAt(chain, 2);
    const nowMs = () => LIGHT_T0 + 3 * 24 * 3600_000 + 10_000;
    expect(() => new LightClient({ checkpoint: cp, nowMs, maxCheckpointAgeMs: 3 * 24 * 3600_000 })).toThrow(
      expect.objectContaining({ code: 'STALE_CHECKPOINT' }),
    );
    expect(
      new LightClient({ checkpoint: cp, nowMs, maxCheckpointAgeMs: 4 * 24 * 3600_000 }).head.height,
    ).toBe(2);
    const c = new LightClient({ checkpoint: cp });
    expect(applyBytes(c, updateAt(chain, 3)).ok).toBe(true);
    expect(c.resetTo(checkpointAt(chain, 2))?.code).toBe('STALE_CHECKPOINT');
    expect(c.resetTo(checkpointAt(chain, 3))?.code).toBe('STALE_CHECKPOINT');
    expect(code(applyBytes(c, updateAt(chain, 2)))).toBe('STALE_UPDATE');
    expect(code(applyBytes(c, updateAt(chain, 3)))).toBe('STALE_UPDATE');
    expect(c.resetTo(checkpointAt(chain, 5))).toBeUndefined();
    expect(c.head.height).toBe(5);
  });

  it('a wrong proof: another value, another key, a tampered sibling, a proof for another height', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    expect(applyBytes(c, updateAt(chain, 8)).ok).toBe(false); // the schedule elected at 3 is unknown
    for (const h of [3, 5, 8]) expect(applyBytes(c, updateAt(chain, h)).ok).toBe(true);
    const s = chain.states[8]!;
    const p = proveKey(s, stateKey.account(hex(bob)));
    const good = { key: p.key, value: p.value, proof: p.proof };
    const alicesBytes = proveKey(s, stateKey.account(hex(alice))).value;
    const err = (r: unknown) => (r instanceof LightError ? r.code : 'accepted');
    expect(err(c.verify({ height: 8, proof: { ...good, value: alicesBytes } }))).toBe('WRONG_PROOF');
    expect(err(c.verify({ height: 8, proof: { ...good, value: null } }))).toBe('WRONG_PROOF');
    expect(err(c.verify({ height: 8, proof: { ...good, key: stateKey.account(hex(alice)) } }))).toBe(
      'WRONG_PROOF',
    );
    const siblings = p.proof.siblings.map((x, i) => (i === 0 ? keyHash('x') : x));
    expect(err(c.verify({ height: 8, proof: { ...good, proof: { ...p.proof, siblings } } }))).toBe(
      'WRONG_PROOF',
    );
    expect(err(c.verify({ height: 7, proof: good }))).toBe('PROOF_NOT_AT_HEAD');
    // A proof made at a final height the client passed a moment ago still checks, against that header.
    const at5 = proveKey(chain.states[5]!, stateKey.account(hex(bob)));
    expect(err(c.verify({ height: 5, proof: { key: at5.key, value: at5.value, proof: at5.proof } }))).toBe(
      'accepted',
    );
    expect(err(c.verify({ height: 4, proof: good }))).toBe('PROOF_NOT_AT_HEAD'); // never final here
    expect(err(c.account(hex(alice), { height: 8, proof: good }))).toBe('WRONG_PROOF');
    expect(err(c.verify({ height: 8, proof: good }))).toBe('accepted');
    // A wrong proof attached to an update refuses the whole update.
    const u = updateAt(chain, 9, [stateKey.account(hex(bob))]);
    const bad = { ...u, proofs: [{ ...u.proofs[0]!, value: alicesBytes }] };
    expect(code(applyBytes(c, bad))).toBe('WRONG_PROOF');
    expect(c.head.height).toBe(8);
    expect(code(applyBytes(c, u))).toBe('ok');
  });

  it('a schedule record that is not proven, or none where a new round begins', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 3) });
    const u = updateAt(chain, 5);
    const sched = u.schedule!;
    expect(sched.record.next).toEqual(chain.active[8]);
    const fake = [...sched.record.next.slice(1), hex(lightKey('outsider'))].sort();
    expect(
      code(applyBytes(c, { ...u, schedule: { ...sched, record: { ...sched.record, next: fake } } })),
    ).toBe('UNPROVEN_SCHEDULE');
    const otherKey = proveKey(chain.states[5]!, stateKey.supply()).proof;
    expect(code(applyBytes(c, { ...u, schedule: { ...sched, proof: otherKey } }))).toBe('UNPROVEN_SCHEDULE');
    // The election record (what version 1 followed) is not the schedule record.
    const election = proveKey(chain.states[5]!, stateKey.schedule()).proof;
    expect(code(applyBytes(c, { ...u, schedule: { ...sched, proof: election } }))).toBe('UNPROVEN_SCHEDULE');
    // Block 5 opens no round but is the first the client sees of round 1: the record is required.
    expect(code(applyBytes(c, { ...u, schedule: null }))).toBe('UNPROVEN_SCHEDULE');
    expect(c.head.height).toBe(3);
    expect(code(applyBytes(c, u))).toBe('ok');
    // Inside the head's round an update needs no record.
    expect(code(applyBytes(c, { ...updateAt(chain, 6), schedule: null }))).toBe('ok');
    expect(c.nextSchedule).toEqual(chain.active[8]);
  });

  it('a record whose activation does not match the round of its header', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 5) });
    const u = updateAt(chain, 9);
    const record = u.schedule!.record;
    expect(record).toMatchObject({ activatedAt: 8, round: 2 });
    // Claims that do not fit the header's round are refused before any proof is checked.
    for (const claim of [
      { ...record, round: 3 },
      { ...record, activatedAt: 10 },
      { ...record, round: 1 },
      { ...record, activatedAt: 5 },
    ])
      expect(code(applyBytes(c, { ...u, schedule: { ...u.schedule!, record: claim } }))).toBe(
        'UNTRUSTED_SCHEDULE',
      );
    expect(code(applyBytes(c, u))).toBe('ok');
  });

  it('a change in a round it saw no update of, until an update of that round arrives', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    // Round 2 runs the schedule elected at 3; the client knows only round 1's (the genesis one).
    expect(code(applyBytes(c, updateAt(chain, 9)))).toBe('UNTRUSTED_SCHEDULE');
    // Once it has seen round 1 it knows round 2's schedule.
    expect(code(applyBytes(c, updateAt(chain, 6)))).toBe('ok');
    expect(code(applyBytes(c, updateAt(chain, 9)))).toBe('ok');
    // From round 2 to round 5: the schedule of round 4 (elected at 10) was never shown to it.
    expect(code(applyBytes(c, updateAt(chain, 22)))).toBe('UNTRUSTED_SCHEDULE');
    expect(code(applyBytes(c, updateAt(chain, 14)))).toBe('ok');
    expect(code(applyBytes(c, updateAt(chain, 22)))).toBe('ok');
    expect(c.schedule).toEqual(chain.active[22]);
  });

  it('an update of another chain or with time going backwards', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    const u = updateAt(chain, 2);
    expect(code(applyBytes(c, { ...u, header: { ...u.header, chainId: 'other' } }))).toBe('WRONG_CHAIN');
    expect(code(applyBytes(c, { ...u, header: { ...u.header, timeMs: LIGHT_T0 } }))).toBe(
      'TIME_NOT_INCREASING',
    );
  });
});

describe('the light client between an election and its activation', () => {
  it('keeps the old schedule for the rest of the round, and switches in the round the new one runs, whichever members voted', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    expect(applyBytes(c, updateAt(chain, 5)).ok).toBe(true);
    const next = chain.active[8]!;
    expect(c.nextSchedule).toEqual(next);
    expect(c.schedule).toEqual(chain.active[5]);
    const common = next.filter((p) => chain.active[5]!.includes(p));
    expect(common).toHaveLength(3); // a quorum of 4 in both schedules
    const r = applyBytes(c, updateAt(chain, 6));
    expect(r.ok && r.scheduleActivated).toBe(false);
    const overlap = {
      ...updateAt(chain, 8),
      votes: votesAt(chain, 8).filter((v) => common.includes(v.producer)),
    };
    const r2 = applyBytes(c, overlap);
    expect(r2.ok && r2.scheduleActivated).toBe(true);
    expect(c.schedule).toEqual(next);
    // The producer that left cannot certify any more.
    const left = chain.active[5]!.find((p) => !next.includes(p))!;
    const h9 = updateAt(chain, 9);
    const leftVote = signVote(chain.signers.get(left)!, h9.header.chainId, 9, headerId(h9.header));
    const r3 = applyBytes(c, {
      ...h9,
      votes: [...h9.votes.slice(0, 2), { producer: left, signature: leftVote.signature }],
    });
    expect(code(r3)).toBe('BAD_CERTIFICATE');
    expect(r3.ok ? '' : r3.error.certificate).toBe('NOT_SCHEDULED');
  });
});

describe('the light client saved and resumed', () => {
  it('keeps the next schedule and the round parameters across its checkpoint bytes', () => {
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    expect(applyBytes(c, updateAt(chain, 5)).ok).toBe(true);
    const saved = encodeCheckpoint(c.checkpoint());
    const resumed = new LightClient({ checkpoint: decodeCheckpoint(saved) });
    expect(resumed.nextSchedule).toEqual(c.nextSchedule);
    expect(resumed.rounds).toEqual(c.rounds);
    const r = applyBytes(resumed, updateAt(chain, 9));
    expect(r.ok && r.scheduleActivated).toBe(true);
    // Without the next schedule, the same update is refused.
    const bare = new LightClient({ checkpoint: { ...decodeCheckpoint(saved), next: c.schedule } });
    expect(code(applyBytes(bare, updateAt(chain, 9)))).toBe('UNTRUSTED_SCHEDULE');
  });
});

describe('the light client with 21 producers', () => {
  // One block a turn: rounds of 21 blocks; elected at 3, decided by block 20, run from block 42.
  const big = buildLightChain({ producers: 21, electAt: [3], height: 44, roundBlocks: 21 });

  it('accepts 15 of 21 votes, refuses 14, and follows the change elected at 3 and active from 42', () => {
    expect(big.activations).toEqual([42]);
    const c = new LightClient({ checkpoint: checkpointAt(big, 1) });
    expect(code(applyBytes(c, { ...updateAt(big, 2), votes: votesAt(big, 2, 14) }))).toBe('BAD_CERTIFICATE');
    expect(code(applyBytes(c, { ...updateAt(big, 2), votes: votesAt(big, 2, 15) }))).toBe('ok');
    expect(code(applyBytes(c, updateAt(big, 3)))).toBe('ok');
    const r1 = applyBytes(c, updateAt(big, 22));
    expect(r1.ok && r1.scheduleProven).toBe(true);
    expect(c.nextSchedule).toEqual(big.active[42]);
    const r = applyBytes(c, updateAt(big, 44));
    expect(r.ok && r.scheduleActivated).toBe(true);
    expect(c.schedule).toEqual(big.active[44]);
    expect(c.schedule).toHaveLength(21);
  });
});
