/**
 * The storage role on the HTTP API: what buyers search, and the sealed chunks they fetch once their
 * order is filled. Enabled when the node has both its chain role (the final state says who bought
 * what) and its ingest role (the database holds the signed descriptors and chunks).
 *
 *   GET /market/descriptors?vehicle=&dictionary=&from=&to=&location=&root=&after=&limit=
 *       stored descriptors with their public fields and `anchor`: the chain descriptor id whose
 *       final anchor carries the descriptor's root (same vehicle, same chunk count), or null
 *   GET /market/descriptors/<id>              the signed descriptor (application/cbor; public)
 *
 * Descriptors of privacy `private` (batches of streams the owner marked private: never sold) are
 * neither listed nor served to anyone but the vehicle's owner (issue 14): a request without the
 * owner's read proof (chain/data/fetch-proof.ts, OWNER_HEADERS; the signer must be the vehicle's
 * owner in the last final state) does not see them, and one by id says 404 as for an unknown id,
 * so their existence does not leak either. The listing shows a vehicle's private descriptors only
 * with `vehicle=` and that vehicle owner's proof.
 *   GET /market/orders/<orderId>/chunks?after=&limit=
 *       the order's sealed chunks, to the buyer only (a purchase proof: chain/data/fetch-proof.ts):
 *       canonical CBOR [[chunkId (32 bytes), sealed bytes | null], ...] in the descriptor's order,
 *       null for a listed chunk the node does not hold (yet). Headers: x-qood-descriptor (the
 *       signed descriptor served), x-qood-chunk-count (listed in all), x-qood-next-after (the
 *       position to ask `after=` next; absent on the last page).
 *
 * The chunks are content addressed (an id is the hash of its header) and ciphertext: the node
 * serves them without holding any key, and the buyer re-checks every id, signature and link.
 */

import {
  type Agreement,
  type AnchoredDescriptor,
  bytesEqual,
  chainVehicleId,
  checkFetchProof,
  checkOwnerRead,
  encodeCanonical,
  FETCH_HEADERS,
  FETCH_PROOF_WINDOW_MS,
  fromHex,
  getRecord,
  type Order,
  OWNER_HEADERS,
  stateKey,
  toHex,
  type Vehicle,
} from '../../chain/index.js';
import type { DescriptorListing, IngestStore } from '../ingest/ingest-store.js';
import type { FullNode } from '../runtime/full-node.js';
import type { ApiRequest, ApiResponse } from './types.js';

/** What the storage role needs besides the node. */
export interface MarketContext {
  readonly store: IngestStore;
  /** The node's clock for the proof's time window (default Date.now). */
  readonly nowMs?: () => number;
  /** Height through which final anchors are indexed (for the listing's `indexedHeight`). */
  readonly indexedHeight?: () => number;
}

/** Most chunks one page carries, and the default. */
export const MAX_PAGE_CHUNKS = 1024;
export const DEFAULT_PAGE_CHUNKS = 256;
/** Sealed bytes one page carries at most (a page holds at least one chunk). */
export const MAX_PAGE_BYTES = 8 * 1024 * 1024;

/** Why a chunk request was refused; each has its own HTTP status. */
export const FETCH_REFUSALS = {
  BAD_ORDER_ID: 400,
  PROOF_MISSING: 401,
  BAD_PROOF_SIGNATURE: 401,
  PROOF_EXPIRED: 401,
  UNKNOWN_ORDER: 404,
  NOT_A_BUY_ORDER: 403,
  NOT_THE_BUYER: 403,
  NOT_FILLED: 403,
  DESCRIPTOR_NOT_STORED: 404,
} as const;
export type FetchRefusal = keyof typeof FETCH_REFUSALS;

const err = (status: number, code: string, message: string): ApiResponse => ({
  status,
  body: { error: { code, message } },
});
const refuse = (code: FetchRefusal, message: string) => err(FETCH_REFUSALS[code], code, message);

const HEX32 = /^[0-9a-f]{64}$/;

/** A path segment for a message: decoded when it decodes, at most 80 characters. */
function shown(segment: string): string {
  let v = segment;
  try {
    v = decodeURIComponent(segment);
  } catch {}
  return v.slice(0, 80);
}

