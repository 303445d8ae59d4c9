/**
 * The buyer's client (market/) over a real HTTP server on loopback: a FullNode that replayed a sale
 * and a SQLite ingest file with the device's sealed batch. Lists, orders, waits, fetches, checks and
 * decrypts (the exact samples that went in), splits; and each check of a purchase failing on its own
 * with its own code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeCanonical,
  fromHex,
  type Order,
  openDescriptor,
  signDescriptor,
  toHex,
  UNIT,
} from '../../../chain/index.js';
import {
  checkPurchase,
  type FetchedPurchase,
  MarketClient,
  MarketError,
  type PurchaseRecords,
} from '../../../market/index.js';
import { type ApiServer, startApiServer } from '../../../node/http/index.js';
import { AnchorIndex, type IngestStore } from '../../../node/ingest/index.js';
import type { FullNode } from '../../../node/runtime/index.js';
import {
  buildMarketSale,
  ingestStoreWith,
  type MarketSaleIds,
  marketParties,
  marketSecret,
  type SealedBatch,
  startObserverNode,
} from '../../support/market.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-market-client-'));
let node: FullNode;
let store: IngestStore;
let server: ApiServer;
let sold: SealedBatch;
let unanchored: SealedBatch;
let ids: MarketSaleIds;
let client: MarketClient;

beforeAll(async () => {
  const sale = buildMarketSale();
  ({ sold, unanchored, ids } = sale);
  node = await startObserverNode(sale.chain);
  store = ingestStoreWith(join(dir, 'ingest.db'), [sold, unanchored], Date.now());
  const index = new AnchorIndex({
    store,
    genesisId: toHex(node.genesisState.blockId),
    block: (h) => node.block(h),
    finalState: () => node.lastFinal.state,
  });
  index.catchUp(node.lastFinal.height);
  server = await startApiServer(node, '127.0.0.1', 0, { store, indexedHeight: () => index.height });
  client = new MarketClient({ nodeUrl: server.url, secretKey: marketSecret('buyer') });
});

afterAll(async () => {
  await server?.close();
  await node?.stop();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    if (err instanceof MarketError)
      return err.nodeCode === undefined ? err.code : `${err.code}/${err.nodeCode}`;
    throw err;
  }
  return 'resolved';
};
const sortSamples = <T extends { path: string; tUs: number }>(xs: readonly T[]) =>
  [...xs].sort((a, b) => (a.path === b.path ? a.tUs - b.tUs : a.path < b.path ? -1 : 1));

describe('MarketClient over HTTP', () => {
  it('lists descriptors with their anchors', async () => {
    const page = await client.listDescriptors({ location: '47.4' });
    expect(page.descriptors.map((d) => [d.id, d.anchor])).toEqual([[sold.batch.id, ids.anchor]]);
    expect((await client.listDescriptors()).descriptors).toHaveLength(2);
  });

  it('fetches, checks and decrypts a filled order: exactly the samples that went in', async () => {
    const p = await client.verifyAndDecrypt(ids.order);
    expect(sortSamples(p.samples)).toEqual(sortSamples(sold.samples));
    expect(p.samplesPerSignal).toEqual({
      'Vehicle.Speed': 60,
      'Vehicle.Powertrain.Transmission.CurrentGear': 60,
    });
    expect(p.chunks).toHaveLength(6);
    expect(p.descriptorId).toBe(sold.batch.id);
    expect(p.chainDescriptorId).toBe(ids.anchor);
    expect(p.checks).toHaveLength(6);
  });

  it('reports the split of the price by the agreement, with balances', async () => {
    const s = await client.split(ids.order);
    // Two filled orders of 10 QDD: 7 + 7 to the owner, 3 + 3 to the OEM.
    expect(s.shares.map((x) => [x.role, x.bps, x.amount, x.balance])).toEqual([
      ['owner', 7000, 7n * UNIT, 14n * UNIT],
      ['oem', 3000, 3n * UNIT, 6n * UNIT],
    ]);
    expect(s).toMatchObject({ price: 10n * UNIT, filled: true, filledHeight: 4 });
    expect((await client.split(ids.open)).shares.map((x) => x.amount)).toEqual([0n, 0n]);
  });

  it('places a buy order with the next nonce; refuses an unknown descriptor before sending', async () => {
    const before = node.mempoolSize;
    const placed = await client.order(ids.anchor, 5n * UNIT, 100);
    expect(placed).toMatchObject({ nonce: 3, fee: 0n, expiresHeight: 105 });
    expect(node.mempoolSize).toBe(before + 1);
    expect(await codeOf(client.order('ab'.repeat(32), UNIT))).toBe('MISSING_RECORD');
    // Not final yet: waiting runs out of time.
    expect(await codeOf(client.waitForFill(placed.orderId, 50, 10))).toBe('TIMEOUT');
  });

  it('returns a filled order from waitForFill and names refusals of the node', async () => {
    expect((await client.waitForFill(ids.order, 1000)).filledHeight).toBe(4);
    expect(await codeOf(client.verifyAndDecrypt(ids.open))).toBe('NOT_FILLED');
    expect(await codeOf(client.verifyAndDecrypt('cd'.repeat(32)))).toBe('UNKNOWN_ORDER');
    expect(await codeOf(client.fetch(ids.open))).toBe('NODE_REFUSED/NOT_FILLED');
    expect(await codeOf(client.fetch(ids.ghostOrder))).toBe('NODE_REFUSED/DESCRIPTOR_NOT_STORED');
    const stranger = new MarketClient({ nodeUrl: server.url, secretKey: marketSecret('stranger') });
    expect(await codeOf(stranger.fetch(ids.order))).toBe('NODE_REFUSED/NOT_THE_BUYER');
    expect(await codeOf(stranger.verifyAndDecrypt(ids.order))).toBe('NOT_THE_BUYER');
    const late = new MarketClient({
      nodeUrl: server.url,
      secretKey: marketSecret('buyer'),
      nowMs: () => Date.now() - 10 * 60_000,
    });
    expect(await codeOf(late.fetch(ids.order))).toBe('NODE_REFUSED/PROOF_EXPIRED');
    const nobody = new MarketClient({ nodeUrl: 'http://127.0.0.1:1', secretKey: marketSecret('buyer') });
    expect(await codeOf(nobody.listDescriptors())).toBe('UNREACHABLE');
  });
});

describe('checkPurchase: each check fails on its own', () => {
  let records: PurchaseRecords;
  let fetched: FetchedPurchase;
  beforeAll(async () => {
    records = await client.purchaseRecords(ids.order);
    fetched = await client.fetch(ids.order);
  });
  const check = (
    r: Partial<PurchaseRecords>,
    f: Partial<FetchedPurchase> = {},
    secret = marketSecret('buyer'),
  ) => {
    try {
      checkPurchase({ records: { ...records, ...r }, fetched: { ...fetched, ...f }, buyerSecretKey: secret });
      return 'ok';
    } catch (err) {
      return (err as MarketError).code;
    }
  };
  const resigned = (tamper: (d: ReturnType<typeof openDescriptor>['descriptor']) => object) =>
    signDescriptor(
      {
        ...openDescriptor(sold.batch.bytes).descriptor,
        ...tamper(openDescriptor(sold.batch.bytes).descriptor),
      },
      marketParties.device,
    ).bytes;

  it('passes as served', () => {
    expect(check({})).toBe('ok');
  });

  it('names the failed step', () => {
    const order: Order = records.order;
    expect(check({ order: { ...order, maker: toHex(marketParties.stranger.publicKey) } })).toBe(
      'NOT_THE_BUYER',
    );
    expect(check({ order: { ...order, filledHeight: 0 } })).toBe('NOT_FILLED');
    expect(check({}, {}, marketSecret('stranger'))).toBe('NOT_THE_BUYER');
    expect(check({ orderId: ids.open, order: { ...order } })).toBe('KEY_BUNDLE');
    const broken = Uint8Array.from(fetched.descriptor);
    broken[broken.length - 1]! ^= 1;
    expect(check({}, { descriptor: broken })).toBe('BAD_DESCRIPTOR');
    expect(check({}, { descriptor: unanchored.batch.bytes })).toBe('ANCHOR_MISMATCH');
    expect(check({}, { descriptor: resigned(() => ({ dictionaryId: 'other-dictionary' })) })).toBe(
      'ANCHOR_MISMATCH',
    );
    expect(check({}, { descriptor: resigned(() => ({ vehicleId: 'car-2' })) })).toBe('VEHICLE_MISMATCH');
    expect(check({ vehicle: { ...records.vehicle, devices: [] } })).toBe('DEVICE_NOT_BOUND');
    const swapped = fetched.chunks.map((c, i) => (i === 0 ? { ...c, id: fetched.chunks[1]!.id } : c));
    expect(check({}, { chunks: swapped })).toBe('CHUNK_ID');
    expect(
      check(
        {},
        { chunks: fetched.chunks.map((c, i) => (i === 0 ? { ...c, bytes: encodeCanonical([1]) } : c)) },
      ),
    ).toBe('CHUNK_ID');
  });

  it('lists every problem verifyBatch finds: a missing chunk and an altered ciphertext', () => {
    const altered = fetched.chunks.map((c, i) => {
      if (i === 1) return { ...c, bytes: undefined };
      if (i !== 4) return c;
      const b = Uint8Array.from(c.bytes!);
      b[b.length - 1]! ^= 0xff;
      return { ...c, bytes: b };
    });
    try {
      checkPurchase({
        records,
        fetched: { ...fetched, chunks: altered },
        buyerSecretKey: marketSecret('buyer'),
      });
      expect.unreachable();
    } catch (err) {
      const e = err as MarketError;
      expect(e.code).toBe('VERIFY_FAILED');
      expect(e.problems.join('\n')).toMatch(/missing/);
      expect(e.problems.join('\n')).toMatch(/ciphertext does not match/);
    }
    expect(fromHex(fetched.chunks[0]!.id)).toHaveLength(32);
  });
});
