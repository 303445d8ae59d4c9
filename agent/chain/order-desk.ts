/**
 * `OrderDesk`: the device's side of a sale. A storage node announces buy orders for this device's
 * descriptors (`<prefix>/<vehicle>/down/order`, chain/wire/order-notice.ts); the desk
 * believes none of it until it has checked, with the embedded light client, that
 *
 *   - the order record is proven at a final height: a buy order, open, not about to expire;
 *   - the anchored descriptor it names is proven too, anchored under this vehicle's own agreement
 *     (so nobody can re-anchor this device's root under an agreement of theirs and buy it from
 *     themselves), and its Merkle root and chunk count are those of the signed descriptor;
 *   - that descriptor is signed by this device's key, for this vehicle.
 *
 * Then it derives the keys of every stream and epoch the descriptor lists (except streams of privacy
 * `private`, which a sale never includes), wraps them to the buyer (chain/data/key-bundle.ts) and
 * queues a device-signed `fill` that carries only the commitment to that wrapped bundle; the chain
 * pays the agreement's parties when it applies. The wrapped bundle stays in the device's store
 * (`reveal/<order>` cursor) until a notice proves, at a final height, that the order was filled
 * with this very commitment; only then does the desk queue the `reveal` with the bundle. So no key
 * leaves the device before the payment is final (issue 14: a storage node colluding with the buyer
 * reads everything the device uplinks and could withhold a fill until the order expires; the
 * protocol is at the top of chain/state/apply-market.ts). The node announces an order again while
 * it is open, and a filled order stays open until its keys are revealed.
 *
 * A notice whose proof is at a height the light client has not reached yet waits for the next
 * finality update (up to `pendingMs`). Each order is filled once (`sale/<order>` cursor) and
 * revealed once.
 *
 * The wrap is deterministic for this device, order, buyer and keys (chain/data/key-bundle.ts), so
 * the copy kept in `reveal/<order>` is a convenience, not the only one: a device whose store was
 * recreated between its fill and the reveal (agent.db moved aside as corrupt, a new SD card) gets
 * the order announced again (it stays open until revealed), makes the same bundle, checks that it
 * hashes to the fill's commitment proven at a final height, and reveals it. A reveal lost after it
 * left the device (refused for a nonce the recreated store reused, dropped by a node) is made and
 * queued again when a notice proves the order still open `revealRetryBlocks` later. A paid sale
 * never loses its keys.
 */
import {
  type BundleKey,
  bytesEqual,
  CodecError,
  DescriptorError,
  decodeOrderNotice,
  decodeSignedTx,
  type Ed25519Signer,
  encodeSignedTx,
  fillCommitment,
  fromHex,
  LightError,
  type OrderNotice,
  openDescriptor,
  orderTopic,
  sealKeyBundle,
  signTx,
  type TxBodies,
  toHex,
  type UnsignedTx,
} from '../../chain/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import { deviceEpochKey, type SealingIdentity } from '../seal/index.js';
import type { ChunkStore } from '../store/index.js';
import { followTopic, type Uplink } from '../sync/uplink.js';
import type { ChainView } from './chain-view.js';

/** Counters the desk declares. */
export const ORDER_DESK_COUNTERS = [
  'sales.filled',
  'sales.revealed',
  'sales.refused',
  'sales.waiting',
] as const;

/**
 * Blocks an order must still have before it expires for the device to fill it (one minute): a buy
 * order's escrow is locked until it expires, so a fill that lands in time is paid.
 */
const EXPIRY_MARGIN_BLOCKS = 120;

export interface OrderDeskOptions {
  readonly uplink: Uplink;
  readonly view: ChainView;
  readonly store: ChunkStore;
  readonly identity: SealingIdentity;
  readonly signer: Ed25519Signer;
  readonly chainId: string;
  /** The vehicle's agreement id on chain (what its anchors are made under). */
  readonly agreementId: string;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly topicPrefix: string;
  readonly nowMs: () => number;
  /** How long a notice waits for the light client to reach its height (default 60 s). */
  readonly pendingMs?: number;
  /**
   * Final blocks after a reveal was queued before the desk queues it again, when a notice proves
   * the order still open and no reveal of it waits in the outbox (default 120, a minute).
   */
  readonly revealRetryBlocks?: number;
  /** Called after a fill or a reveal was queued (the sync's `notify`, so it goes out at once). */
  readonly onQueued?: () => void;
}