/** Answers a request under /market/. */
export function handleMarket(node: FullNode, req: ApiRequest, ctx: MarketContext | undefined): ApiResponse {
  if (ctx === undefined)
    return err(
      404,
      'NO_STORAGE_ROLE',
      'this node serves no market: the storage role needs both the chain and the ingest role',
    );
  if (req.method !== 'GET') return err(405, 'METHOD_NOT_ALLOWED', `${req.method} ${req.path}: use GET`);
  const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
  const query = new URLSearchParams(req.query ?? '');
  const headers = req.headers ?? {};
  if (path === '/market/descriptors') return list(node, ctx, query, headers);
  let m = /^\/market\/descriptors\/([^/]+)$/.exec(path);
  if (m !== null) return descriptor(node, ctx, m[1]!, headers);
  m = /^\/market\/orders\/([^/]+)\/chunks$/.exec(path);
  if (m !== null) return chunks(node, ctx, m[1]!, query, headers);
  return err(404, 'NOT_FOUND', `no route GET ${path}`);
}

type Parsed<T> = { ok: true; value: T } | { ok: false; response: ApiResponse };

const LIST_PARAMS = ['vehicle', 'dictionary', 'from', 'to', 'location', 'root', 'after', 'limit'];

function int(q: URLSearchParams, name: string, min: number, max: number): Parsed<number | undefined> {
  const v = q.get(name);
  if (v === null) return { ok: true, value: undefined };
  const n = Number(v);
  if (!/^\d{1,16}$/.test(v) || n < min || n > max)
    return {
      ok: false,
      response: err(400, 'BAD_QUERY', `${name}='${v}': expected an integer from ${min} to ${max}`),
    };
  return { ok: true, value: n };
}

function text(q: URLSearchParams, name: string, re: RegExp, what: string): Parsed<string | undefined> {
  const v = q.get(name);
  if (v === null) return { ok: true, value: undefined };
  if (!re.test(v)) return { ok: false, response: err(400, 'BAD_QUERY', `${name}='${v}': expected ${what}`) };
  return { ok: true, value: v };
}

/** The earliest final anchor of a stored descriptor: same root, its vehicle, its chunk count. */
function anchorOf(ctx: MarketContext, d: DescriptorListing) {
  const vehicle = chainVehicleId(d.vehicleId);
  return ctx.store
    .anchorsOfRoot(d.merkleRoot)
    .find((a) => a.vehicle === vehicle && a.chunkCount === d.chunkCount);
}

type Headers = Readonly<Record<string, string | undefined>>;

/**
 * Whether the request carries a valid read proof of vehicle `vehicleId`'s owner for `resource`:
 * the signature checks, its time is within the window of the node's clock, and the signer is the
 * vehicle's owner in the last final state. Undefined when no proof was sent.
 */
function ownerProof(
  node: FullNode,
  ctx: MarketContext,
  headers: Headers,
  vehicleId: string,
  resource: string,
): { ok: boolean; why: string } | undefined {
  const owner = headers[OWNER_HEADERS.owner];
  const time = headers[OWNER_HEADERS.time];
  const signature = headers[OWNER_HEADERS.signature];
  if (owner === undefined && signature === undefined) return undefined;
  if (
    owner === undefined ||
    !HEX32.test(owner) ||
    time === undefined ||
    !/^\d{1,16}$/.test(time) ||
    signature === undefined ||
    !/^[0-9a-f]{128}$/.test(signature)
  )
    return {
      ok: false,
      why: `send ${OWNER_HEADERS.owner} (64 hex), ${OWNER_HEADERS.time} (ms) and ${OWNER_HEADERS.signature} (128 hex)`,
    };
  const timeMs = Number(time);
  if (!checkOwnerRead(owner, vehicleId, resource, timeMs, signature))
    return {
      ok: false,
      why: `the signature is not ${owner.slice(0, 16)}...'s over ${vehicleId} ${resource}`,
    };
  if (Math.abs((ctx.nowMs ?? Date.now)() - timeMs) > FETCH_PROOF_WINDOW_MS)
    return { ok: false, why: `proof time ${timeMs} is more than ${FETCH_PROOF_WINDOW_MS / 1000} s off` };
  const v = getRecord<Vehicle>(node.lastFinal.state.tree, stateKey.vehicle(chainVehicleId(vehicleId)));
  if (v?.owner !== owner)
    return { ok: false, why: `${owner.slice(0, 16)}... is not the owner of ${vehicleId} in the final state` };
  return { ok: true, why: '' };
}

