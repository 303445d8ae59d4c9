/**
 * Issue 14 (smaller holes): the buyer's client no longer trusts its node's state answers. A node
 * that lies about a record (an order it reports filled that was never filled, a balance it reports
 * higher) is caught: every record the client reads comes with a finality certificate and a Merkle
 * proof that its light client checks, and a lie is a MarketError (UNPROVEN). The liar is a real
 * HTTP proxy in front of a real node's API server, rewriting the answers on their way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CanonicalValue,
  decodeCanonical,
  decodeUpdate,
  encodeCanonical,
  encodeUpdate,
  fromHex,
  toHex,
  UNIT,
} from '../../../chain/index.js';
import { MarketClient, MarketError } from '../../../market/index.js';
import { type ApiServer, startApiServer } from '../../../node/http/index.js';
import type { IngestStore } from '../../../node/ingest/index.js';
import type { FullNode } from '../../../node/runtime/index.js';
import {
  buildMarketSale,
  ingestStoreWith,
  type MarketSaleIds,
  marketParties,
  marketSecret,
  startObserverNode,
} from '../../support/market.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-lying-node-'));
let node: FullNode;
let store: IngestStore;
let server: ApiServer;
let liar: Server;
let liarUrl = '';
let ids: MarketSaleIds;
const owner = toHex(marketParties.owner.publicKey);

/** The committed bytes of a record with positions changed (records are positional CBOR arrays). */
function altered(value: Uint8Array, changes: Record<number, CanonicalValue>): Uint8Array {
  const a = [...(decodeCanonical(value) as CanonicalValue[])];
  for (const [i, v] of Object.entries(changes)) a[Number(i)] = v;
  return encodeCanonical(a);
}

/** The lies, by state key: the open order reported filled and revealed, the owner 1000 QDD richer. */
function lie(key: string, value: Uint8Array | null): Uint8Array | null {
  if (value === null) return null;
  if (key === `order/${ids.open}`) return altered(value, { 5: false, 7: new Uint8Array(96).fill(7), 8: 4 });
  if (key === `acct/${owner}`) {
    const qdd = BigInt((decodeCanonical(value) as CanonicalValue[])[3] as bigint | number);
    return altered(value, { 3: qdd + 1000n * UNIT });
  }
  return value;
}

beforeAll(async () => {
  const sale = buildMarketSale();
  ids = sale.ids;
  node = await startObserverNode(sale.chain);
  store = ingestStoreWith(join(dir, 'ingest.db'), [sale.sold], Date.now());
  server = await startApiServer(node, '127.0.0.1', 0, { store });
  // The lying node: forwards every request and rewrites state answers, JSON or proof-carrying.
  liar = createServer(async (req, res) => {
    const upstream = await fetch(`${server.url}${req.url}`);
    let body: Uint8Array = new Uint8Array(await upstream.arrayBuffer());
    const type = upstream.headers.get('content-type') ?? '';
    if (req.url?.startsWith('/state/') && upstream.ok) {
      const j = JSON.parse(Buffer.from(body).toString('utf8')) as { key: string; value: string | null };
      const v = lie(j.key, j.value === null ? null : fromHex(j.value));
      const forged = { ...j, value: v === null ? null : toHex(v) } as Record<string, unknown>;
      if (j.key.startsWith('acct/') && v !== null)
        forged.decoded = {
          ...(forged.decoded as object),
          qdd: String((decodeCanonical(v) as CanonicalValue[])[3]),
        };
      body = Buffer.from(JSON.stringify(forged));
    } else if (req.url?.startsWith('/light/') && upstream.ok) {
      const u = decodeUpdate(body);
      body = encodeUpdate({ ...u, proofs: u.proofs.map((p) => ({ ...p, value: lie(p.key, p.value) })) });
    }
    res.writeHead(upstream.status, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
  const a = liar.address();
  liarUrl = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
});

afterAll(async () => {
  await new Promise((r) => liar?.close(r));
  await server?.close();
  await node?.stop();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    if (err instanceof MarketError) return err.code;
    throw err;
  }
}

describe('a node that lies about the chain state', () => {
  it("the buyer's client refuses a node's state answers that do not check against a finality certificate (a fill that does not exist, a changed amount)", async () => {
    // The buyer trusts a checkpoint of the chain (here: the honest node's), not the node it asks.
    const checkpoint = fromHex(
      ((await (await fetch(`${server.url}/checkpoint`)).json()) as { bytes: string }).bytes,
    );
    const c = new MarketClient({ nodeUrl: liarUrl, secretKey: marketSecret('buyer'), checkpoint });
    // A fill that does not exist: the open order reported filled, revealed, closed.
    expect(await codeOf(c.orderStatus(ids.open))).toBe('UNPROVEN');
    expect(await codeOf(c.waitForFill(ids.open, 100, 10))).toBe('UNPROVEN');
    // A changed amount: the owner's balance in the split.
    expect(await codeOf(c.split(ids.order))).toBe('UNPROVEN');
    // Records the node does not lie about still read, proven.
    expect((await c.orderStatus(ids.order)).order?.filledHeight).toBe(4);
    // The same client against the honest node: everything checks.
    const honest = new MarketClient({ nodeUrl: server.url, secretKey: marketSecret('buyer'), checkpoint });
    expect((await honest.orderStatus(ids.open)).order).toMatchObject({ open: true, filledHeight: 0 });
    const split = await honest.split(ids.order);
    expect(split.shares.map((s) => s.balance)).toEqual([14n * UNIT, 6n * UNIT]);
  });
});
