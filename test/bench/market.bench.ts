/**
 * The storage role and the buyer's checks, on a sale of 64 sealed chunks (2 streams x 32, 100
 * samples each) replayed by a FullNode with a real SQLite ingest file:
 * - serving an order's chunks (purchase proof, final-state checks, paging, CBOR) against the floor
 *   of reading the same page from SQLite;
 * - the buyer's whole check of a purchase (order, key bundle, anchor, bound device, content ids,
 *   verifyBatch) against the floor of verifyBatch alone with the same keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Agreement,
  type AnchoredDescriptor,
  bundleLookup,
  decodeCanonical,
  fetchProofHeaders,
  getRecord,
  type Order,
  stateKey,
  toHex,
  type Vehicle,
  verifyBatch,
} from '../../chain/index.js';
import { checkPurchase, type FetchedPurchase, type PurchaseRecords } from '../../market/index.js';
import { handleApi } from '../../node/http/index.js';
import { AnchorIndex, type IngestStore } from '../../node/ingest/index.js';
import type { FullNode } from '../../node/runtime/index.js';
import {
  buildMarketSale,
  ingestStoreWith,
  marketParties,
  marketSecret,
  ownerBundleKeys,
  startObserverNode,
} from '../support/market.js';
import type { BenchSuite } from './harness.js';

const REPEAT = 20;
let node: FullNode | undefined;
let store: IngestStore | undefined;
let dir: string | undefined;

/** The purchase's records from the node's final state (what the client reads over HTTP). */
function purchaseRecords(n: FullNode, orderId: string): PurchaseRecords {
  const tree = n.lastFinal.state.tree;
  const order = getRecord<Order>(tree, stateKey.order(orderId))!;
  const anchored = getRecord<AnchoredDescriptor>(tree, stateKey.descriptor(order.descriptor))!;
  const agreement = getRecord<Agreement>(tree, stateKey.agreement(anchored.agreement))!;
  const vehicle = getRecord<Vehicle>(tree, stateKey.vehicle(agreement.vehicle))!;
  return { orderId, order, anchored, agreement, vehicle };
}

export const suite: BenchSuite = {
  name: 'market',
  figures: async () => {
    const sale = buildMarketSale({ chunksPerStream: 32, samplesPerChunk: 100 });
    const { sold, ids } = sale;
    node = await startObserverNode(sale.chain);
    const n = node;
    dir = mkdtempSync(join(tmpdir(), 'qood-market-bench-'));
    const s = ingestStoreWith(join(dir, 'ingest.db'), [sold], Date.now());
    store = s;
    new AnchorIndex({
      store: s,
      genesisId: toHex(n.genesisState.blockId),
      block: (h) => n.block(h),
      finalState: () => n.lastFinal.state,
    }).catchUp(n.lastFinal.height);
    const bytes = sold.chunks.reduce((x, c) => x + c.bytes.length, 0);
    const mbps = (t0: number) => (bytes * REPEAT) / 1e6 / ((performance.now() - t0) / 1000);
    const serve = () => {
      const headers = fetchProofHeaders(marketParties.buyer, ids.order, Date.now());
      return handleApi(
        n,
        {
          method: 'GET',
          path: `/market/orders/${ids.order}/chunks`,
          headers,
          contentType: '',
          body: new Uint8Array(),
        },
        { store: s },
      );
    };
    const records = purchaseRecords(n, ids.order);
    const page = decodeCanonical(serve().body as Uint8Array) as [Uint8Array, Uint8Array][];
    const fetched: FetchedPurchase = {
      descriptorId: sold.batch.id,
      descriptor: sold.batch.bytes,
      chunks: page.map(([id, b]) => ({ id: toHex(id), bytes: b })),
    };
    const keys = bundleLookup(ownerBundleKeys(sold.batch));
    const samples = sold.samples.length;
    return [
      {
        name: `serve an order's ${page.length} chunks (proof, checks, CBOR)`,
        unit: 'MB/s',
        measure: () => {
          const t0 = performance.now();
          for (let r = 0; r < REPEAT; r++) serve();
          return mbps(t0);
        },
        floor: {
          name: 'read the page from SQLite',
          measure: () => {
            const t0 = performance.now();
            for (let r = 0; r < REPEAT; r++) s.chunksOfDescriptorPage(sold.batch.id, -1, 256);
            return mbps(t0);
          },
        },
      },
      {
        name: 'buyer: check a purchase and decrypt',
        unit: 'samples/s',
        measure: () => {
          const t0 = performance.now();
          checkPurchase({ records, fetched, buyerSecretKey: marketSecret('buyer') });
          return samples / ((performance.now() - t0) / 1000);
        },
        floor: {
          name: 'verifyBatch alone',
          measure: () => {
            const t0 = performance.now();
            verifyBatch({
              descriptor: fetched.descriptor,
              chunks: fetched.chunks.map((c) => c.bytes!),
              keys,
            });
            return samples / ((performance.now() - t0) / 1000);
          },
        },
      },
    ];
  },
  teardown: async () => {
    await node?.stop();
    store?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  },
};