function list(node: FullNode, ctx: MarketContext, q: URLSearchParams, headers: Headers): ApiResponse {
  for (const k of q.keys())
    if (!LIST_PARAMS.includes(k))
      return err(400, 'BAD_QUERY', `unknown parameter '${k}'; expected ${LIST_PARAMS.join(', ')}`);
  const vehicle = text(q, 'vehicle', /^[A-Za-z0-9._-]{1,64}$/, 'a vehicle id');
  const dictionary = text(q, 'dictionary', /^.{1,128}$/s, 'a dictionary id');
  const location = text(q, 'location', /^[0-9.,+-]{1,64}$/, 'a coarse location prefix such as 47.4,8.5');
  const root = text(q, 'root', HEX32, 'a Merkle root as 64 lowercase hex digits');
  const from = int(q, 'from', 0, Number.MAX_SAFE_INTEGER);
  const to = int(q, 'to', 0, Number.MAX_SAFE_INTEGER);
  const after = int(q, 'after', 0, Number.MAX_SAFE_INTEGER);
  const limit = int(q, 'limit', 1, 1000);
  for (const p of [vehicle, dictionary, location, root, from, to, after, limit]) if (!p.ok) return p.response;
  const v = <T>(p: Parsed<T>) => (p.ok ? p.value : undefined);
  const n = v(limit) ?? 100;
  // Private descriptors stay out of the listing unless the owner of the named vehicle proves it.
  const vehicleId = v(vehicle);
  const proof =
    vehicleId === undefined ? undefined : ownerProof(node, ctx, headers, vehicleId, 'descriptors');
  if (proof?.ok === false) return err(401, 'BAD_OWNER_PROOF', proof.why);
  const rows = ctx.store.listDescriptors({
    hidePrivate: proof?.ok === true && vehicleId !== undefined ? { exceptVehicle: vehicleId } : {},
    ...opt('vehicleId', v(vehicle)),
    ...opt('dictionary', v(dictionary)),
    ...opt('location', v(location)),
    ...opt('merkleRoot', v(root)),
    ...opt('fromMs', v(from)),
    ...opt('toMs', v(to)),
    ...opt('afterOrd', v(after)),
    limit: n,
  });
  return {
    status: 200,
    body: {
      descriptors: rows.map((d) => {
        const a = anchorOf(ctx, d);
        return {
          id: d.id,
          ord: d.ord,
          vehicleId: d.vehicleId,
          dictionary: d.dictionary,
          dataClass: d.dataClass,
          privacy: d.privacy,
          fromMs: d.tStartMs,
          toMs: d.tEndMs,
          coarseLocation: d.coarseLocation,
          chunkCount: d.chunkCount,
          merkleRoot: d.merkleRoot,
          createdMs: d.createdMs,
          receivedMs: d.receivedMs,
          anchor: a?.chainId ?? null,
          anchorHeight: a?.height ?? null,
        };
      }),
      /** Pass as `after` for the next page; null when this page is the last. */
      next: rows.length === n ? rows.at(-1)!.ord : null,
      finalHeight: node.lastFinal.height,
      indexedHeight: ctx.indexedHeight?.() ?? null,
    },
  };
}

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

function descriptor(node: FullNode, ctx: MarketContext, id: string, headers: Headers): ApiResponse {
  if (!HEX32.test(id))
    return err(400, 'BAD_DESCRIPTOR_ID', `'${shown(id)}': expected 64 lowercase hex digits`);
  const unknown = err(404, 'UNKNOWN_DESCRIPTOR', `no stored descriptor ${id}`);
  const access = ctx.store.descriptorAccess(id);
  if (access === undefined) return unknown;
  // A private descriptor answers as an unknown one to all but its vehicle's owner.
  if (access.privacy === 'private' && ownerProof(node, ctx, headers, access.vehicleId, id)?.ok !== true)
    return unknown;
  const bytes = ctx.store.descriptorBytes(id);
  if (bytes === undefined) return unknown;
  return { status: 200, body: bytes, contentType: 'application/cbor' };
}

function header(h: Headers, name: string): string | undefined {
  return h[name];
}

