import { describe, expect, it } from 'vitest';
import {
  checkCertificate,
  createGenesis,
  Ed25519Signer,
  electSchedule,
  finalityQuorum,
  mainnetParams,
  producerForSlot,
  sha256,
  signVote,
  slotAt,
  toHex,
  UNIT,
} from '../../../../chain/index.js';
import { addr, block, genesis, keys, tx } from '../chain-fixture.js';

const producers = Array.from({ length: 25 }, (_, i) => new Ed25519Signer(sha256(Uint8Array.of(0xd0, i))));

/** 25 candidates, producer i staked (100 + i) QDT: the top 21 are 4..24. */
function mainnet() {
  return createGenesis({
    params: mainnetParams('qood-dpos', addr(keys.issuer)),
    timeMs: 0,
    accounts: producers.map((p, i) => ({ address: addr(p), qdt: 0n, staked: BigInt(100 + i) * UNIT })),
    producers: producers.map((p, i) => ({ address: addr(p), url: `https://p${i}.example` })),
  });
}

describe('the producer schedule', () => {
  it('elects the top 21 by votes, in address order ', () => {
    const schedule = electSchedule(mainnet());
    expect(schedule).toHaveLength(21);
    expect(new Set(schedule)).toEqual(new Set(producers.slice(4).map(addr)));
    expect([...schedule].sort()).toEqual(schedule);
    // The exact rotation of a fixed election is pinned in test/vectors/chain-tx.json (election).
  });

  it('follows votes and drops a jailed producer (minimal preset of 4)', () => {
    let s = genesis();
    expect(electSchedule(s)).toEqual(keys.p.map(addr).sort());
    s = block(s, tx(s, keys.carol, 'registerProducer', { url: 'https://carol.example' }));
    expect(electSchedule(s)).not.toContain(addr(keys.carol));
    s = block(s, tx(s, keys.carol, 'stake', { amount: 999n * UNIT }));
    s = block(s, tx(s, keys.carol, 'vote', { producers: [addr(keys.carol)] }));
    // carol (999) ties producer 1 (999) and beats producer 3 (997).
    expect(electSchedule(s)).toContain(addr(keys.carol));
    expect(electSchedule(s)).not.toContain(addr(keys.p[3]!));
  });

  it('gives each producer blocksPerTurn consecutive 500 ms slots, then the next', () => {
    const schedule = ['a', 'b', 'c'];
    const slots = Array.from({ length: 8 }, (_, i) => producerForSlot(schedule, i, 2)).join('');
    expect(slots).toBe('aabbccaa');
    expect(slotAt(1_250, 0, 500)).toBe(2);
    expect(finalityQuorum(21)).toBe(15);
    expect(finalityQuorum(4)).toBe(3);
  });
});

describe('finality certificates', () => {
  const s = mainnet();
  const schedule = electSchedule(s);
  const voters = producers.slice(4);
  const blockId = sha256(Uint8Array.of(1));
  const cert = (signers: Ed25519Signer[], id = blockId) => ({
    chainId: 'qood-dpos',
    height: 9,
    blockId: id,
    votes: signers.map((p) => signVote(p, 'qood-dpos', 9, id)),
  });

  it('15 of 21 distinct scheduled votes prove finality; 14 do not', () => {
    expect(checkCertificate(cert(voters.slice(0, 15)), schedule, 'qood-dpos')).toBeUndefined();
    expect(checkCertificate(cert(voters.slice(0, 14)), schedule, 'qood-dpos')?.code).toBe('NO_QUORUM');
  });

  it('rejects a forged vote, an outsider, a duplicated voter and another chain', () => {
    const c = cert(voters.slice(0, 15));
    const forged = {
      ...c,
      votes: c.votes.map((v, i) => (i === 3 ? { ...v, signature: c.votes[4]!.signature } : v)),
    };
    expect(checkCertificate(forged, schedule, 'qood-dpos')?.code).toBe('BAD_SIGNATURE');
    expect(checkCertificate(cert([...voters.slice(0, 14), producers[0]!]), schedule, 'qood-dpos')?.code).toBe(
      'NOT_SCHEDULED',
    );
    expect(checkCertificate(cert([...voters.slice(0, 14), voters[0]!]), schedule, 'qood-dpos')?.code).toBe(
      'DUPLICATE_VOTER',
    );
    expect(checkCertificate(c, schedule, 'other')?.code).toBe('WRONG_CHAIN');
    // Votes for one block do not certify another.
    const other = { ...c, blockId: sha256(Uint8Array.of(2)) };
    expect(checkCertificate(other, schedule, 'qood-dpos')?.code).toBe('BAD_SIGNATURE');
    expect(toHex(blockId)).toHaveLength(64);
  });
});
