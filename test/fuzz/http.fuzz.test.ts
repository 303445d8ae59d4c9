/**
 * Fuzzing the node's HTTP API as a client from outside reaches it: POST /tx bodies (signed
 * transaction bytes, `{"tx":"<hex>"}` JSON, garbage, either content type), and the GET routes of the
 * chain and of the market (paths, query strings and fetch-proof headers, mutated from valid ones),
 * on a real node with a storage role on a real SQLite file. Every request gets a response with a
 * known status and a JSON-serialisable body (errors with a code and a message); nothing throws.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchProofHeaders, fromHex, toHex } from '../../chain/index.js';
import { type ApiRequest, type ApiResponse, handleApi, type MarketContext } from '../../node/http/index.js';
import { AnchorIndex, type IngestStore } from '../../node/ingest/index.js';
import type { FullNode } from '../../node/runtime/index.js';
import { fuzz, mutatedBytes, mutatedCbor, mutatedText, TRICKY_TOKENS } from '../support/fuzz.js';
import { buildMarketSale, ingestStoreWith, marketParties, startObserverNode } from '../support/market.js';
import { projectRoot } from '../support/system.js';

const NOW = 1_800_000_100_000;
const dir = mkdtempSync(join(tmpdir(), 'qood-fuzz-http-'));
let node: FullNode;
let store: IngestStore;
let ctx: MarketContext;
const ids: Record<string, string> = {};
let descriptorId = '';

beforeAll(async () => {
  const sale = buildMarketSale();
  Object.assign(ids, sale.ids);
  node = await startObserverNode(sale.chain);
  store = ingestStoreWith(join(dir, 'ingest.db'), [sale.sold, sale.unanchored], NOW);
  const index = new AnchorIndex({
    store,
    genesisId: toHex(node.genesisState.blockId),
    block: (h) => node.block(h),
    finalState: () => node.lastFinal.state,
  });
  index.catchUp(node.lastFinal.height);
  ctx = { store, nowMs: () => NOW, indexedHeight: () => index.height };
  descriptorId = sale.sold.batch.id;
});

afterAll(async () => {
  await node?.stop();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const STATUSES = [200, 202, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429, 503];

/** Answers `req` and checks the response is well formed. */
function answer(req: ApiRequest): ApiResponse {
  const r = handleApi(node, req, ctx);
  expect(STATUSES, `${req.method} ${req.path}?${req.query ?? ''} -> ${r.status}`).toContain(r.status);
  if (r.body instanceof Uint8Array) expect(r.contentType).toBeDefined();
  else {
    const text = JSON.stringify(r.body);
    expect(() => JSON.parse(text)).not.toThrow();
    if (r.status >= 400) {
      const e = (r.body as { error?: { code?: unknown; message?: unknown } }).error;
      expect(typeof e?.code).toBe('string');
      expect(typeof e?.message).toBe('string');
    }
  }
  return r;
}

const txv = JSON.parse(readFileSync(join(projectRoot(), 'test', 'vectors', 'chain-tx.json'), 'utf8')) as {
  txs: { signed: string }[];
};
const signedTxs = txv.txs.slice(0, 8).map((t) => fromHex(t.signed));
const utf8 = new TextEncoder();

describe('POST /tx', () => {
  it('any body in either content type: accepted, or refused with a code and a message', () => {
    const body = fc.oneof(
      { weight: 3, arbitrary: mutatedCbor(signedTxs).map((b) => ({ type: 'application/cbor', b })) },
      {
        weight: 2,
        arbitrary: mutatedText(signedTxs.map((t) => JSON.stringify({ tx: toHex(t) }))).map((s) => ({
          type: 'application/json',
          b: utf8.encode(s),
        })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constantFrom('application/json', 'application/cbor', 'text/plain', ''),
            fc.uint8Array({ maxLength: 300 }),
          )
          .map(([type, b]) => ({ type, b })),
      },
    );
    fuzz(400, [body], ({ type, b }) => {
      answer({ method: 'POST', path: '/tx', contentType: type, body: b });
    });
  });
});

describe('GET routes of the chain and the market', () => {
  it('any path, query and fetch-proof headers: a response with a known status, never an exception', () => {
    const paths = () => [
      '/status',
      '/finality',
      '/checkpoint',
      '/blocks/1',
      `/accounts/${'ab'.repeat(32)}/next-free-tx`,
      '/state/supply',
      '/market/descriptors',
      `/market/descriptors/${descriptorId}`,
      `/market/orders/${ids.order}/chunks`,
      `/market/orders/${ids.open}/chunks`,
    ];
    const queries = [
      'vehicle=car-1&dictionary=qood-vss-6.0%2Bobd-4.0&from=0&to=9&location=47.4&after=1&limit=10',
      'after=0&limit=3',
      '',
    ];
    const headerSamples = [
      fetchProofHeaders(marketParties.buyer, ids.order ?? '', NOW),
      fetchProofHeaders(marketParties.stranger, ids.order ?? '', NOW - 10 * 60_000),
    ];
    const headers = fc.oneof(
      fc.constantFrom(...headerSamples),
      fc
        .tuple(fc.constantFrom(...headerSamples), fc.nat(), fc.constantFrom(...TRICKY_TOKENS))
        .map(([h, i, v]) => {
          const keys = Object.keys(h);
          return { ...h, [keys[i % keys.length]!]: v };
        }),
    );
    fuzz(
      600,
      [
        mutatedText(paths()),
        mutatedText(queries),
        headers,
        fc.constantFrom('GET', 'GET', 'GET', 'POST', 'DELETE', 'get'),
      ],
      (path, query, h, method) => {
        answer({
          method,
          path: path.startsWith('/') ? path : `/${path}`,
          query,
          headers: h as Record<string, string>,
          contentType: '',
          body: new Uint8Array(),
        });
      },
    );
  });

  it('raw bodies on the market routes are ignored or refused', () => {
    fuzz(100, [mutatedBytes(signedTxs)], (b) => {
      answer({ method: 'POST', path: '/market/descriptors', contentType: 'application/cbor', body: b });
    });
  });
});