function chunks(
  node: FullNode,
  ctx: MarketContext,
  orderId: string,
  q: URLSearchParams,
  headers: Headers,
): ApiResponse {
  if (!HEX32.test(orderId))
    return refuse('BAD_ORDER_ID', `'${shown(orderId)}': expected 64 lowercase hex digits`);
  const buyer = header(headers, FETCH_HEADERS.buyer);
  const time = header(headers, FETCH_HEADERS.time);
  const signature = header(headers, FETCH_HEADERS.signature);
  if (
    buyer === undefined ||
    !HEX32.test(buyer) ||
    time === undefined ||
    !/^\d{1,16}$/.test(time) ||
    signature === undefined ||
    !/^[0-9a-f]{128}$/.test(signature)
  )
    return refuse(
      'PROOF_MISSING',
      `send ${FETCH_HEADERS.buyer} (64 hex), ${FETCH_HEADERS.time} (ms) and ${FETCH_HEADERS.signature} (128 hex) proving the purchase`,
    );
  const timeMs = Number(time);
  if (!checkFetchProof(buyer, orderId, timeMs, signature))
    return refuse(
      'BAD_PROOF_SIGNATURE',
      `the signature is not ${buyer.slice(0, 16)}...'s over order ${orderId.slice(0, 16)}... at ${timeMs}`,
    );
  const now = (ctx.nowMs ?? Date.now)();
  if (Math.abs(now - timeMs) > FETCH_PROOF_WINDOW_MS)
    return refuse(
      'PROOF_EXPIRED',
      `proof time ${timeMs} is ${Math.round((timeMs - now) / 1000)} s from the node's clock; at most ${FETCH_PROOF_WINDOW_MS / 1000} s either way`,
    );
  const fin = node.lastFinal;
  const order = getRecord<Order>(fin.state.tree, stateKey.order(orderId));
  if (order === undefined)
    return refuse('UNKNOWN_ORDER', `no order ${orderId} in the final state (height ${fin.height})`);
  if (order.side !== 'buy')
    return refuse('NOT_A_BUY_ORDER', `order ${orderId.slice(0, 16)}... is a sell order`);
  if (order.maker !== buyer)
    return refuse('NOT_THE_BUYER', `order ${orderId.slice(0, 16)}... was placed by another account`);
  if (order.filledHeight === 0)
    return refuse(
      'NOT_FILLED',
      `order ${orderId.slice(0, 16)}... is ${order.open ? 'not filled yet' : 'cancelled'} (final height ${fin.height})`,
    );
  const anchored = getRecord<AnchoredDescriptor>(fin.state.tree, stateKey.descriptor(order.descriptor));
  const agreement =
    anchored === undefined
      ? undefined
      : getRecord<Agreement>(fin.state.tree, stateKey.agreement(anchored.agreement));
  const root = anchored === undefined ? '' : toHex(anchored.merkleRoot);
  const stored = ctx.store
    .listDescriptors({ merkleRoot: root, limit: 16 })
    .find(
      (d) =>
        anchored !== undefined &&
        d.chunkCount === anchored.chunkCount &&
        chainVehicleId(d.vehicleId) === agreement?.vehicle &&
        bytesEqual(fromHex(d.merkleRoot), anchored.merkleRoot),
    );
  if (stored === undefined)
    return refuse(
      'DESCRIPTOR_NOT_STORED',
      `this node holds no signed descriptor with root ${root.slice(0, 16)}... of chain descriptor ${order.descriptor.slice(0, 16)}...`,
    );
  const after = int(q, 'after', 0, Number.MAX_SAFE_INTEGER);
  const limit = int(q, 'limit', 1, MAX_PAGE_CHUNKS);
  if (!after.ok) return after.response;
  if (!limit.ok) return limit.response;
  const rows = ctx.store.chunksOfDescriptorPage(
    stored.id,
    after.value ?? -1,
    limit.value ?? DEFAULT_PAGE_CHUNKS,
  );
  const entries: [Uint8Array, Uint8Array | null][] = [];
  let bytes = 0;
  let lastPos = after.value ?? -1;
  for (const r of rows) {
    const n = r.bytes?.length ?? 0;
    if (entries.length > 0 && bytes + n > MAX_PAGE_BYTES) break;
    entries.push([fromHex(r.id), r.bytes ?? null]);
    bytes += n;
    lastPos = r.pos;
  }
  const more = lastPos < stored.chunkCount - 1;
  return {
    status: 200,
    contentType: 'application/cbor',
    body: encodeCanonical(entries),
    headers: {
      'x-qood-descriptor': stored.id,
      'x-qood-chunk-count': String(stored.chunkCount),
      ...(more ? { 'x-qood-next-after': String(lastPos) } : {}),
    },
  };
}
