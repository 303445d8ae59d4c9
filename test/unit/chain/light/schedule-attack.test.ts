/**
 * Attack 1 of issue 14, "a forged chain through a schedule that never ran": votes give a producer
 * the voter's whole stake, so one large holder votes three producers of its own into the election
 * for one block and out again the next. Consensus never ran that schedule (it takes the election of
 * a round's last block only), so a light client must not follow it, whatever proof comes with it.
 */
import { describe, expect, it } from 'vitest';
import {
  activeSchedule,
  type BlockHeader,
  decodeUpdate,
  encodeActiveSchedule,
  encodeUpdate,
  type FinalityUpdate,
  headerId,
  keyHash,
  LightClient,
  proveKey,
  recordedSchedule,
  signVote,
  smtSet,
  stateKey,
  stateRoot,
  toHex,
  UNIT,
  type UpdateResult,
} from '../../../../chain/index.js';
import {
  buildLightChain,
  checkpointAt,
  lightKey,
  lightTx,
  updateAt,
  votesAt,
} from '../../../support/light-chain.js';

const whale = lightKey('whale');
const attackers = [0, 1, 2].map((i) => lightKey(`attacker-${i}`));
const addr = (k: { publicKey: Uint8Array }) => toHex(k.publicKey);
/** Rounds of 4 blocks (4 producers, one block a turn): block 5 is inside round 1, never its last. */
const IN_AT = 5;

const chain = buildLightChain({
  producers: 4,
  electAt: [],
  height: 16,
  roundBlocks: 4,
  accounts: [
    { address: addr(whale), qdt: 1_000_000n * UNIT },
    ...attackers.map((a) => ({ address: addr(a), qdt: 10n * UNIT })),
  ],
  extra: (s, h) => {
    if (h === 1)
      return [
        lightTx(s, whale, 'stake', { amount: 500_000n * UNIT }),
        ...attackers.map((a, i) => lightTx(s, a, 'registerProducer', { url: `https://evil${i}.example` })),
      ];
    if (h === IN_AT) return [lightTx(s, whale, 'vote', { producers: attackers.map(addr) })];
    if (h === IN_AT + 1) return [lightTx(s, whale, 'vote', { producers: [] })];
    return [];
  },
});

const code = (r: UpdateResult) => (r.ok ? 'ok' : r.error.code);
const viaBytes = (c: LightClient, u: FinalityUpdate) => c.apply(decodeUpdate(encodeUpdate(u)));

describe('a forged chain through a schedule that never ran', () => {
  it('an update proving an election that lasted one block is refused, and its producers cannot certify a made-up header', () => {
    // The election at IN_AT names the three (3 of 4: a quorum); the next block votes them out.
    const elected = recordedSchedule(chain.states[IN_AT]!)!;
    for (const a of attackers) expect(elected).toContain(addr(a));
    expect(recordedSchedule(chain.states[IN_AT + 1]!)).not.toContain(addr(attackers[0]!));
    // Consensus never ran them: no block was produced or certified under them.
    for (const s of chain.active) expect(s).not.toContain(addr(attackers[0]!));
    const c = new LightClient({ checkpoint: checkpointAt(chain, 1) });
    // The attacker's update: the real block IN_AT, its real certificate, and a real proof of the
    // election recorded in its state, presented as the schedule.
    const claimed = {
      activatedAt: IN_AT,
      round: c.roundOf(chain.blocks[IN_AT]!.header.header.timeMs),
      schedule: elected,
      next: elected,
    };
    const forged: FinalityUpdate = {
      header: chain.blocks[IN_AT]!.header.header,
      votes: votesAt(chain, IN_AT),
      schedule: { record: claimed, proof: proveKey(chain.states[IN_AT]!, stateKey.schedule()).proof },
      proofs: [],
    };
    expect(code(viaBytes(c, forged))).toBe('UNTRUSTED_SCHEDULE');
    // The same block with its real schedule record is followed, and names none of the three.
    const real = viaBytes(c, updateAt(chain, IN_AT));
    expect(real.ok && !real.scheduleProven && !real.scheduleActivated).toBe(true);
    expect([...c.schedule, ...c.nextSchedule]).not.toContain(addr(attackers[0]!));

    // The three keys sign a made-up header far ahead, over a made-up state whose schedule record
    // names them (its proof is genuine for that made-up root).
    const base = chain.states[IN_AT]!;
    const timeMs = base.timeMs + 1000 * 500;
    const fakeRecord = { activatedAt: 1000, round: c.roundOf(timeMs), schedule: elected, next: elected };
    const tree = smtSet(
      base.tree,
      keyHash(stateKey.activeSchedule()),
      encodeActiveSchedule(fakeRecord),
      fakeRecord,
    );
    const fakeState = { ...base, height: 1000, timeMs, tree };
    const fake: BlockHeader = {
      ...chain.blocks[IN_AT]!.header.header,
      height: 1000,
      timeMs: fakeState.timeMs,
      prevHash: keyHash('made-up parent'),
      stateRoot: stateRoot(fakeState),
      producer: addr(attackers[0]!),
    };
    const votes = attackers.map((a) => signVote(a, fake.chainId, fake.height, headerId(fake)));
    const withRecord: FinalityUpdate = {
      header: fake,
      votes,
      schedule: {
        record: activeSchedule(fakeState)!,
        proof: proveKey(fakeState, stateKey.activeSchedule()).proof,
      },
      proofs: [],
    };
    expect(code(viaBytes(c, withRecord))).toBe('UNTRUSTED_SCHEDULE');
    expect(code(viaBytes(c, { ...withRecord, schedule: null }))).toBe('UNPROVEN_SCHEDULE');
    expect(c.head.height).toBe(IN_AT);
    // The honest chain is still followed.
    expect(code(viaBytes(c, updateAt(chain, 16)))).toBe('ok');
    expect(c.head.height).toBe(16);
  });
});
