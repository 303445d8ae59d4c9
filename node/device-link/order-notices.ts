/**
 * `OrderNotices`: the storage node's part in a sale. When a block with buy orders becomes final,
 * each order for a descriptor of a vehicle this node serves is announced to that vehicle's device
 * (order-notice-wire.ts) with proofs at the final height, so the device can fill it, and again
 * with fresh proofs every `reannounceBlocks` final blocks while the order stays open (a device that
 * was offline gets the queued notices when it reconnects, but their proofs may be too old for its
 * light client by then). The device fills each order once. The orders being announced are kept in
 * memory; a node that starts (or restarts) walks the final chain it holds back to genesis, a batch
 * of blocks per finality event (`block`), and takes up every order still open: an unfilled one the
 * device may still fill, and above all a filled one whose keys are not revealed yet (the buyer has
 * paid; the device reveals the keys on the next notice, even with a recreated store).
 *
 * The node keeps no state of its own here: the chain says which orders are open, the ingest DB
 * holds the signed descriptors (found by the anchored Merkle root).
 */
import {
  type ChainState,
  chainVehicleId,
  decodeAgreement,
  decodeAnchoredDescriptor,
  decodeOrder,
  encodeOrderNotice,
  orderTopic,
  proveKey,
  type SignedTx,
  stateKey,
  toHex,
} from '../../chain/index.js';
import type { IngestStore } from '../ingest/ingest-store.js';
import type { IngestLink } from '../ingest/link.js';

/** Where the notices report (a subset of pino's logger). */
export interface NoticeLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface OrderNoticesOptions {
  readonly link: Pick<IngestLink, 'publish'>;
  readonly store: Pick<IngestStore, 'listDescriptors' | 'descriptorBytes'>;
  /** The vehicles this node serves, by config id (the ingest's device keys). */
  readonly vehicleIds: readonly string[];
  /**
   * The config id of a chain vehicle id not in `vehicleIds` (the ingest's device registry: vehicles
   * whose devices are bound on chain and whose records it verified), or undefined.
   */
  readonly vehicleOf?: (chainVehicleId: string) => string | undefined;
  readonly topicPrefix: string;
  readonly logger: NoticeLogger;
  /** Final blocks between announcements of an order still open (default 60, half a minute). */
  readonly reannounceBlocks?: number;
  /**
   * The final block at a height, when held: with it, the orders already open when this node
   * started are found in the chain and announced too (without it only orders seen final here are).
   */
  readonly block?: (height: number) => { readonly txs: readonly SignedTx[] } | undefined;
  /** Blocks looked at per finality event while catching up (default 2000). */
  readonly catchUpBlocks?: number;
  /** Called as orders are announced, skipped, or their publishing fails. */
  readonly onCount?: (what: 'announced' | 'skipped' | 'failed') => void;
}

/** Most open orders announced again; the oldest announced are dropped beyond it. */
const MAX_TRACKED = 10_000;

/** Why an order was not announced (counted by the caller's metrics). */
export type NoticeSkip = 'not-open' | 'not-ours' | 'no-descriptor';

export class OrderNotices {
  readonly #o: OrderNoticesOptions;
  /** Chain vehicle id -> config vehicle id. */
  readonly #vehicles: Map<string, string>;
  readonly counts = { announced: 0, skipped: 0, failed: 0 };
  /** Orders announced and still open, with the final height of their last announcement. */
  readonly #open = new Map<string, number>();
  /** Heights below this are still to be searched for open orders (undefined: not started). */
  #catchUpBelow: number | undefined;

  constructor(options: OrderNoticesOptions) {
    this.#o = options;
    this.#vehicles = new Map(options.vehicleIds.map((v) => [chainVehicleId(v), v]));
  }

