/**
 * Issue 14 (smaller holes): private descriptors are neither listed by GET /market/descriptors nor
 * served by id to anyone but the vehicle's owner, through the real node HTTP server (node:http on
 * a free port) over a FullNode that replayed a real chain and a real SQLite ingest file holding a
 * normal and a private batch of the same vehicle.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerReadHeaders, toHex } from '../../../../chain/index.js';
import { type ApiServer, startApiServer } from '../../../../node/http/index.js';
import type { IngestStore } from '../../../../node/ingest/index.js';
import type { FullNode } from '../../../../node/runtime/index.js';
import {
  buildMarketSale,
  ingestStoreWith,
  MARKET_VEHICLE,
  marketParties,
  type SealedBatch,
  sealMarketBatch,
  startObserverNode,
} from '../../../support/market.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-private-desc-'));
const { owner, buyer, stranger } = marketParties;
let node: FullNode;
let store: IngestStore;
let server: ApiServer;
let sold: SealedBatch;
let secret: SealedBatch;

beforeAll(async () => {
  const sale = buildMarketSale();
  sold = sale.sold;
  secret = sealMarketBatch({ privacy: 'private', t0Us: 1_700_000_900_000_000, coarseLocation: '47.4,8.5' });
  node = await startObserverNode(sale.chain);
  store = ingestStoreWith(join(dir, 'ingest.db'), [sold, secret], Date.now());
  server = await startApiServer(node, '127.0.0.1', 0, { store });
});

afterAll(async () => {
  await server?.close();
  await node?.stop();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function listed(query: string, headers: Record<string, string> = {}): Promise<string[]> {
  const r = await fetch(`${server.url}/market/descriptors?${query}`, { headers });
  expect(r.status).toBe(200);
  return ((await r.json()) as { descriptors: { id: string }[] }).descriptors.map((d) => d.id);
}

describe('private descriptors on the node HTTP API', () => {
  it('private descriptors are not listed by GET /market/descriptors nor served to anyone but the owner', async () => {
    // Anyone: only the normal batch, whatever the filters.
    expect(await listed('')).toEqual([sold.batch.id]);
    expect(await listed(`vehicle=${MARKET_VEHICLE}`)).toEqual([sold.batch.id]);
    expect(await listed(`root=${toHex(secret.batch.descriptor.merkleRoot)}`)).toEqual([]);
    const byId = await fetch(`${server.url}/market/descriptors/${secret.batch.id}`);
    expect(byId.status).toBe(404);
    expect(((await byId.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_DESCRIPTOR');
    // A buyer or a stranger signing as if it were the owner sees no more (and is told so).
    for (const who of [buyer, stranger]) {
      const h = ownerReadHeaders(who, MARKET_VEHICLE, 'descriptors', Date.now());
      const r = await fetch(`${server.url}/market/descriptors?vehicle=${MARKET_VEHICLE}`, { headers: h });
      expect(r.status).toBe(401);
      const one = await fetch(`${server.url}/market/descriptors/${secret.batch.id}`, {
        headers: ownerReadHeaders(who, MARKET_VEHICLE, secret.batch.id, Date.now()),
      });
      expect(one.status).toBe(404);
    }
    // The vehicle's owner (on the final chain) lists and reads its private descriptor.
    const mine = ownerReadHeaders(owner, MARKET_VEHICLE, 'descriptors', Date.now());
    expect(await listed(`vehicle=${MARKET_VEHICLE}`, mine)).toEqual([sold.batch.id, secret.batch.id]);
    // A proof for the listing does not open a descriptor by id, nor one from long ago.
    expect(
      (await fetch(`${server.url}/market/descriptors/${secret.batch.id}`, { headers: mine })).status,
    ).toBe(404);
    const old = ownerReadHeaders(owner, MARKET_VEHICLE, secret.batch.id, Date.now() - 3_600_000);
    expect(
      (await fetch(`${server.url}/market/descriptors/${secret.batch.id}`, { headers: old })).status,
    ).toBe(404);
    const r = await fetch(`${server.url}/market/descriptors/${secret.batch.id}`, {
      headers: ownerReadHeaders(owner, MARKET_VEHICLE, secret.batch.id, Date.now()),
    });
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.from(secret.batch.bytes))).toBe(true);
  });
});
