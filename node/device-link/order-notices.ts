/**
 * `OrderNotices`: the storage node's part in a sale. When a block with buy orders becomes final,
 * each order for a descriptor of a vehicle this node serves is announced to that vehicle's device
 * (order-notice-wire.ts) with proofs at the final height, so the device can fill it, and again
 * with fresh proofs every `reannounceBlocks` final blocks while the order stays open (a device that
 * was offline gets the queued notices when it reconnects, but their proofs may be too old for its
 * light client by then). The device fills each order once. The orders being announced are kept in
 * memory: after a node restart an open order is not announced again, and its buyer gets the escrow
 * back by cancelling once it expires.
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
  readonly topicPrefix: string;
  readonly logger: NoticeLogger;
  /** Final blocks between announcements of an order still open (default 60, half a minute). */
  readonly reannounceBlocks?: number;
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
    const every = this.#o.reannounceBlocks ?? 60;
    for (const [id, at] of [...this.#open])
      if (final.height - at >= every && this.announce(id, final) !== undefined) this.#open.delete(id);
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
    const vehicleId = agr === null ? undefined : this.#vehicles.get(decodeAgreement(agr).vehicle);
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
