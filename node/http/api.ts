/**
 * The node's HTTP JSON API for wallets and consumers, as a pure function from a request (method,
 * path, body) to a response (status, JSON), so every route is tested without a socket; server.ts puts
 * it on node:http.
 *
 *   POST /tx                          submit: body = signed tx bytes (application/cbor) or {"tx":"<hex>"}
 *   GET  /state/<key>                 value and proof of a state key (acct/<hex>, grant/<id>, ...) at the last final block
 *   GET  /light/state?key=..          the same keys as a light-client update: header, certificate votes, proofs (proven-state.ts)
 *   GET  /blocks/<height>             a final block
 *   GET  /finality                    the last final header and its certificate
 *   GET  /checkpoint                  a light-client checkpoint of the last final block (for devices' `chain` config)
 *   GET  /accounts/<addr>/next-free-tx  when the account's next fee-free transaction is due
 *   GET  /status                      head, final height, peers, counters
 *   GET  /market/...                  the storage role, when the node has one (market-api.ts)
 *
 * Errors are `{"error":{"code":..,"message":..}}` with 400 (what was wrong and where), 404, 405, 413
 * (server.ts), 503 (mempool full). Amounts are decimal strings of base units, bytes are hex.
 */
import {
  currentMana,
  decodeAccount,
  decodeSignedTx,
  encodeBlock,
  encodeCertificate,
  encodeCheckpoint,
  getAccount,
  headerId,
  maxMana,
  nextFreeTxHeight,
  proveKey,
  stateRoot,
  toHex,
} from '../../chain/index.js';
import { nodeCheckpoint } from '../device-link/checkpoint.js';
import { nodeSource } from '../device-link/source.js';
import type { FullNode } from '../runtime/full-node.js';
import { handleMarket, type MarketContext } from './market-api.js';
import { provenState } from './proven-state.js';
import type { ApiRequest, ApiResponse } from './types.js';

/** Largest request body accepted (a signed transaction is far smaller). */
export const MAX_BODY_BYTES = 64 * 1024;

const err = (status: number, code: string, message: string): ApiResponse => ({
  status,
  body: { error: { code, message } },
});

const STATE_KEY = /^(supply|sched|[a-z]{2,8}\/[0-9A-Za-z._-]{1,128}(\/[0-9]{1,15})?)$/;

/** Answers one request; `market` enables the storage role's routes. */
export function handleApi(node: FullNode, req: ApiRequest, market?: MarketContext): ApiResponse {
  const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
  if (path === '/market' || path.startsWith('/market/')) return handleMarket(node, req, market);
  if (path === '/tx') return req.method === 'POST' ? submit(node, req) : notAllowed(req, 'POST');
  if (req.method !== 'GET') return notAllowed(req, 'GET');
  if (path === '/status') return { status: 200, body: status(node) };
  if (path === '/finality') return finality(node);
  if (path === '/checkpoint') return checkpoint(node);
  if (path === '/light/state') return provenState(node, req.query ?? '');
  let m = /^\/blocks\/([^/]+)$/.exec(path);
  if (m !== null) return block(node, m[1]!);
  m = /^\/accounts\/([^/]+)\/next-free-tx$/.exec(path);
  if (m !== null) return nextFree(node, m[1]!);
  if (path.startsWith('/state/')) return state(node, path.slice('/state/'.length));
  return err(404, 'NOT_FOUND', `no route ${req.method} ${path}`);
}

function notAllowed(req: ApiRequest, allowed: string): ApiResponse {
  return err(405, 'METHOD_NOT_ALLOWED', `${req.method} ${req.path}: use ${allowed}`);
}

function submit(node: FullNode, req: ApiRequest): ApiResponse {
  let bytes: Uint8Array;
  if (req.contentType.startsWith('application/cbor')) bytes = req.body;
  else if (req.contentType.startsWith('application/json')) {
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.from(req.body).toString('utf8'));
    } catch (e) {
      return err(400, 'BAD_JSON', `body is not JSON: ${(e as Error).message}`);
    }
    const hex = (doc as { tx?: unknown } | null)?.tx;
    if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex))
      return err(400, 'BAD_REQUEST', 'expected {"tx": "<signed transaction bytes as hex>"}');
    bytes = new Uint8Array(Buffer.from(hex, 'hex'));
  } else
    return err(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `content-type '${req.contentType}'; send application/cbor or application/json`,
    );
  let tx: ReturnType<typeof decodeSignedTx>;
  try {
    tx = decodeSignedTx(bytes);
  } catch (e) {
    return err(400, 'MALFORMED', `not a signed transaction: ${(e as Error).message}`);
  }
  const id = toHex(tx.id);
  const r = node.submitTx(tx);
  if (r.admitted) return { status: 202, body: { id, status: 'pending' } };
  if (r.reject === undefined) return { status: 200, body: { id, status: 'known' } };
  if (r.reject === 'MEMPOOL_FULL') return err(503, 'MEMPOOL_FULL', 'the mempool is full; retry later');
  return err(400, r.reject.code, r.reject.message);
}

function status(node: FullNode): unknown {
  const head = node.head;
  const fin = node.lastFinal;
  return {
    chainId: node.genesisState.params.chainId,
    address: node.address,
    head: { height: head.height, id: toHex(head.blockId), slot: head.slot },
    final: { height: fin.height, id: toHex(fin.blockId) },
    mempool: node.mempoolSize,
    peers: node.network.peers(),
    network: node.network.stats,
    node: node.stats,
    engine: node.engine.stats,
  };
}

