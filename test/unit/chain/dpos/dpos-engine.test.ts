/**
 * The consensus engine driven by hand, one event at a time (minimal preset: 4 producers, 2 slots a
 * turn, quorum 3): production on its own slots, block checks, votes, finality and certificates, the
 * vote lock, evidence, and fetching missing ancestors.
 */
import { describe, expect, it } from 'vitest';
import {
  type Block,
  buildBlock,
  type ChainState,
  ConsensusEngine,
  checkCertificate,
  type Ed25519Signer,
  type EngineAction,
  electSchedule,
  headerId,
  producerForSlot,
  signVote,
  toHex,
  validateTx,
} from '../../../../chain/index.js';
import { DEVNET_CHAIN_ID, DEVNET_T0, devnetGenesis, devnetKey } from '../../../../simulators/devnet/index.js';

const SEED = 'engine';
const genesis = devnetGenesis({ producers: 4, seed: SEED });
const signers = [0, 1, 2, 3].map((i) => devnetKey(SEED, `producer/${i}`));
const schedule = electSchedule(genesis);
const signerOf = (address: string): Ed25519Signer => signers.find((s) => toHex(s.publicKey) === address)!;
const producerAt = (slot: number) => producerForSlot(schedule, slot, 2);
const engineOf = (address: string) => new ConsensusEngine({ genesis, signer: signerOf(address) });
const tick = (slot: number) => ({ kind: 'tick', timeMs: DEVNET_T0 + slot * 500 }) as const;

/** A block by the slot's producer on `parent`. */
function mk(
  parent: ChainState,
  slot: number,
  signer = signerOf(producerAt(slot)),
): { block: Block; state: ChainState } {
  const built = buildBlock(parent, [], signer, DEVNET_T0 + slot * 500);
  return { block: built.block, state: built.state };
}
const idOf = (b: Block) => headerId(b.header.header);
const kinds = (acts: readonly EngineAction[]) => acts.map((a) => a.kind);
const votesIn = (acts: readonly EngineAction[]) =>
  acts.flatMap((a) => (a.kind === 'broadcastVote' ? [a.vote] : []));
const voteBy = (address: string, b: Block) => ({
  kind: 'vote' as const,
  from: address,
  vote: {
    height: b.header.header.height,
    blockId: idOf(b),
    vote: signVote(signerOf(address), DEVNET_CHAIN_ID, b.header.header.height, idOf(b)),
  },
});

