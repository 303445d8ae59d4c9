/**
 * Transaction rules for tokens and consensus: transfers, QDD issue and redeem, staking and unbonding,
 * producer registration, stake-weighted votes and double-sign evidence. Each handler checks, then
 * writes to the draft; it throws TxError and the caller drops the draft.
 */
import { CodecError } from '../codec/canonical.js';
import { verify } from '../crypto/ed25519.js';
import { bytesEqual } from '../crypto/hash.js';
import { TxError } from '../tx/errors.js';
import { headerId, readSignedHeader, type SignedHeader } from '../tx/header.js';
import type { TxBodies } from '../tx/types.js';
import { currentMana } from './mana.js';
import type { Account } from './records.js';
import type { Draft } from './state.js';

/** Where a transaction is applied: the block's height and time. */
export interface TxContext {
  readonly height: number;
  readonly timeMs: number;
}

/** The account with its mana settled at `height`, before its QDT holdings change. */
export function settle(d: Draft, a: Account, height: number): Account {
  return { ...a, mana: currentMana(a, height, d.base.params), manaHeight: height };
}

function positive(amount: bigint, field = 'body.amount'): void {
  if (amount <= 0n) throw new TxError('MALFORMED', field, 'must be greater than zero');
}

/** Adds `delta` to the votes of each producer in `producers`. */
function shiftVotes(d: Draft, producers: readonly string[], delta: bigint): void {
  if (delta === 0n) return;
  for (const p of producers) {
    const rec = d.producer(p);
    if (rec !== undefined) d.setProducer(p, { ...rec, votes: rec.votes + delta });
  }
}

export function applyTransfer(d: Draft, sender: string, b: TxBodies['transfer'], ctx: TxContext): void {
  positive(b.amount);
  const from = d.account(sender);
  if (b.token === 'QDT') {
    if (from.qdt < b.amount)
      throw new TxError('INSUFFICIENT_FUNDS', 'body.amount', `has ${from.qdt} QDT units, needs ${b.amount}`);
    d.setAccount(sender, { ...settle(d, from, ctx.height), qdt: from.qdt - b.amount });
    const to = settle(d, d.account(b.to), ctx.height);
    d.setAccount(b.to, { ...to, qdt: to.qdt + b.amount });
  } else {
    if (from.qdd < b.amount)
      throw new TxError('INSUFFICIENT_FUNDS', 'body.amount', `has ${from.qdd} QDD units, needs ${b.amount}`);
    d.setAccount(sender, { ...from, qdd: from.qdd - b.amount });
    const to = d.account(b.to);
    d.setAccount(b.to, { ...to, qdd: to.qdd + b.amount });
  }
}

function requireIssuer(d: Draft, sender: string): void {
  if (sender !== d.base.params.issuer)
    throw new TxError('NOT_ISSUER', 'sender', 'only the designated issuer may issue or redeem QDD');
}

export function applyIssue(d: Draft, sender: string, b: TxBodies['issue']): void {
  requireIssuer(d, sender);
  positive(b.amount);
  const to = d.account(b.to);
  d.setAccount(b.to, { ...to, qdd: to.qdd + b.amount });
  const s = d.supply();
  d.setSupply({ ...s, qdd: s.qdd + b.amount });
}

export function applyRedeem(d: Draft, sender: string, b: TxBodies['redeem']): void {
  requireIssuer(d, sender);
  positive(b.amount);
  const a = d.account(sender);
  if (a.qdd < b.amount)
    throw new TxError('INSUFFICIENT_FUNDS', 'body.amount', `issuer holds ${a.qdd} QDD units`);
  d.setAccount(sender, { ...a, qdd: a.qdd - b.amount });
  const s = d.supply();
  d.setSupply({ ...s, qdd: s.qdd - b.amount });
}

export function applyStake(d: Draft, sender: string, b: TxBodies['stake']): void {
  positive(b.amount);
  const a = d.account(sender);
  if (a.qdt < b.amount)
    throw new TxError('INSUFFICIENT_FUNDS', 'body.amount', `has ${a.qdt} liquid QDT units`);
  d.setAccount(sender, { ...a, qdt: a.qdt - b.amount, staked: a.staked + b.amount });
  shiftVotes(d, a.votes, b.amount);
}

export function applyUnstake(d: Draft, sender: string, b: TxBodies['unstake'], ctx: TxContext): void {
  positive(b.amount);
  const a = d.account(sender);
  if (a.staked < b.amount)
    throw new TxError('INSUFFICIENT_FUNDS', 'body.amount', `has ${a.staked} staked QDT units`);
  if (a.unbonding.length >= d.base.params.maxUnbonding)
    throw new TxError('LIMIT', 'body.amount', `${a.unbonding.length} unbonding entries pending already`);
  const releaseHeight = ctx.height + d.base.params.unbondingBlocks;
  d.setAccount(sender, {
    ...a,
    staked: a.staked - b.amount,
    unbonding: [...a.unbonding, { amount: b.amount, releaseHeight }],
  });
  shiftVotes(d, a.votes, -b.amount);
}