/** Why a notice was refused. */
export type SaleRefusal =
  | 'MALFORMED'
  | 'UNPROVEN'
  | 'NOT_OPEN'
  | 'EXPIRING'
  | 'WRONG_DESCRIPTOR'
  | 'NOT_MINE'
  | 'NOTHING_TO_SELL'
  | 'TOO_MANY_KEYS'
  /** The chain view is stale (its head is older than the trust window): nothing it proves is taken. */
  | 'STALE_CHAIN';

const saleCursor = (orderId: string) => `sale/${orderId}`;
/**
 * The wrapped bundle a fill committed to, hex, until its reveal is queued; then `revealed@<height>`
 * (the light client's final height when it was queued; a store written before kept `revealed`, read
 * as height 0); CLOSED once there is nothing more to do (the order closed, or was paid to another
 * commitment).
 */
const revealCursor = (orderId: string) => `reveal/${orderId}`;
const REVEALED_AT = 'revealed@';
const CLOSED = 'closed';
/** The final height a reveal was queued at, or undefined when the cursor says something else. */
function revealedAt(cursor: string | undefined): number | undefined {
  if (cursor === 'revealed') return 0;
  if (cursor === undefined || !cursor.startsWith(REVEALED_AT)) return undefined;
  const h = Number(cursor.slice(REVEALED_AT.length));
  return Number.isSafeInteger(h) ? h : 0;
}

/** What handling a notice did. */
export type NoticeOutcome = 'filled' | 'revealed' | 'waiting' | 'done' | SaleRefusal;