describe('the consensus engine', () => {
  it('produces only on its own slots, at the start of the slot, and votes for what it produced', () => {
    const me = schedule[1]!;
    const e = engineOf(me);
    const produced: number[] = [];
    for (let slot = 1; slot <= 16; slot++) {
      const acts = e.handle(tick(slot));
      const b = acts.find((a) => a.kind === 'broadcastBlock');
      if (b?.kind !== 'broadcastBlock') continue;
      produced.push(slot);
      expect(b.block.header.header.timeMs).toBe(DEVNET_T0 + slot * 500);
      expect(votesIn(acts).map((v) => toHex(v.blockId))).toEqual([toHex(idOf(b.block))]);
    }
    // Its turn is slots 2-3 of every 8 (4 producers, 2 slots each).
    expect(produced).toEqual([2, 3, 10, 11]);
    expect(e.stats.blocksProduced).toBe(4);
  });

  it("applies a peer's block and votes for it; refuses the wrong producer, an off-slot time and a bad signature", () => {
    const e = engineOf(schedule[0]!);
    e.handle(tick(2));
    const good = mk(genesis, 2);
    const acts = e.handle({ kind: 'block', from: 'peer', block: good.block });
    expect(votesIn(acts)).toHaveLength(1);
    expect(e.head.height).toBe(1);

    const e2 = engineOf(schedule[0]!);
    e2.handle(tick(3));
    const wrong = mk(genesis, 2, signerOf(schedule[3]!));
    expect(e2.handle({ kind: 'block', from: 'peer', block: wrong.block })).toEqual([]);
    expect(e2.stats.rejected.WRONG_PRODUCER).toBe(1);
    const offSlot = buildBlock(genesis, [], signerOf(producerAt(2)), DEVNET_T0 + 2 * 500 + 7).block;
    e2.handle({ kind: 'block', from: 'peer', block: offSlot });
    expect(e2.stats.rejected.BAD_SLOT).toBe(1);
    const forged = { ...good.block, header: { ...good.block.header, signature: new Uint8Array(64) } };
    e2.handle({ kind: 'block', from: 'peer', block: forged });
    expect(e2.stats.rejected.INVALID_BLOCK).toBe(1);
    expect(e2.stats.lastRejection).toMatch(/INVALID_BLOCK: block 1: header signature/);
    expect(e2.head.height).toBe(0);
  });

  it('finalizes a block and its ancestors on a quorum of votes, with a certificate a light client accepts', () => {
    const e = engineOf(schedule[0]!);
    e.handle(tick(3));
    const b1 = mk(genesis, 2);
    const b2 = mk(b1.state, 3);
    e.handle({ kind: 'block', from: 'peer', block: b1.block });
    e.handle({ kind: 'block', from: 'peer', block: b2.block });
    // Its own vote plus one more is 2 of 3 needed.
    expect(kinds(e.handle(voteBy(schedule[1]!, b2.block)))).not.toContain('final');
    const acts = e.handle(voteBy(schedule[2]!, b2.block));
    const fin = acts.find((a) => a.kind === 'final');
    if (fin?.kind !== 'final') throw new Error('no finality');
    expect(fin.blocks.map((b) => b.height)).toEqual([1, 2]);
    expect(fin.missedSlots).toEqual([{ slot: 1, producer: producerAt(1) }]);
    expect(checkCertificate(fin.certificate, schedule, DEVNET_CHAIN_ID)).toBeUndefined();
    expect(e.lastFinal.height).toBe(2);
    // A longer branch that does not extend the final block is never followed.
    const side1 = mk(genesis, 4);
    const side2 = mk(side1.state, 5);
    const side3 = mk(side2.state, 6);
    e.handle(tick(6));
    for (const s of [side1, side2, side3]) e.handle({ kind: 'block', from: 'peer', block: s.block });
    expect(e.lastFinal.height).toBe(2);
    expect(toHex(e.head.blockId)).toBe(toHex(idOf(b2.block)));
  });

  it('never votes twice at one height, and leaves its branch only once that branch cannot reach a quorum', () => {
    const me = schedule[0]!;
    const e = engineOf(me);
    e.handle(tick(5));
    const a = mk(genesis, 2); // height 1
    const b = mk(genesis, 4); // height 1 too, another branch
    const c = mk(b.state, 5); // height 2 on b
    expect(votesIn(e.handle({ kind: 'block', from: 'x', block: a.block }))).toHaveLength(1);
    expect(votesIn(e.handle({ kind: 'block', from: 'x', block: b.block }))).toHaveLength(0);
    // c is longer, but e voted for a: it waits until 2 producers (4 - 3 + 1) voted outside a.
    expect(votesIn(e.handle({ kind: 'block', from: 'x', block: c.block }))).toHaveLength(0);
    expect(e.head.height).toBe(2);
    expect(votesIn(e.handle(voteBy(schedule[2]!, b.block)))).toHaveLength(0);
    const acts = e.handle(voteBy(schedule[3]!, c.block));
    expect(votesIn(acts).map((v) => toHex(v.blockId))).toEqual([toHex(idOf(c.block))]);
    expect(e.stats.votesCast).toBe(2);
  });

  it('turns two blocks signed for one height into evidence and a doubleSign transaction the state accepts', () => {
    const e = engineOf(schedule[0]!);
    e.handle(tick(2));
    const a = mk(genesis, 2);
    const other = buildBlock(genesis, [], signerOf(producerAt(2)), DEVNET_T0 + 3 * 500).block; // same producer, height 1
    e.handle({ kind: 'block', from: 'x', block: a.block });
    e.handle(tick(3));
    const acts = e.handle({ kind: 'block', from: 'y', block: other });
    const ev = acts.find((x) => x.kind === 'evidence');
    expect(ev?.kind === 'evidence' && ev.evidence.kind).toBe('doubleSign');
    const tx = acts.find((x) => x.kind === 'broadcastTx');
    if (tx?.kind !== 'broadcastTx') throw new Error('no evidence transaction');
    expect(tx.tx.tx.kind).toBe('doubleSign');
    expect(validateTx(e.head.state, tx.tx).ok).toBe(true);
    expect(e.mempoolSize).toBe(1);
    // Reported once.
    expect(kinds(e.handle({ kind: 'block', from: 'z', block: other }))).not.toContain('evidence');
  });

  it('reports a double vote and does not count it; drops forged and unscheduled votes', () => {
    const e = engineOf(schedule[0]!);
    e.handle(tick(4));
    const a = mk(genesis, 2);
    const b = mk(genesis, 4);
    e.handle({ kind: 'block', from: 'x', block: a.block });
    e.handle({ kind: 'block', from: 'x', block: b.block });
    e.handle(voteBy(schedule[1]!, a.block));
    const acts = e.handle(voteBy(schedule[1]!, b.block));
    expect(acts).toHaveLength(1);
    expect(acts[0]!.kind === 'evidence' && acts[0]!.evidence.kind).toBe('doubleVote');
    const forged = voteBy(schedule[2]!, a.block);
    e.handle({
      ...forged,
      vote: { ...forged.vote, vote: { ...forged.vote.vote, signature: new Uint8Array(64) } },
    });
    expect(e.stats.rejected.BAD_VOTE).toBe(1);
    const outsider = devnetKey(SEED, 'outsider');
    e.handle({
      kind: 'vote',
      from: 'x',
      vote: {
        height: 1,
        blockId: idOf(a.block),
        vote: signVote(outsider, DEVNET_CHAIN_ID, 1, idOf(a.block)),
      },
    });
    expect(e.stats.rejected.NOT_SCHEDULED).toBe(1);
    expect(e.lastFinal.height).toBe(0);
  });

  it('asks the sender for missing ancestors and follows once they arrive', () => {
    const server = engineOf(schedule[2]!);
    const client = engineOf(schedule[3]!);
    const b1 = mk(genesis, 2);
    const b2 = mk(b1.state, 3);
    const b3 = mk(b2.state, 4);
    server.handle(tick(4));
    client.handle(tick(4));
    for (const b of [b1, b2]) server.handle({ kind: 'block', from: 'x', block: b.block });
    server.handle({ kind: 'block', from: 'x', block: b3.block });
    const ask = client.handle({ kind: 'block', from: 'server', block: b3.block });
    const req = ask.find((a) => a.kind === 'getBlocks');
    if (req?.kind !== 'getBlocks') throw new Error('no request');
    expect(req.to).toBe('server');
    expect(client.stats.orphansHeld).toBe(1);
    const answer = server.handle({
      kind: 'getBlocks',
      from: 'client',
      blockId: req.blockId,
      aboveHeight: req.aboveHeight,
    });
    const send = answer.find((a) => a.kind === 'sendBlocks');
    if (send?.kind !== 'sendBlocks') throw new Error('no answer');
    expect(send.blocks.map((b) => b.header.header.height)).toEqual([1, 2, 3]);
    client.handle({ kind: 'blocks', from: 'server', blocks: send.blocks });
    expect(client.head.height).toBe(3);
    expect(client.stats.orphansHeld).toBe(0);
  });

  it('answers an asker behind its finality with the final chain and its certificate, which the asker follows', () => {
    const server = engineOf(schedule[0]!);
    server.handle(tick(4));
    const b1 = mk(genesis, 2);
    const b2 = mk(b1.state, 3);
    for (const b of [b1, b2]) server.handle({ kind: 'block', from: 'x', block: b.block });
    server.handle(voteBy(schedule[1]!, b2.block));
    server.handle(voteBy(schedule[2]!, b2.block));
    expect(server.lastFinal.height).toBe(2);
    // The asker sits on a losing branch and asks about a block of it the server does not have.
    const client = engineOf(schedule[3]!);
    client.handle(tick(4));
    const side = mk(genesis, 4);
    client.handle({ kind: 'block', from: 'x', block: side.block });
    const answer = server.handle({
      kind: 'getBlocks',
      from: 'client',
      blockId: idOf(side.block),
      aboveHeight: 0,
    });
    const send = answer.find((a) => a.kind === 'sendBlocks');
    if (send?.kind !== 'sendBlocks') throw new Error('no answer');
    expect(send.blocks.map((b) => b.header.header.height)).toEqual([1, 2]);
    expect(send.certificate?.height).toBe(2);
    const acts = client.handle({
      kind: 'blocks',
      from: 'server',
      blocks: send.blocks,
      certificate: send.certificate!,
    });
    expect(kinds(acts)).toContain('final');
    expect(toHex(client.lastFinal.blockId)).toBe(toHex(idOf(b2.block)));
    // A forged certificate is refused and counted.
    const other = engineOf(schedule[3]!);
    other.handle(tick(4));
    const forged = { ...send.certificate!, votes: send.certificate!.votes.slice(0, 2) };
    other.handle({ kind: 'blocks', from: 'server', blocks: send.blocks, certificate: forged });
    expect(other.lastFinal.height).toBe(0);
    expect(other.stats.rejected.BAD_CERTIFICATE).toBe(1);
  });
});