export function applyWithdraw(d: Draft, sender: string, ctx: TxContext): void {
  const a = d.account(sender);
  const ready = a.unbonding.filter((u) => u.releaseHeight <= ctx.height);
  if (ready.length === 0) {
    const next = a.unbonding.reduce((m, u) => Math.min(m, u.releaseHeight), Number.POSITIVE_INFINITY);
    throw new TxError(
      'NOT_YET',
      'unbonding',
      Number.isFinite(next) ? `nothing released before height ${next}` : 'nothing is unbonding',
    );
  }
  const amount = ready.reduce((s, u) => s + u.amount, 0n);
  d.setAccount(sender, {
    ...a,
    qdt: a.qdt + amount,
    unbonding: a.unbonding.filter((u) => u.releaseHeight > ctx.height),
  });
}

export function applyRegisterProducer(d: Draft, sender: string, b: TxBodies['registerProducer']): void {
  if (d.producer(sender) !== undefined)
    throw new TxError('DUPLICATE', 'sender', 'already a registered producer');
  if (b.url.length === 0) throw new TxError('MALFORMED', 'body.url', 'must not be empty');
  // Votes cast before registration do not exist: votes may only name registered producers.
  d.setProducer(sender, { url: b.url, votes: 0n, jailed: false });
}

export function applyVote(d: Draft, sender: string, b: TxBodies['vote']): void {
  const max = d.base.params.maxVotes;
  if (b.producers.length > max)
    throw new TxError('LIMIT', 'body.producers', `${b.producers.length} producers; at most ${max}`);
  const sorted = [...b.producers].sort();
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1])
      throw new TxError('MALFORMED', 'body.producers', `${sorted[i]!.slice(0, 16)}... named twice`);
    if (d.producer(sorted[i]!) === undefined)
      throw new TxError(
        'UNKNOWN',
        'body.producers',
        `${sorted[i]!.slice(0, 16)}... is not a registered producer`,
      );
  }
  const a = d.account(sender);
  shiftVotes(d, a.votes, -a.staked);
  shiftVotes(d, sorted, a.staked);
  d.setAccount(sender, { ...d.account(sender), votes: sorted });
}

function readEvidence(v: TxBodies['doubleSign']['a'], field: string): SignedHeader {
  try {
    return readSignedHeader(v, field);
  } catch (e) {
    if (e instanceof CodecError) throw new TxError('MALFORMED', field, e.message);
    throw e;
  }
}

export function applyDoubleSign(d: Draft, b: TxBodies['doubleSign']): void {
  const a = readEvidence(b.a, 'body.a');
  const c = readEvidence(b.b, 'body.b');
  const p = a.header.producer;
  if (c.header.producer !== p || c.header.height !== a.header.height)
    throw new TxError('BAD_EVIDENCE', 'body', 'headers are from different producers or heights');
  if (a.header.chainId !== d.base.params.chainId || c.header.chainId !== d.base.params.chainId)
    throw new TxError('BAD_EVIDENCE', 'body', 'a header is from another chain');
  const idA = headerId(a.header);
  const idB = headerId(c.header);
  if (bytesEqual(idA, idB)) throw new TxError('BAD_EVIDENCE', 'body', 'the two headers are the same');
  const key = new Uint8Array(Buffer.from(p, 'hex'));
  if (!verify(a.signature, idA, key) || !verify(c.signature, idB, key))
    throw new TxError('BAD_EVIDENCE', 'body', 'a header signature does not verify under the producer key');
  const prod = d.producer(p);
  if (prod === undefined) throw new TxError('UNKNOWN', 'body', 'not a registered producer');
  if (d.hasEvidence(p, a.header.height))
    throw new TxError('DUPLICATE', 'body', `evidence for height ${a.header.height} already recorded`);
  const acct = d.account(p);
  const penalty = (acct.staked * BigInt(d.base.params.doubleSignPenaltyBps)) / 10_000n;
  d.setAccount(p, { ...acct, staked: acct.staked - penalty });
  shiftVotes(d, acct.votes, -penalty);
  d.setProducer(p, { ...d.producer(p)!, jailed: true });
  const s = d.supply();
  d.setSupply({ ...s, qdt: s.qdt - penalty, burned: s.burned + penalty });
  d.setEvidence(p, a.header.height, Buffer.compare(idA, idB) < 0 ? [idA, idB] : [idB, idA]);
}