  /** Announces the buy orders among `txs` (of blocks just made final) as of `final`, the last final state. */
  onFinalTxs(txs: readonly SignedTx[], final: ChainState): void {
    for (const t of txs)
      if (t.tx.kind === 'order' && t.tx.body.side === 'buy') this.announce(toHex(t.id), final);
      // A final fill leaves its order open until the keys are revealed: tell the device at once,
      // so it reveals them (commit-then-reveal, chain/state/apply-market.ts).
      else if (t.tx.kind === 'fill') this.announce(t.tx.body.order, final);
    this.#catchUp(final);
    const every = this.#o.reannounceBlocks ?? 60;
    for (const [id, at] of [...this.#open])
      if (final.height - at >= every && this.announce(id, final) !== undefined) this.#open.delete(id);
  }

  /**
   * Searches the next batch of older final blocks for orders and fills, and announces those whose
   * order is still open (issue 14 follow-up: without it a node restart silently stopped announcing
   * a paid order whose keys were never revealed, and the buyer paid for nothing). A batch per event
   * keeps a long chain from stalling the node at start.
   */
  #catchUp(final: ChainState): void {
    const block = this.#o.block;
    if (block === undefined) return;
    this.#catchUpBelow ??= final.height + 1;
    const stop = Math.max(1, this.#catchUpBelow - (this.#o.catchUpBlocks ?? 2000));
    for (let h = this.#catchUpBelow - 1; h >= stop; h--)
      for (const t of block(h)?.txs ?? []) {
        const id =
          t.tx.kind === 'order' && t.tx.body.side === 'buy'
            ? toHex(t.id)
            : t.tx.kind === 'fill'
              ? t.tx.body.order
              : undefined;
        if (id === undefined || this.#open.has(id)) continue;
        const value = proveKey(final, stateKey.order(id)).value;
        if (value !== null && decodeOrder(value).open) this.announce(id, final);
      }
    this.#catchUpBelow = stop;
  }

  /** Orders being announced until they close. */
  get tracked(): number {
    return this.#open.size;
  }

  /** Announces one order if it is open and for a descriptor of a served vehicle; returns why not. */
  announce(orderId: string, final: ChainState): NoticeSkip | undefined {
    const orderProof = proveKey(final, stateKey.order(orderId));
    const order = orderProof.value === null ? undefined : decodeOrder(orderProof.value);
    if (order === undefined || !order.open || order.side !== 'buy') return this.#skip('not-open');
    const descProof = proveKey(final, stateKey.descriptor(order.descriptor));
    if (descProof.value === null) return this.#skip('not-open');
    const anchored = decodeAnchoredDescriptor(descProof.value);
    const agr = proveKey(final, stateKey.agreement(anchored.agreement)).value;
    const chainVehicle = agr === null ? undefined : decodeAgreement(agr).vehicle;
    const vehicleId =
      chainVehicle === undefined
        ? undefined
        : (this.#vehicles.get(chainVehicle) ?? this.#o.vehicleOf?.(chainVehicle));
    if (vehicleId === undefined) return this.#skip('not-ours');
    const listed = this.#o.store.listDescriptors({
      vehicleId,
      merkleRoot: toHex(anchored.merkleRoot),
      limit: 1,
    })[0];
    const signedDescriptor = listed === undefined ? undefined : this.#o.store.descriptorBytes(listed.id);
    if (signedDescriptor === undefined) {
      this.#o.logger.warn(
        { order: orderId, vehicleId, merkleRoot: toHex(anchored.merkleRoot) },
        'an order names a descriptor this node does not hold',
      );
      return this.#skip('no-descriptor');
    }
    const at = (p: ReturnType<typeof proveKey>) => ({
      height: final.height,
      proof: { key: p.key, value: p.value, proof: p.proof },
    });
    const payload = encodeOrderNotice({
      orderId,
      descriptorId: order.descriptor,
      orderProof: at(orderProof),
      descriptorProof: at(descProof),
      signedDescriptor,
    });
    this.counts.announced++;
    this.#o.onCount?.('announced');
    this.#open.delete(orderId);
    this.#open.set(orderId, final.height);
    if (this.#open.size > MAX_TRACKED) this.#open.delete(this.#open.keys().next().value!);
    this.#o.link.publish(orderTopic(this.#o.topicPrefix, vehicleId), payload).catch((err: Error) => {
      this.counts.failed++;
      this.#o.onCount?.('failed');
      this.#o.logger.warn(
        { order: orderId, vehicleId, err: err.message },
        'publishing an order notice failed',
      );
    });
    this.#o.logger.info(
      { order: orderId, vehicleId, price: order.price.toString() },
      'order announced to the device',
    );
    return undefined;
  }

  #skip(why: NoticeSkip): NoticeSkip {
    this.counts.skipped++;
    this.#o.onCount?.('skipped');
    return why;
  }
}