export class OrderDesk {
  readonly #o: OrderDeskOptions;
  readonly #topic: string;
  readonly #waiting = new Map<string, { notice: OrderNotice; sinceMs: number }>();
  #unfollow: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: OrderDeskOptions) {
    this.#o = options;
    this.#topic = orderTopic(options.topicPrefix, options.identity.vehicleId);
    options.metrics.declare(...ORDER_DESK_COUNTERS);
  }

  start(): void {
    this.#unfollow = followTopic(
      this.#o.uplink,
      this.#topic,
      (payload) => this.receive(payload),
      (err) =>
        this.#o.logger.warn({ topic: this.#topic, err: err.message }, 'subscribing to order notices failed'),
    );
    this.#timer = setInterval(() => this.#retry(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    this.#unfollow?.();
    this.#unfollow = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /**
   * Handles one notice; returns 'filled' (fill queued), 'revealed' (reveal queued), 'waiting',
   * 'done' (nothing to do now: filled and not yet final, or revealed before) or the refusal.
   */
  receive(payload: Uint8Array): NoticeOutcome {
    let notice: OrderNotice;
    try {
      notice = decodeOrderNotice(payload);
    } catch (e) {
      if (!(e instanceof CodecError || e instanceof LightError)) throw e;
      return this.#refuse('MALFORMED', undefined, e.message);
    }
    return this.#handle(notice);
  }

  #retry(): void {
    const now = this.#o.nowMs();
    for (const [id, w] of [...this.#waiting]) {
      this.#waiting.delete(id);
      if (
        this.#handle(w.notice, w.sinceMs) === 'waiting' &&
        now - w.sinceMs > (this.#o.pendingMs ?? 60_000)
      ) {
        this.#waiting.delete(id);
        this.#refuse('UNPROVEN', id, `the light client did not reach height ${w.notice.orderProof.height}`);
      }
    }
    this.#o.metrics.set('sales.waiting', this.#waiting.size);
  }

  #handle(n: OrderNotice, sinceMs = this.#o.nowMs()): NoticeOutcome {
    const { store, view, identity } = this.#o;
    const filled = store.cursor(saleCursor(n.orderId)) !== undefined;
    const pending = store.cursor(revealCursor(n.orderId));
    if (filled && (pending === undefined || pending === CLOSED)) return 'done';
    // Issue 14, attack 8: a stale view's proofs come from a schedule that may have unbonded; a sale
    // wraps the data keys to the buyer, so it waits for a fresh checkpoint (the node announces the
    // order again while it is open).
    if (view.stale)
      return this.#refuse('STALE_CHAIN', n.orderId, 'the chain view is stale; install a fresh checkpoint');
    const client = view.client;
    if (n.orderProof.height > client.head.height) {
      this.#waiting.set(n.orderId, { notice: n, sinceMs });
      return 'waiting';
    }
    const order = client.order(n.orderId, n.orderProof);
    if (order instanceof LightError) return this.#refuse('UNPROVEN', n.orderId, order.message);
    const queuedAt = revealedAt(pending);
    if (filled && queuedAt === undefined) return this.#reveal(n.orderId, order, pending!);
    if (filled && !this.#revealAgain(n.orderId, order, queuedAt!)) return 'done';
    if (order === null || order.side !== 'buy' || !order.open)
      return this.#refuse('NOT_OPEN', n.orderId, 'the chain has no open buy order of that id');
    // Filled at a final height, keys not revealed, and no `sale/<order>` mark here: the fill was
    // this device's but its store was recreated since (moved aside as corrupt, a new SD card), or
    // someone else filled it. The bundle is made again below and revealed only if it hashes to the
    // commitment on chain (issue 14 follow-up: a paid sale never loses its keys).
    const paid = order.filledHeight > 0;
    if (!paid && order.expiresHeight < client.head.height + EXPIRY_MARGIN_BLOCKS)
      return this.#refuse('EXPIRING', n.orderId, `expires at height ${order.expiresHeight}`);
    if (order.descriptor !== n.descriptorId)
      return this.#refuse('WRONG_DESCRIPTOR', n.orderId, 'the order names another descriptor');
    const anchored = client.descriptor(n.descriptorId, n.descriptorProof);
    if (anchored instanceof LightError) return this.#refuse('UNPROVEN', n.orderId, anchored.message);
    if (anchored === null) return this.#refuse('WRONG_DESCRIPTOR', n.orderId, 'no such anchored descriptor');
    if (anchored.agreement !== this.#o.agreementId)
      return this.#refuse('NOT_MINE', n.orderId, "the anchor is not under this vehicle's agreement");
    let d: ReturnType<typeof openDescriptor>['descriptor'];
    try {
      d = openDescriptor(n.signedDescriptor).descriptor;
    } catch (e) {
      if (!(e instanceof DescriptorError || e instanceof CodecError)) throw e;
      return this.#refuse('WRONG_DESCRIPTOR', n.orderId, e.message);
    }
    if (!bytesEqual(d.merkleRoot, anchored.merkleRoot) || d.chunkIds.length !== anchored.chunkCount)
      return this.#refuse('WRONG_DESCRIPTOR', n.orderId, 'the signed descriptor is not the anchored one');
    if (!bytesEqual(d.devicePublicKey, this.#o.signer.publicKey) || d.vehicleId !== identity.vehicleId)
      return this.#refuse(
        'NOT_MINE',
        n.orderId,
        'the descriptor was not made by this device for this vehicle',
      );
    const keys: BundleKey[] = [];
    for (const s of d.streams) {
      if (s.privacy === 'private') continue;
      for (const epoch of s.keyEpochs)
        keys.push({
          stream: s.stream,
          dataClass: s.dataClass,
          epoch,
          key: deviceEpochKey(identity, s.dataClass, s.stream, epoch),
        });
    }
    if (keys.length === 0)
      return this.#refuse('NOTHING_TO_SELL', n.orderId, 'every stream of the descriptor is private');
    let wrappedKey: Uint8Array;
    try {
      // Deterministic for this device, order, buyer and keys (chain/data/key-bundle.ts), so the
      // bundle a fill committed to can be made again when the kept copy is lost.
      wrappedKey = sealKeyBundle(keys, fromHex(order.maker), fromHex(n.orderId), identity.deviceSecretKey);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      return this.#refuse('TOO_MANY_KEYS', n.orderId, e.message);
    }
    const nowMs = this.#o.nowMs();
    const commitment = fillCommitment(fromHex(n.orderId), wrappedKey);
    if (paid) {
      if (!bytesEqual(order.commitment, commitment)) {
        // Not this device's bundle: nothing to reveal, now or at the next announcement.
        store.setCursor(saleCursor(n.orderId), String(nowMs));
        store.setCursor(revealCursor(n.orderId), CLOSED);
        return this.#refuse('NOT_OPEN', n.orderId, 'the order was filled by someone else');
      }
      return this.#queueReveal(n.orderId, order.filledHeight, wrappedKey, true);
    }
    // The mark that the order is filled and the bundle to reveal later are written in the same
    // store transaction as the fill; the fill itself carries only the commitment.
    store.enqueueDeviceTx((nonce) => {
      store.setCursor(saleCursor(n.orderId), String(nowMs));
      store.setCursor(revealCursor(n.orderId), toHex(wrappedKey));
      return { kind: 'fill', bytes: this.#signed(nonce, 'fill', { order: n.orderId, commitment }) };
    }, nowMs);
    this.#o.onQueued?.();
    this.#o.metrics.inc('sales.filled');
    this.#o.logger.info(
      { order: n.orderId, buyer: order.maker, price: order.price.toString(), keys: keys.length },
      'order filled: keys wrapped to the buyer and kept; the fill (a commitment) queued for the chain',
    );
    return 'filled';
  }

  /**
   * Queues the reveal of a bundle this device committed to, once `order` (proven at a final height
   * by the caller) shows the fill applied with that commitment: the payment is then final.
   */
  #reveal(
    orderId: string,
    order: ReturnType<ChainView['client']['order']>,
    pendingHex: string,
  ): NoticeOutcome {
    if (order instanceof LightError || order === null || order.filledHeight === 0) return 'done';
    const wrappedKey = fromHex(pendingHex);
    if (!bytesEqual(order.commitment, fillCommitment(fromHex(orderId), wrappedKey))) {
      // Someone else (the owner) filled it; this device's bundle is not the one paid for.
      this.#o.store.setCursor(revealCursor(orderId), CLOSED);
      return this.#refuse('NOT_OPEN', orderId, 'the order was filled with another commitment');
    }
    if (!order.open) {
      this.#o.store.setCursor(revealCursor(orderId), CLOSED);
      return 'done';
    }
    return this.#queueReveal(orderId, order.filledHeight, wrappedKey, false);
  }

  /**
   * Whether a reveal queued at final height `queuedAt` must be made and queued again: the order,
   * proven at a final height, is still filled and open `revealRetryBlocks` later, and no reveal of
   * it waits in the outbox. A reveal can be lost after it left the device: a store recreated after
   * the fill signs it with a nonce the chain used already (the counter is raised only once the
   * chain proves the device's account, device-nonce.ts), or a node drops it. The buyer has paid, so
   * the device keeps revealing until the chain shows the keys delivered.
   */
  #revealAgain(orderId: string, order: ReturnType<ChainView['client']['order']>, queuedAt: number): boolean {
    if (order instanceof LightError || order === null || order.filledHeight === 0) return false;
    if (!order.open) {
      this.#o.store.setCursor(revealCursor(orderId), CLOSED);
      return false;
    }
    if (this.#o.view.client.head.height < queuedAt + (this.#o.revealRetryBlocks ?? 120)) return false;
    return !this.#revealWaiting(orderId);
  }

  /** Whether a reveal of `orderId` is still in the outbox. */
  #revealWaiting(orderId: string): boolean {
    for (const t of this.#o.store.pendingTxs(10_000)) {
      if (t.kind !== 'reveal') continue;
      const tx = decodeSignedTx(t.bytes).tx;
      if (tx.kind === 'reveal' && tx.body.order === orderId) return true;
    }
    return false;
  }

  /** Queues the reveal (and, for a bundle made again, the mark that the order was filled here). */
  #queueReveal(
    orderId: string,
    filledHeight: number,
    wrappedKey: Uint8Array,
    remade: boolean,
  ): NoticeOutcome {
    const nowMs = this.#o.nowMs();
    const store = this.#o.store;
    store.enqueueDeviceTx((nonce) => {
      if (remade) store.setCursor(saleCursor(orderId), String(nowMs));
      store.setCursor(revealCursor(orderId), `${REVEALED_AT}${this.#o.view.client.head.height}`);
      return { kind: 'reveal', bytes: this.#signed(nonce, 'reveal', { order: orderId, wrappedKey }) };
    }, nowMs);
    this.#o.onQueued?.();
    this.#o.metrics.inc('sales.revealed');
    this.#o.logger.info(
      { order: orderId, filledHeight, remade },
      remade
        ? 'fill final and its bundle made again after the store was recreated: keys revealed to the buyer'
        : 'fill final: keys revealed to the buyer, reveal queued for the chain',
    );
    return 'revealed';
  }

  #signed<K extends 'fill' | 'reveal'>(nonce: number, kind: K, body: TxBodies[K]): Uint8Array {
    const signer = this.#o.signer;
    return encodeSignedTx(
      signTx(
        {
          chainId: this.#o.chainId,
          kind,
          sender: toHex(signer.publicKey),
          nonce,
          fee: 0n,
          body,
        } as UnsignedTx,
        signer,
      ),
    );
  }

  #refuse(code: SaleRefusal, orderId: string | undefined, detail: string): SaleRefusal {
    this.#o.metrics.inc('sales.refused');
    this.#o.metrics.inc(`sales.refused.${code}`);
    this.#o.logger.warn({ code, order: orderId }, `order notice refused: ${detail}`);
    return code;
  }
}
