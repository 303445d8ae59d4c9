/**
 * The storage role's routes (node/http/market-api.ts) against a FullNode that replayed a real
 * chain (vehicle, bound device, agreement, anchors, orders, fills) and a real SQLite ingest file
 * holding a device's sealed batch: the listing and its anchors, the signed descriptor, the chunks of
 * a filled order to its buyer, and every refusal with its own code and status.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeCanonical,
  decodeUpdate,
  FETCH_HEADERS,
  fetchProofHeaders,
  toHex,
} from '../../../../chain/index.js';
import { type ApiResponse, handleApi, type MarketContext } from '../../../../node/http/index.js';
import { AnchorIndex, IngestStore } from '../../../../node/ingest/index.js';
import type { FullNode } from '../../../../node/runtime/index.js';
import {
  buildMarketSale,
  ingestStoreWith,
  marketParties,
  type SealedBatch,
  startObserverNode,
} from '../../../support/market.js';

const NOW = 1_800_000_100_000;
const { buyer, stranger } = marketParties;
const dir = mkdtempSync(join(tmpdir(), 'qood-market-api-'));

let node: FullNode;
let store: IngestStore;
let ctx: MarketContext;
let sold: SealedBatch;
let unanchored: SealedBatch;
const ids = { anchor: '', ghost: '', order: '', open: '', ghostOrder: '', sell: '' };

beforeAll(async () => {
  const sale = buildMarketSale();
  ({ sold, unanchored } = sale);
  Object.assign(ids, sale.ids);
  const chain = sale.chain;
  node = await startObserverNode(chain);
  store = ingestStoreWith(join(dir, 'ingest.db'), [sold, unanchored], NOW);
  const index = new AnchorIndex({
    store,
    genesisId: toHex(node.genesisState.blockId),
    block: (h) => node.block(h),
    finalState: () => node.lastFinal.state,
  });
  index.catchUp(node.lastFinal.height);
  ctx = { store, nowMs: () => NOW, indexedHeight: () => index.height };
});

afterAll(async () => {
  await node?.stop();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, query = '', headers: Record<string, string> = {}, c = ctx): ApiResponse {
  return handleApi(node, { method: 'GET', path, query, headers, contentType: '', body: new Uint8Array() }, c);
}

const errorOf = (r: ApiResponse) => [r.status, (r.body as { error: { code: string } }).error.code];
const chunksPath = (order: string) => `/market/orders/${order}/chunks`;
const proof = (order: string, signer = buyer, timeMs = NOW) => fetchProofHeaders(signer, order, timeMs);

interface Listing {
  descriptors: {
    id: string;
    anchor: string | null;
    ord: number;
    chunkCount: number;
    coarseLocation: string;
  }[];
  next: number | null;
  finalHeight: number;
  indexedHeight: number;
}

describe('GET /market/descriptors', () => {
  it('lists stored descriptors with their public fields and the final anchor of their root', () => {
    expect(node.lastFinal.height).toBe(5);
    const r = get('/market/descriptors');
    expect(r.status).toBe(200);
    const body = r.body as Listing;
    expect(body.descriptors.map((d) => [d.id, d.anchor])).toEqual([
      [sold.batch.id, ids.anchor],
      [unanchored.batch.id, null],
    ]);
    expect(body.descriptors[0]).toMatchObject({
      vehicleId: 'car-1',
      dictionary: 'qood-vss-6.0+obd-4.0',
      dataClass: 'owner',
      chunkCount: 6,
      coarseLocation: '47.4,8.5',
      merkleRoot: toHex(sold.batch.descriptor.merkleRoot),
      anchorHeight: 2,
    });
    expect(body).toMatchObject({ next: null, finalHeight: 5, indexedHeight: 5 });
  });

  it('narrows by location prefix, time overlap, root and vehicle, and pages with after', () => {
    const ids_ = (q: string) => (get('/market/descriptors', q).body as Listing).descriptors.map((d) => d.id);
    expect(ids_('location=52.5')).toEqual([unanchored.batch.id]);
    expect(ids_(`from=${1_700_000_600_000}`)).toEqual([unanchored.batch.id]);
    expect(ids_(`to=${1_700_000_010_000}`)).toEqual([sold.batch.id]);
    expect(ids_(`root=${toHex(sold.batch.descriptor.merkleRoot)}`)).toEqual([sold.batch.id]);
    expect(ids_('vehicle=car-2')).toEqual([]);
    const first = get('/market/descriptors', 'limit=1').body as Listing;
    expect(first.descriptors).toHaveLength(1);
    expect(first.next).toBe(first.descriptors[0]!.ord);
    expect(ids_(`limit=1&after=${first.next}`)).toEqual([unanchored.batch.id]);
  });

  it('refuses an unknown parameter or a bad value, naming it', () => {
    expect(errorOf(get('/market/descriptors', 'colour=red'))).toEqual([400, 'BAD_QUERY']);
    const r = get('/market/descriptors', 'limit=0');
    expect(errorOf(r)).toEqual([400, 'BAD_QUERY']);
    expect(JSON.stringify(r.body)).toContain("limit='0'");
    expect(errorOf(get('/market/descriptors', 'root=xyz'))).toEqual([400, 'BAD_QUERY']);
  });
});

describe('GET /market/descriptors/<id>', () => {
  it('serves the signed descriptor as CBOR', () => {
    const r = get(`/market/descriptors/${sold.batch.id}`);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/cbor');
    expect(Buffer.from(r.body as Uint8Array).equals(Buffer.from(sold.batch.bytes))).toBe(true);
  });

  it('says 404 for an unknown id and 400 for a malformed one', () => {
    expect(errorOf(get(`/market/descriptors/${'ab'.repeat(32)}`))).toEqual([404, 'UNKNOWN_DESCRIPTOR']);
    expect(errorOf(get('/market/descriptors/nope'))).toEqual([400, 'BAD_DESCRIPTOR_ID']);
    expect(errorOf(get('/market/descriptors/%zz'))).toEqual([400, 'BAD_DESCRIPTOR_ID']);
    expect(errorOf(get('/market/orders/%E0%A4%A/chunks'))).toEqual([400, 'BAD_ORDER_ID']);
  });
});

describe('GET /market/orders/<id>/chunks', () => {
  const entries = (r: ApiResponse) =>
    (decodeCanonical(r.body as Uint8Array) as [Uint8Array, Uint8Array | null][]).map(([id, b]) => [
      toHex(id),
      b === null ? null : toHex(b),
    ]);
  const expected = () => {
    const byId = new Map(sold.chunks.map((c) => [c.id, toHex(c.bytes)]));
    return sold.batch.descriptor.chunkIds.map((id) => [toHex(id), byId.get(toHex(id))]);
  };

  it('serves the filled order’s sealed chunks to its buyer, in the descriptor’s order', () => {
    const r = get(chunksPath(ids.order), '', proof(ids.order));
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/cbor');
    expect(r.headers).toEqual({ 'x-qood-descriptor': sold.batch.id, 'x-qood-chunk-count': '6' });
    expect(entries(r)).toEqual(expected());
  });

  it('pages with after and limit, naming where to continue', () => {
    const h = proof(ids.order);
    const p1 = get(chunksPath(ids.order), 'limit=4', h);
    expect(p1.headers?.['x-qood-next-after']).toBe('3');
    const p2 = get(chunksPath(ids.order), 'after=3&limit=4', h);
    expect(p2.headers?.['x-qood-next-after']).toBeUndefined();
    expect([...entries(p1), ...entries(p2)]).toEqual(expected());
    expect(errorOf(get(chunksPath(ids.order), 'limit=5000', h))).toEqual([400, 'BAD_QUERY']);
  });

  it('refuses each failed check with its own code and status', () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ['not-hex', {}, 400, 'BAD_ORDER_ID'],
      [ids.order, {}, 401, 'PROOF_MISSING'],
      [ids.order, { ...proof(ids.order), [FETCH_HEADERS.time]: String(NOW + 1) }, 401, 'BAD_PROOF_SIGNATURE'],
      [ids.order, proof(ids.open), 401, 'BAD_PROOF_SIGNATURE'],
      [ids.order, proof(ids.order, buyer, NOW - 5 * 60_000 - 1), 401, 'PROOF_EXPIRED'],
      [ids.order, proof(ids.order, buyer, NOW + 5 * 60_000 + 1), 401, 'PROOF_EXPIRED'],
      ['cd'.repeat(32), proof('cd'.repeat(32)), 404, 'UNKNOWN_ORDER'],
      [ids.sell, proof(ids.sell), 403, 'NOT_A_BUY_ORDER'],
      [ids.order, proof(ids.order, stranger), 403, 'NOT_THE_BUYER'],
      [ids.open, proof(ids.open), 403, 'NOT_FILLED'],
      [ids.ghostOrder, proof(ids.ghostOrder), 404, 'DESCRIPTOR_NOT_STORED'],
    ];
    for (const [order, headers, status, code] of cases)
      expect(errorOf(get(chunksPath(order), '', headers)), `${code}`).toEqual([status, code]);
    // At the edge of the window the proof still counts.
    expect(get(chunksPath(ids.order), '', proof(ids.order, buyer, NOW - 5 * 60_000)).status).toBe(200);
  });

  it('marks a listed chunk the node does not hold with null', () => {
    const partial = new IngestStore({ path: join(dir, 'partial.db') });
    const missing = sold.chunks[2]!;
    partial.putBatch(
      sold.chunks
        .filter((c) => c !== missing)
        .map((c) => ({ id: c.id, vehicleId: c.vehicleId, stream: c.stream, seq: c.seq, bytes: c.bytes })),
      NOW,
    );
    partial.putDescriptors(
      [
        {
          id: sold.batch.id,
          vehicleId: 'car-1',
          createdMs: 0,
          chunkIds: sold.batch.descriptor.chunkIds.map(toHex),
          bytes: sold.batch.bytes,
        },
      ],
      NOW,
    );
    const r = get(chunksPath(ids.order), '', proof(ids.order), { store: partial, nowMs: () => NOW });
    partial.close();
    const got = entries(r);
    expect(got.filter(([, b]) => b === null).map(([id]) => id)).toEqual([missing.id]);
    expect(got).toHaveLength(6);
  });
});

describe('the storage role', () => {
  it('is absent without an ingest store', () => {
    const bare = { method: 'GET', path: '/market/descriptors', contentType: '', body: new Uint8Array() };
    expect(errorOf(handleApi(node, bare))).toEqual([404, 'NO_STORAGE_ROLE']);
    expect(
      errorOf(
        handleApi(
          node,
          { method: 'POST', path: '/market/descriptors', contentType: '', body: new Uint8Array() },
          ctx,
        ),
      ),
    ).toEqual([405, 'METHOD_NOT_ALLOWED']);
  });

  it('resumes its anchor index from the cursor and drops an index of another chain', () => {
    const genesisId = toHex(node.genesisState.blockId);
    const again = new AnchorIndex({
      store,
      genesisId,
      block: (h) => node.block(h),
      finalState: () => node.lastFinal.state,
    });
    expect(again.height).toBe(5);
    expect(again.catchUp(4)).toBe(0);
    expect(store.anchorsOfRoot(toHex(sold.batch.descriptor.merkleRoot)).map((a) => a.chainId)).toEqual([
      ids.anchor,
    ]);
    const path = join(dir, 'other.db');
    const other = ingestStoreWith(path, [sold], NOW);
    other.putAnchors('ff'.repeat(32), [], 9);
    const fresh = new AnchorIndex({
      store: other,
      genesisId,
      block: (h) => node.block(h),
      finalState: () => node.lastFinal.state,
    });
    expect(fresh.height).toBe(0);
    expect(fresh.catchUp(4)).toBe(2);
    other.close();
  });
});

describe('GET /light/state', () => {
  it('answers a light-client update that proves each asked key, and refuses bad queries', () => {
    const r = get('/light/state', `key=order/${ids.order}&key=acct/${'ab'.repeat(32)}`);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/cbor');
    const u = decodeUpdate(r.body as Uint8Array);
    expect(u.header.height).toBe(node.lastFinal.height);
    expect(u.proofs.map((p) => [p.key, p.value === null])).toEqual([
      [`order/${ids.order}`, false],
      [`acct/${'ab'.repeat(32)}`, true],
    ]);
    expect(errorOf(get('/light/state', ''))).toEqual([400, 'BAD_QUERY']);
    expect(errorOf(get('/light/state', 'colour=red'))).toEqual([400, 'BAD_QUERY']);
    expect(errorOf(get('/light/state', 'key=../etc'))).toEqual([400, 'BAD_KEY']);
    expect(errorOf(get('/light/state', Array(17).fill('key=supply').join('&')))).toEqual([400, 'BAD_QUERY']);
  });
});