function finality(node: FullNode): ApiResponse {
  const cert = node.certificate;
  if (cert === undefined) return err(404, 'NOT_FINAL_YET', 'no block is final yet');
  const b = node.block(cert.height);
  if (b === undefined) return err(404, 'NOT_FOUND', `final block ${cert.height} is not held`);
  return {
    status: 200,
    body: {
      height: cert.height,
      blockId: toHex(cert.blockId),
      header: headerJson(b.header.header),
      certificate: {
        votes: cert.votes.map((v) => ({ producer: v.producer, signature: toHex(v.signature) })),
        bytes: toHex(encodeCertificate(cert)),
      },
      lastFinalHeight: node.lastFinal.height,
    },
  };
}

function checkpoint(node: FullNode): ApiResponse {
  const cp = nodeCheckpoint(nodeSource(node));
  if (cp === undefined) return err(404, 'NOT_FINAL_YET', 'no block is final yet');
  return {
    status: 200,
    body: {
      height: cp.header.height,
      blockId: toHex(headerId(cp.header)),
      header: headerJson(cp.header),
      schedule: cp.schedule,
      next: cp.next ?? null,
      /** The canonical checkpoint bytes (chain/light/codec.ts): what a device's checkpoint file holds. */
      bytes: toHex(encodeCheckpoint(cp)),
    },
  };
}

function headerJson(h: Parameters<typeof headerId>[0]) {
  return {
    chainId: h.chainId,
    height: h.height,
    prevHash: toHex(h.prevHash),
    timeMs: h.timeMs,
    producer: h.producer,
    txRoot: toHex(h.txRoot),
    stateRoot: toHex(h.stateRoot),
  };
}

/** A path segment as the client meant it, for an error message; as sent when it is not valid percent-encoding. */
function shown(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function block(node: FullNode, heightText: string): ApiResponse {
  if (!/^\d{1,15}$/.test(heightText))
    return err(400, 'BAD_HEIGHT', `height '${shown(heightText)}': expected a decimal integer`);
  const height = Number(heightText);
  if (height === 0) return err(404, 'NOT_FOUND', 'height 0 is the genesis state, not a block');
  const b = node.block(height);
  if (b === undefined)
    return err(404, 'NOT_FOUND', `no final block at height ${height} (last final: ${node.lastFinal.height})`);
  const h = b.header.header;
  return {
    status: 200,
    body: {
      id: toHex(headerId(h)),
      header: headerJson(h),
      signature: toHex(b.header.signature),
      txs: b.txs.map((t) => ({ id: toHex(t.id), kind: t.tx.kind, sender: t.tx.sender, nonce: t.tx.nonce })),
      bytes: toHex(encodeBlock(b)),
    },
  };
}

function nextFree(node: FullNode, addr: string): ApiResponse {
  if (!/^[0-9a-f]{64}$/.test(addr))
    return err(400, 'BAD_ADDRESS', `address '${shown(addr)}': expected 64 lowercase hex digits`);
  const s = node.head.state;
  const a = getAccount(s, addr);
  const p = s.params;
  const next = nextFreeTxHeight(a, s.height + 1, p);
  return {
    status: 200,
    body: {
      address: addr,
      height: s.height,
      nonce: a.nonce,
      mana: currentMana(a, s.height + 1, p).toString(),
      maxMana: maxMana(a).toString(),
      manaPerTx: p.manaPerTx.toString(),
      nextFreeHeight: next ?? null,
      /** At one block a slot, an estimate of when that height comes. */
      estimatedAtMs: next === undefined ? null : s.timeMs + (next - s.height) * p.slotMs,
      minFee: p.minFee.toString(),
    },
  };
}

function state(node: FullNode, rawKey: string): ApiResponse {
  let key: string;
  try {
    key = decodeURIComponent(rawKey);
  } catch {
    return err(400, 'BAD_KEY', `key '${rawKey}': bad percent-encoding`);
  }
  if (!STATE_KEY.test(key))
    return err(400, 'BAD_KEY', `key '${key}': expected a state key such as acct/<64 hex> or grant/<id>`);
  const fin = node.lastFinal;
  const p = proveKey(fin.state, key);
  let decoded: unknown;
  if (p.value !== null && key.startsWith('acct/')) {
    const a = decodeAccount(p.value);
    decoded = {
      ...a,
      qdt: a.qdt.toString(),
      staked: a.staked.toString(),
      qdd: a.qdd.toString(),
      mana: a.mana.toString(),
      unbonding: a.unbonding.map((u) => ({ amount: u.amount.toString(), releaseHeight: u.releaseHeight })),
    };
  }
  return {
    status: 200,
    body: {
      key,
      height: fin.height,
      blockId: toHex(fin.blockId),
      stateRoot: toHex(stateRoot(fin.state)),
      value: p.value === null ? null : toHex(p.value),
      ...(decoded === undefined ? {} : { decoded }),
      proof: {
        depth: p.proof.depth,
        bitmap: toHex(p.proof.bitmap),
        siblings: p.proof.siblings.map(toHex),
        leaf:
          p.proof.leaf === null
            ? null
            : { keyHash: toHex(p.proof.leaf.keyHash), valueHash: toHex(p.proof.leaf.valueHash) },
        bytes: p.wireBytes,
      },
    },
  };
}
