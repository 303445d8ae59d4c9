/**
 * `TxForwarder`: devices' queued transactions (stored by the ingest in `txs`) into the node's
 * mempool. Those whose bytes are a chain SignedTx (an owner-signed `revoke`; a device-signed
 * `controlExec`, `descriptor` anchor or `fill`) are submitted in the device's outbox order; anything
 * else (the signed descriptor bytes an agent without a chain queues as kind `descriptor`) is
 * skipped and recorded as such.
 *
 * Nonces: a sender's transaction goes when its nonce is the sender's next one at the head
 * (counting its own admitted ones still pending), so a device's records land in its outbox order;
 * one whose nonce is ahead waits and is tried again after the next block. Nonces only have to
 * rise on chain (chain/state/apply.ts), so a transaction whose predecessor never comes (it was
 * refused here, or went another way) does not wait forever: after `gapWaitBlocks` blocks with no
 * predecessor queued here, it goes and leaves the gap (at once when every missing nonce was one
 * refused here). One too far ahead of its sender's nonce, or short of mana, waits for its turn. A
 * transaction refused for any other reason
 * (signature, chain, nonce already used, invalid against the state) is dropped, logged with the
 * reason and counted (`bridge.txs.refused`).
 *
 * Inclusion is seen in final blocks (`bridge.txs.included`). One admitted but not final after
 * `inclusionTimeoutBlocks` final blocks is looked at again: when its nonce has been used it is
 * found in the final blocks since (included) or was superseded (refused); otherwise it is
 * submitted again (it left the mempool, e.g. with an abandoned fork).
 *
 * Durability: every transaction looked at gets a row in the ingest database's `tx_submissions`
 * (waiting, admitted, included, refused, skipped); the highest row is the cursor. After a restart
 * the waiting and admitted ones are taken up again: an admitted one whose nonce is used is looked
 * up in the final blocks, the others are submitted again (the node's mempool did not survive), so
 * nothing is lost and nothing is submitted endlessly.
 */
import { decodeSignedTx, getAccount, type SignedTx, toHex, validateTx } from '../../chain/index.js';
import type { IngestStore, Submission, SubmissionState } from '../ingest/ingest-store.js';
import type { FinalityEvent } from '../runtime/full-node.js';
import type { TxReject } from '../runtime/tx-check.js';
import type { DeviceLinkCount, DeviceLinkLogger } from './counters.js';
import type { TxSink } from './source.js';

/** The part of the ingest store the forwarder uses. */
export type SubmissionStore = Pick<
  IngestStore,
  'listTxs' | 'submissionCursor' | 'recordSubmissions' | 'openSubmissions'
>;

export interface TxForwarderOptions {
  readonly store: SubmissionStore;
  readonly sink: TxSink;
  /** Subscribes to finality events (the node's `onFinality`). */
  readonly onFinality: (listener: (e: FinalityEvent) => void) => () => void;
  readonly logger: DeviceLinkLogger;
  readonly count: DeviceLinkCount;
  /** How often new queued transactions are read, ms (default 500, one slot). */
  readonly pollMs?: number;
  /** Blocks a transaction waits for a predecessor that is not queued here before it goes (default 10). */
  readonly gapWaitBlocks?: number;
  /** Final blocks after which an admitted transaction not yet final is looked at again (default 20). */
  readonly inclusionTimeoutBlocks?: number;
  /** Most final blocks searched for a transaction whose nonce was used (default 4096). */
  readonly maxScanBlocks?: number;
  /** Wall clock for the records, ms (default Date.now). */
  readonly nowMs?: () => number;
  /** Called with the sender (hex) of every transaction a device queued here. */
  readonly onSender?: (sender: string) => void;
}

/** A queued chain transaction not settled yet. */
interface Open {
  readonly ord: number;
  readonly vehicleId: string;
  readonly tx: SignedTx;
  readonly id: string;
  state: 'waiting' | 'admitted';
  /** Head height when admitted, or when read (waiting). */
  height: number;
}

