/**
 * `DeviceLink`: the full node's side of the device link over MQTT, joining the chain role and
 * the ingest role of one `qood node`. It publishes finality updates with proofs of the grant
 * records the chain changed (finality-publisher.ts) on the ingest's broker connection, and submits
 * devices' queued chain transactions from the ingest database to the node's mempool
 * (tx-forwarder.ts). Counters go to `onCount`; `status()` is what `qood status` shows.
 */
import { stateKey } from '../../chain/index.js';
import type { IngestLink } from '../ingest/link.js';
import type { FullNode } from '../runtime/full-node.js';
import { DEVICE_LINK_COUNTERS, type DeviceLinkCounter, type DeviceLinkLogger } from './counters.js';
import { FinalityPublisher } from './finality-publisher.js';
import { OrderNotices, type OrderNoticesOptions } from './order-notices.js';
import { type ChainSource, nodeSink, nodeSource, type TxSink } from './source.js';
import { type SubmissionStore, TxForwarder } from './tx-forwarder.js';

export interface DeviceLinkOptions {
  /** The ingest's broker connection (finality updates go out on it). */
  readonly link: IngestLink;
  /** The chain role's node; or `source` and `sink` for tests. */
  readonly node?: FullNode;
  readonly source?: ChainSource;
  readonly sink?: TxSink;
  /** The ingest database (queued transactions and the submission records). */
  readonly ingestStore: SubmissionStore;
  readonly logger: DeviceLinkLogger;
  /** First topic levels, as the ingest's (default `qood/v1`). */
  readonly topicPrefix?: string;
  /** How often queued transactions are read, ms (default 500). */
  readonly pollMs?: number;
  /** Delay before a failed finality publish is retried, ms (default 1000). */
  readonly retryMs?: number;
  /** Final blocks before an admitted transaction not final is looked at again (default 20). */
  readonly inclusionTimeoutBlocks?: number;
  /** Blocks a transaction waits for a predecessor not queued here (default 10). */
  readonly gapWaitBlocks?: number;
  readonly nowMs?: () => number;
  /** Called with a counter name and the amount, e.g. to mirror into the process metrics. */
  readonly onCount?: (name: DeviceLinkCounter, by: number) => void;
  /**
   * With it, final buy orders for descriptors of these vehicles (config ids, the ingest's device
   * keys) are announced to their devices with proofs (order-notices.ts).
   */
  readonly orders?: {
    readonly vehicleIds: readonly string[];
    /** Config ids of further chain vehicle ids (the ingest's device registry). */
    readonly vehicleOf?: OrderNoticesOptions['vehicleOf'];
    readonly store: OrderNoticesOptions['store'];
  };
}

export class DeviceLink {
  readonly publisher: FinalityPublisher;
  readonly forwarder: TxForwarder;
  readonly notices: OrderNotices | undefined;
  readonly #source: ChainSource;
  #offNotices: (() => void) | undefined;
  readonly #counters = new Map<DeviceLinkCounter, number>(DEVICE_LINK_COUNTERS.map((c) => [c, 0]));
  #running = false;

  /** Throws RangeError without a node or both a source and a sink. */
  constructor(options: DeviceLinkOptions) {
    const o = options;
    const source = o.source ?? (o.node === undefined ? undefined : nodeSource(o.node));
    const sink = o.sink ?? (o.node === undefined ? undefined : nodeSink(o.node));
    if (source === undefined || sink === undefined)
      throw new RangeError('DeviceLink needs a node (or a source and a sink)');
    const count = (name: DeviceLinkCounter, by = 1) => {
      if (by === 0) return;
      this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
      o.onCount?.(name, by);
    };
    this.publisher = new FinalityPublisher({
      source,
      publish: (topic, payload, po) => o.link.publish(topic, payload, po),
      topicPrefix: o.topicPrefix ?? 'qood/v1',
      logger: o.logger,
      count,
      ...(o.retryMs === undefined ? {} : { retryMs: o.retryMs }),
    });
    this.#source = source;
    this.notices =
      o.orders === undefined
        ? undefined
        : new OrderNotices({
            link: o.link,
            store: o.orders.store,
            vehicleIds: o.orders.vehicleIds,
            ...(o.orders.vehicleOf === undefined ? {} : { vehicleOf: o.orders.vehicleOf }),
            topicPrefix: o.topicPrefix ?? 'qood/v1',
            logger: o.logger,
            // Orders open before this node started are found in the final chain it holds.
            block: (h) => source.block(h),
            onCount: (what) => count(`bridge.orders.${what}`),
          });
    this.forwarder = new TxForwarder({
      store: o.ingestStore,
      sink,
      onFinality: (l) => source.onFinality(l),
      logger: o.logger,
      count,
      ...(o.pollMs === undefined ? {} : { pollMs: o.pollMs }),
      ...(o.inclusionTimeoutBlocks === undefined ? {} : { inclusionTimeoutBlocks: o.inclusionTimeoutBlocks }),
      ...(o.gapWaitBlocks === undefined ? {} : { gapWaitBlocks: o.gapWaitBlocks }),
      ...(o.nowMs === undefined ? {} : { nowMs: o.nowMs }),
      onSender: (sender) => this.publisher.prove(stateKey.account(sender)),
    });
  }

  /** Starts publishing finality and forwarding transactions. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.publisher.start();
    this.forwarder.start();
    const notices = this.notices;
    if (notices !== undefined)
      this.#offNotices = this.#source.onFinality((e) => {
        const final = this.#source.lastFinal.state;
        for (const f of e.blocks) notices.onFinalTxs(this.#source.block(f.height)?.txs ?? [], final);
      });
  }

  /** Stops both; the link and the stores stay open (the caller's to close). */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#offNotices?.();
    this.forwarder.stop();
    this.publisher.stop();
  }

  /** The counters so far. */
  counters(): Readonly<Record<DeviceLinkCounter, number>> {
    return Object.fromEntries(this.#counters) as Record<DeviceLinkCounter, number>;
  }

  /** What `qood status` shows of the bridge. */
  status(): { publishedHeight: number; pendingProofs: number; txsWaiting: number; txsAdmitted: number } {
    const p = this.forwarder.pending();
    return {
      publishedHeight: this.publisher.publishedHeight,
      pendingProofs: this.publisher.pendingProofs,
      txsWaiting: p.waiting,
      txsAdmitted: p.admitted,
    };
  }
}
