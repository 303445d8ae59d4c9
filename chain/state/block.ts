/**
 * Blocks: the genesis state, `applyBlock` (checks the header against the state, applies every
 * transaction, checks the state root; returns the new state or a BlockError, never mutating the old
 * one) and `buildBlock` for a producer (applies what is valid, drops what is not, signs the header).
 * Whose slot it is belongs to consensus (chain/dpos); here a block needs a registered, unjailed
 * producer. A block that opens a round first records the schedule consensus runs in it
 * (active-schedule.ts); every block ends by recording the election it leads to (schedule-record.ts).
 */
import { encodeCanonical } from '../codec/canonical.js';
import { type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { bytesEqual, taggedHash, toHex } from '../crypto/hash.js';
import { merkleRoot } from '../crypto/merkle.js';
import { BlockError, TxError } from '../tx/errors.js';
import { type BlockHeader, headerId, type SignedHeader } from '../tx/header.js';
import type { SignedTx } from '../tx/types.js';
import { recordGenesisSchedule, recordRoundSchedule } from './active-schedule.js';
import { type ApplyOptions, applyTx } from './apply.js';
import type { ChainParams } from './params.js';
import { EMPTY_ACCOUNT } from './records.js';
import { recordSchedule } from './schedule-record.js';
import { type ChainState, Draft, stateRoot } from './state.js';

/** A block: its signed header and its transactions. */
export interface Block {
  readonly header: SignedHeader;
  readonly txs: readonly SignedTx[];
}

/** What genesis holds: balances, stakes and producers. */
export interface GenesisSpec {
  readonly params: ChainParams;
  readonly timeMs: number;
  readonly accounts: readonly {
    readonly address: string;
    readonly qdt: bigint;
    readonly staked?: bigint;
    readonly qdd?: bigint;
  }[];
  /** Producers registered at genesis, each voted for by its own stake. */
  readonly producers: readonly { readonly address: string; readonly url: string }[];
}

/** The state at height 0. Accounts start with full mana. */
export function createGenesis(spec: GenesisSpec): ChainState {
  const empty: ChainState = {
    params: spec.params,
    height: 0,
    timeMs: spec.timeMs,
    genesisTimeMs: spec.timeMs,
    blockId: new Uint8Array(32),
    tree: null,
    producers: [],
  };
  const d = new Draft(empty);
  let qdt = 0n;
  let qdd = 0n;
  for (const p of spec.producers) d.setProducer(p.address, { url: p.url, votes: 0n, jailed: false });
  for (const a of spec.accounts) {
    const staked = a.staked ?? 0n;
    const votes = d.producer(a.address) !== undefined && staked > 0n ? [a.address] : [];
    d.setAccount(a.address, {
      ...EMPTY_ACCOUNT,
      qdt: a.qdt,
      staked,
      qdd: a.qdd ?? 0n,
      mana: a.qdt + staked,
      votes,
    });
    for (const v of votes) d.setProducer(v, { ...d.producer(v)!, votes: d.producer(v)!.votes + staked });
    qdt += a.qdt + staked;
    qdd += a.qdd ?? 0n;
  }
  d.setSupply({ qdt, qdd, burned: 0n });
  recordSchedule(d);
  recordGenesisSchedule(d);
  const root = d.tree;
  const genesisId = taggedHash(
    'qood/genesis/v1',
    encodeCanonical([spec.params.chainId, spec.timeMs, root === null ? new Uint8Array(32) : root.hash]),
  );
  return d.finish(0, spec.timeMs, genesisId);
}

/** The result of applying a block. */
export type BlockResult =
  | { readonly ok: true; readonly state: ChainState }
  | { readonly ok: false; readonly error: BlockError };

/** Applies a block to `state`; `state` is left as it was whatever happens. */
export function applyBlock(state: ChainState, block: Block, opts: ApplyOptions = {}): BlockResult {
  const h = block.header.header;
  const fail = (code: BlockError['code'], msg: string, txError?: TxError): BlockResult => ({
    ok: false,
    error: new BlockError(code, h.height, msg, txError),
  });
  if (h.chainId !== state.params.chainId) return fail('WRONG_CHAIN', `chain '${h.chainId}'`);
  if (h.height !== state.height + 1) return fail('WRONG_HEIGHT', `expected height ${state.height + 1}`);
  if (!bytesEqual(h.prevHash, state.blockId))
    return fail('WRONG_PARENT', `parent is not ${toHex(state.blockId).slice(0, 16)}...`);
  if (h.timeMs <= state.timeMs) return fail('TIME_NOT_INCREASING', `time ${h.timeMs} <= ${state.timeMs}`);
  const d = new Draft(state);
  const prod = d.producer(h.producer);
  if (prod === undefined || prod.jailed)
    return fail('UNKNOWN_PRODUCER', `${h.producer.slice(0, 16)}... may not produce`);
  const id = headerId(h);
  if (!verify(block.header.signature, id, Buffer.from(h.producer, 'hex')))
    return fail('BAD_SIGNATURE', 'header signature does not verify');
  if (!bytesEqual(merkleRoot(block.txs.map((t) => t.id)), h.txRoot))
    return fail('TX_ROOT_MISMATCH', 'txRoot');
  const ctx = { height: h.height, timeMs: h.timeMs };
  recordRoundSchedule(d, h.height, h.timeMs);
  for (let i = 0; i < block.txs.length; i++) {
    try {
      applyTx(d, block.txs[i]!, ctx, opts);
    } catch (e) {
      if (!(e instanceof TxError)) throw e;
      const located = new TxError(e.code, e.field, e.message.slice(e.field.length + 2), i);
      return fail('TX_INVALID', located.message, located);
    }
  }
  recordSchedule(d);
  const next = d.finish(h.height, h.timeMs, id);
  if (!bytesEqual(stateRoot(next), h.stateRoot)) return fail('STATE_ROOT_MISMATCH', 'stateRoot');
  return { ok: true, state: next };
}

/** A block built on `state` from candidate transactions, with the state after it and what was dropped. */
export interface BuiltBlock {
  readonly block: Block;
  readonly state: ChainState;
  readonly rejected: readonly { readonly tx: SignedTx; readonly error: TxError }[];
}

/** Builds and signs the next block from `candidates`, dropping those that do not apply. */
export function buildBlock(
  state: ChainState,
  candidates: readonly SignedTx[],
  producer: Ed25519Signer,
  timeMs: number,
  opts: ApplyOptions = {},
): BuiltBlock {
  const ctx = { height: state.height + 1, timeMs };
  let d = new Draft(state);
  recordRoundSchedule(d, ctx.height, timeMs);
  const txs: SignedTx[] = [];
  const rejected: { tx: SignedTx; error: TxError }[] = [];
  for (const tx of candidates) {
    const trial = new Draft(state);
    trial.tree = d.tree;
    trial.producers = d.producers;
    try {
      applyTx(trial, tx, ctx, opts);
      d = trial;
      txs.push(tx);
    } catch (e) {
      if (!(e instanceof TxError)) throw e;
      rejected.push({ tx, error: e });
    }
  }
  recordSchedule(d);
  const header: BlockHeader = {
    chainId: state.params.chainId,
    height: ctx.height,
    prevHash: state.blockId,
    timeMs,
    producer: toHex(producer.publicKey),
    txRoot: merkleRoot(txs.map((t) => t.id)),
    stateRoot: d.tree?.hash ?? new Uint8Array(32),
  };
  const id = headerId(header);
  return {
    block: { header: { header, signature: producer.sign(id) }, txs },
    state: d.finish(ctx.height, timeMs, id),
    rejected,
  };
}