/**
 * Refusals that pass with time, not with a change to the transaction: too far ahead of the sender's
 * nonce (a long offline backlog), or short of mana until the sender's bar refills.
 */
function waitsFor(reject: TxReject): boolean {
  return (
    reject.code === 'NONCE_TOO_FAR' ||
    (reject.code === 'INVALID' && reject.message.startsWith('INSUFFICIENT_MANA'))
  );
}

/** Rows read per store query, and queries per poll at most. */
const PAGE = 256;
const PAGES_PER_POLL = 8;

export class TxForwarder {
  readonly #o: TxForwarderOptions;
  readonly #open = new Map<number, Open>();
  readonly #byId = new Map<string, Open>();
  /** Nonces of each sender whose transaction was refused here: a gap known not to fill. */
  readonly #refusedNonces = new Map<string, Set<number>>();
  #cursor = 0;
  #timer: NodeJS.Timeout | undefined;
  #off: (() => void) | undefined;
  #pollScheduled = false;
  #updates: Submission[] = [];

  constructor(options: TxForwarderOptions) {
    this.#o = options;
  }

  /** Transactions waiting for their nonce and admitted ones not final yet. */
  pending(): { readonly waiting: number; readonly admitted: number } {
    let waiting = 0;
    for (const e of this.#open.values()) if (e.state === 'waiting') waiting++;
    return { waiting, admitted: this.#open.size - waiting };
  }

  /** Takes up what a previous run left open, listens to finality and starts polling. */
  start(): void {
    if (this.#off !== undefined) return;
    const { store } = this.#o;
    this.#cursor = store.submissionCursor();
    for (const row of store.openSubmissions()) {
      let tx: SignedTx;
      try {
        tx = decodeSignedTx(row.bytes);
      } catch (err) {
        this.#settle(row.ord, 'skipped', null, null, `not a chain transaction: ${(err as Error).message}`);
        continue;
      }
      const e: Open = {
        ord: row.ord,
        vehicleId: row.vehicleId,
        tx,
        id: toHex(tx.id),
        state: 'waiting',
        height: row.submission.height ?? 0,
      };
      this.#add(e);
      // The mempool did not survive the restart: an admitted one is final already, or must go again.
      if (row.submission.state === 'admitted' && tx.tx.nonce < this.#finalNonce(tx)) this.#resolveUsed(e);
    }
    this.#save();
    this.#off = this.#o.onFinality((ev) => this.#onFinal(ev));
    this.#timer = setInterval(() => this.poll(), this.#o.pollMs ?? 500);
    this.#timer.unref();
    this.poll();
  }

  /** Stops polling and listening; what is open stays recorded for the next start. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#off?.();
    this.#off = undefined;
    this.#save();
  }

  /** Reads new queued transactions and submits what may go now (also run by the timer). */
  poll(): void {
    this.#read();
    this.#submit();
    this.#save();
  }

  #read(): void {
    for (let page = 0; page < PAGES_PER_POLL; page++) {
      const rows = this.#o.store.listTxs({ afterOrd: this.#cursor, limit: PAGE });
      for (const row of rows) {
        this.#cursor = row.ord;
        this.#o.count('bridge.txs.read');
        let tx: SignedTx;
        try {
          tx = decodeSignedTx(row.bytes);
        } catch (err) {
          // The agent queues signed descriptors under kind `descriptor`: not a chain transaction (yet).
          const reason = `not a chain transaction: ${(err as Error).message}`;
          this.#settle(row.ord, 'skipped', null, null, reason);
          this.#o.count('bridge.txs.skipped');
          if (row.kind !== 'descriptor')
            this.#o.logger.warn(
              { vehicle: row.vehicleId, seq: row.seq, kind: row.kind, reason },
              'skipped a queued transaction',
            );
          continue;
        }
        const id = toHex(tx.id);
        const twin = this.#byId.get(id);
        if (twin !== undefined) {
          this.#settle(row.ord, 'skipped', id, null, `the same transaction as queued entry ${twin.ord}`);
          this.#o.count('bridge.txs.skipped');
          continue;
        }
        const e: Open = {
          ord: row.ord,
          vehicleId: row.vehicleId,
          tx,
          id,
          state: 'waiting',
          height: this.#o.sink.head.height,
        };
        this.#add(e);
        this.#record(e);
        this.#o.onSender?.(tx.tx.sender);
      }
      if (rows.length < PAGE) return;
    }
  }

  #submit(): void {
    const { sink } = this.#o;
    const bySender = new Map<string, Open[]>();
    for (const e of this.#open.values()) {
      const list = bySender.get(e.tx.tx.sender) ?? [];
      list.push(e);
      bySender.set(e.tx.tx.sender, list);
    }
    const timeout = this.#o.inclusionTimeoutBlocks ?? 20;
    for (const [sender, list] of bySender) {
      const headNonce = getAccount(sink.head.state, sender).nonce;
      for (const e of list)
        if (e.state === 'admitted' && sink.lastFinal.height - e.height >= timeout)
          this.#recheck(e, headNonce);
      const taken = new Set<number>();
      for (const e of this.#open.values())
        if (e.tx.tx.sender === sender && e.state === 'admitted') taken.add(e.tx.tx.nonce);
      let next = headNonce;
      while (taken.has(next)) next++;
      const waiting = list
        .filter((e) => e.state === 'waiting' && this.#open.has(e.ord))
        .sort((a, b) => a.tx.tx.nonce - b.tx.tx.nonce || a.ord - b.ord);
      for (const e of waiting) {
        if (e.tx.tx.nonce > next) {
          // A predecessor queued here goes first; one that is not queued here may never come.
          const before = (o: Open) =>
            this.#open.has(o.ord) && o.tx.tx.nonce >= next && o.tx.tx.nonce < e.tx.tx.nonce;
          const refused = this.#refusedNonces.get(sender);
          let known = refused !== undefined;
          for (let n = next; known && n < e.tx.tx.nonce; n++) known = refused!.has(n);
          if (list.some(before)) break;
          if (!known && sink.head.height - e.height < (this.#o.gapWaitBlocks ?? 10)) break;
          // The mempool checks a transaction ahead of its sender's nonce only for its signature; with
          // no predecessor to wait for, the head state decides now (a producer would drop it silently).
          const verdict = this.#judge(e);
          if (verdict === 'wait') break;
          if (verdict === 'refused') continue;
        }
        const r = sink.submitTx(e.tx);
        if (r.reject === 'MEMPOOL_FULL') return; // everything waits for room
        if (r.reject !== undefined && waitsFor(r.reject)) break; // the sender's turn comes later
        if (r.reject !== undefined) {
          this.#refuse(e, `${r.reject.code}: ${r.reject.message}`);
          continue;
        }
        // Admitted, or already known to the node (another bridge or a wallet sent it): wait for a block.
        e.state = 'admitted';
        e.height = sink.head.height;
        this.#record(e);
        this.#o.count('bridge.txs.admitted');
        next = e.tx.tx.nonce + 1;
        while (taken.has(next)) next++;
      }
    }
  }

  /** An admitted transaction not final after the timeout. */
  #recheck(e: Open, headNonce: number): void {
    if (e.tx.tx.nonce < this.#finalNonce(e.tx)) {
      this.#resolveUsed(e);
      return;
    }
    if (e.tx.tx.nonce < headNonce) {
      e.height = this.#o.sink.head.height; // in a block that is not final yet
      return;
    }
    if (this.#judge(e) !== 'ok') return;
    const r = this.#o.sink.submitTx(e.tx, { resubmit: true });
    if (r.reject === 'MEMPOOL_FULL') return;
    if (r.reject !== undefined && waitsFor(r.reject)) return;
    if (r.reject !== undefined) {
      this.#refuse(e, `${r.reject.code}: ${r.reject.message}`);
      return;
    }
    e.height = this.#o.sink.head.height;
    this.#record(e);
    this.#o.count('bridge.txs.resubmitted');
  }

  /**
   * What the head state says of `e`: it applies ('ok'); it will once the sender's mana refills
   * ('wait'); or never (refused here, with the reason).
   */
  #judge(e: Open): 'ok' | 'wait' | 'refused' {
    const r = validateTx(this.#o.sink.head.state, e.tx, { timeMs: (this.#o.nowMs ?? Date.now)() });
    if (r.ok) return 'ok';
    if (r.error.code === 'INSUFFICIENT_MANA') return 'wait';
    this.#refuse(e, `INVALID: ${r.error.code}: ${r.error.message}`);
    return 'refused';
  }

  /** A transaction whose nonce a final block used: find it there, or it was superseded. */
  #resolveUsed(e: Open): void {
    const { sink } = this.#o;
    const top = sink.lastFinal.height;
    const from = Math.max(1, e.height, top - (this.#o.maxScanBlocks ?? 4096) + 1);
    for (let h = from; h <= top; h++)
      if (sink.block(h)?.txs.some((t) => toHex(t.id) === e.id)) {
        this.#include(e, h);
        return;
      }
    this.#refuse(
      e,
      `NONCE_USED: another transaction of ${e.tx.tx.sender.slice(0, 16)}... used nonce ${e.tx.tx.nonce}`,
    );
  }

  #onFinal(ev: FinalityEvent): void {
    if (this.#byId.size > 0)
      for (const f of ev.blocks) {
        const b = this.#o.sink.block(f.height);
        for (const t of b?.txs ?? []) {
          const e = this.#byId.get(toHex(t.id));
          if (e !== undefined) this.#include(e, f.height);
        }
      }
    this.#save();
    // A transaction waiting for its nonce may go now.
    if (!this.#pollScheduled) {
      this.#pollScheduled = true;
      setImmediate(() => {
        this.#pollScheduled = false;
        if (this.#off !== undefined) this.poll();
      });
    }
  }

  #include(e: Open, height: number): void {
    this.#drop(e);
    this.#settle(e.ord, 'included', e.id, height, null);
    this.#o.count('bridge.txs.included');
  }

  #refuse(e: Open, reason: string): void {
    this.#drop(e);
    const refused = this.#refusedNonces.get(e.tx.tx.sender) ?? new Set<number>();
    refused.add(e.tx.tx.nonce);
    if (refused.size > 1024) refused.delete(refused.values().next().value!);
    this.#refusedNonces.set(e.tx.tx.sender, refused);
    this.#settle(e.ord, 'refused', e.id, null, reason);
    this.#o.count('bridge.txs.refused');
    this.#o.logger.warn(
      { vehicle: e.vehicleId, kind: e.tx.tx.kind, id: e.id.slice(0, 16), nonce: e.tx.tx.nonce, reason },
      'the chain refused a device transaction; dropped',
    );
  }

  #finalNonce(tx: SignedTx): number {
    return getAccount(this.#o.sink.lastFinal.state, tx.tx.sender).nonce;
  }

  #add(e: Open): void {
    this.#open.set(e.ord, e);
    this.#byId.set(e.id, e);
  }

  #drop(e: Open): void {
    this.#open.delete(e.ord);
    this.#byId.delete(e.id);
  }

  #record(e: Open): void {
    this.#settle(e.ord, e.state, e.id, e.state === 'admitted' ? e.height : null, null);
  }

  #settle(
    ord: number,
    state: SubmissionState,
    txId: string | null,
    height: number | null,
    reason: string | null,
  ): void {
    this.#updates.push({ ord, state, txId, height, reason });
  }

  #save(): void {
    if (this.#updates.length === 0) return;
    const rows = this.#updates;
    this.#updates = [];
    try {
      this.#o.store.recordSubmissions(rows, (this.#o.nowMs ?? Date.now)());
    } catch (err) {
      // Not recorded: after a restart these are looked at again (included ones are found in blocks).
      this.#o.logger.error(
        { err: (err as Error).message, rows: rows.length },
        'recording submissions failed',
      );
    }
  }
}
