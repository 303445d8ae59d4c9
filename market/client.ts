/**
 * The buyer's client: finds descriptors on a storage node, places a buy order (escrowing the price
 * in QDD), waits for the owner's or device's fill, fetches the sealed chunks with a purchase proof,
 * checks and decrypts them (purchase.ts), and reports how the payment was split.
 *
 * Chain records (orders, anchored descriptors, agreements, vehicles, accounts) are read from the
 * node's last final state with proofs (GET /light/state, node/http/proven-state.ts) and checked by
 * an embedded light client (chain/light, through proven-reader.ts) before anything is believed (issue 14: the client used to
 * trust its node's `/state` answers, so a node could report a fill that never happened or change
 * an amount). The light client starts from `checkpoint`, a checkpoint the buyer trusts (from
 * `qood node checkpoint` on a node of its own, say); without one it takes the node's
 * GET /checkpoint at first use (trust on first use: a node that lies from the very first answer
 * is not caught, one that lies later is). Each answer is a finality update: the certificate must
 * be signed by a quorum of the schedule the client follows and every proof must hold under the
 * certified state root, else MarketError UNPROVEN. Only hints stay unproven: `/status` (the chain
 * id) and the next nonce and mana (a wrong one gets the order refused, nothing worse).
 */
import {
  CodecError,
  decodeAccount,
  decodeAgreement,
  decodeAnchoredDescriptor,
  decodeCanonical,
  decodeOrder,
  decodeVehicle,
  Ed25519Signer,
  encodeSignedTx,
  fetchProofHeaders,
  type Order,
  signTx,
  stateKey,
  toHex,
} from '../chain/index.js';
import { MarketError } from './errors.js';
import { type FetchFn, NodeHttp } from './http.js';
import { decodeRecord, ProvenReader } from './proven-reader.js';
import { checkPurchase, type FetchedPurchase, type Purchase, type PurchaseRecords } from './purchase.js';

export interface MarketClientOptions {
  /** The node's HTTP API, e.g. http://127.0.0.1:26700. */
  readonly nodeUrl: string;
  /**
   * The buyer's ed25519 secret key (32 bytes): signs orders and proofs, opens key bundles. Without
   * it the client only reads (list, status, split); the rest throws NO_KEY.
   */
  readonly secretKey?: Uint8Array;
  readonly fetch?: FetchFn;
  /** Per request (default 10 s). */
  readonly timeoutMs?: number;
  readonly nowMs?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * A light-client checkpoint the buyer trusts (chain/light/codec.ts bytes). Without it the
   * client takes the node's GET /checkpoint at first use.
   */
  readonly checkpoint?: Uint8Array;
  /**
   * Called once, with the checkpoint's height, when without `checkpoint` the client takes the
   * node's on trust (so a command line can say that it did).
   */
  readonly onNodeCheckpoint?: (height: number) => void;
}

/** What to list descriptors by; every field narrows. */
export interface MarketQuery {
  readonly vehicle?: string;
  readonly dictionary?: string;
  /** Descriptors overlapping [fromMs, toMs]. */
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Coarse location prefix such as "47.4,8.5". */
  readonly location?: string;
  /** Hex Merkle root. */
  readonly root?: string;
  /** The `next` of the previous page. */
  readonly after?: number;
  readonly limit?: number;
}

/** A stored descriptor as the node lists it. */
export interface MarketListing {
  readonly id: string;
  readonly ord: number;
  readonly vehicleId: string;
  readonly dictionary: string;
  readonly dataClass: string;
  /** `private` data is never sold: its device delivers no keys for it. */
  readonly privacy: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly coarseLocation: string | null;
  readonly chunkCount: number;
  readonly merkleRoot: string;
  readonly createdMs: number;
  readonly receivedMs: number;
  /** The chain descriptor id to order by; null while not anchored in a final block. */
  readonly anchor: string | null;
  readonly anchorHeight: number | null;
}

export interface MarketPage {
  readonly descriptors: readonly MarketListing[];
  /** Pass as `after` for the next page; null on the last. */
  readonly next: number | null;
  readonly finalHeight: number;
  readonly indexedHeight: number | null;
}

/** A submitted buy order. */
export interface PlacedOrder {
  /** The order id: the transaction's id (hex). */
  readonly orderId: string;
  readonly descriptor: string;
  readonly price: bigint;
  readonly expiresHeight: number;
  readonly nonce: number;
  /** QDT paid as a fee (0 when the buyer's mana covered it). */
  readonly fee: bigint;
}

/** An order in the final state (undefined while its transaction is not final). */
export interface OrderStatus {
  readonly orderId: string;
  readonly height: number;
  readonly order: Order | undefined;
}

/** One party's part of a sale. */
export interface SplitShare {
  readonly party: string;
  readonly role: 'owner' | 'oem' | 'party';
  readonly bps: number;
  /** What the fill paid this party from this order, QDD base units. */
  readonly amount: bigint;
  /** The party's QDD balance now (final state), base units. */
  readonly balance: bigint;
}

export interface SplitReport {
  readonly orderId: string;
  readonly price: bigint;
  readonly filled: boolean;
  readonly filledHeight: number;
  readonly agreement: string;
  readonly shares: readonly SplitShare[];
  readonly height: number;
}

const HEX32 = /^[0-9a-f]{64}$/;

/** The buyer's side of the market over one node's HTTP API. */
export class MarketClient {
  /** The buyer's account address (hex ed25519 public key); empty without a key. */
  readonly address: string;
  readonly #http: NodeHttp;
  readonly #key: { signer: Ed25519Signer; secret: Uint8Array } | undefined;
  readonly #nowMs: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #reader: ProvenReader;

  constructor(options: MarketClientOptions) {
    this.#http = new NodeHttp({
      baseUrl: options.nodeUrl,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    this.#key =
      options.secretKey === undefined
        ? undefined
        : { signer: new Ed25519Signer(options.secretKey), secret: options.secretKey };
    this.address = this.#key === undefined ? '' : toHex(this.#key.signer.publicKey);
    this.#nowMs = options.nowMs ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#reader = new ProvenReader({
      http: this.#http,
      checkpoint: options.checkpoint,
      onNodeCheckpoint: options.onNodeCheckpoint,
    });
  }

  /** Stored descriptors matching `query`, with their chain anchors. */
  listDescriptors(query: MarketQuery = {}): Promise<MarketPage> {
    const q = new URLSearchParams();
    const put = (k: string, v: string | number | undefined) => {
      if (v !== undefined) q.set(k, String(v));
    };
    put('vehicle', query.vehicle);
    put('dictionary', query.dictionary);
    put('from', query.fromMs);
    put('to', query.toMs);
    put('location', query.location);
    put('root', query.root);
    put('after', query.after);
    put('limit', query.limit);
    const s = q.toString();
    return this.#http.getJson<MarketPage>(`/market/descriptors${s === '' ? '' : `?${s}`}`);
  }

  /**
   * Places a buy order for the chain descriptor `descriptorChainId` at `price` QDD base units,
   * expiring `expiresInBlocks` after the node's head; pays the minimum fee when mana is short.
   */
  async order(descriptorChainId: string, price: bigint, expiresInBlocks = 7200): Promise<PlacedOrder> {
    const { signer } = this.#needKey('placing an order');
    if (!HEX32.test(descriptorChainId))
      throw new MarketError('MISSING_RECORD', `'${descriptorChainId}' is not a chain descriptor id (64 hex)`);
    const descKey = stateKey.descriptor(descriptorChainId);
    const acctKey = stateKey.account(this.address);
    const [proven, status, free] = await Promise.all([
      this.#reader.proven([descKey, acctKey]),
      this.#http.getJson<{ chainId: string }>('/status'),
      this.#http.getJson<{ nonce: number; height: number; mana: string; manaPerTx: string; minFee: string }>(
        `/accounts/${this.address}/next-free-tx`,
      ),
    ]);
    if (proven.values.get(descKey) === null)
      throw new MarketError(
        'MISSING_RECORD',
        `no descriptor ${descriptorChainId.slice(0, 16)}... is anchored in the final chain`,
      );
    const acct = proven.values.get(acctKey);
    const finalNonce =
      acct === null || acct === undefined ? 0 : decodeRecord(decodeAccount, acct, 'account').nonce;
    // The final account's nonce, or the head's when a transaction of ours is already in a block.
    const nonce = Math.max(finalNonce, free.nonce);
    const fee = BigInt(free.mana) < BigInt(free.manaPerTx) ? BigInt(free.minFee) : 0n;
    const expiresHeight = free.height + expiresInBlocks;
    const tx = signTx(
      {
        chainId: status.chainId,
        kind: 'order',
        sender: this.address,
        nonce,
        fee,
        body: { side: 'buy', descriptor: descriptorChainId, price, expiresHeight },
      },
      signer,
    );
    await this.#http.postCbor('/tx', encodeSignedTx(tx));
    return { orderId: toHex(tx.id), descriptor: descriptorChainId, price, expiresHeight, nonce, fee };
  }

  /** The order in the last final state. */
  async orderStatus(orderId: string): Promise<OrderStatus> {
    const key = stateKey.order(orderId);
    const s = await this.#reader.proven([key]);
    const v = s.values.get(key);
    return {
      orderId,
      height: s.height,
      order: v === null || v === undefined ? undefined : decodeRecord(decodeOrder, v, 'order'),
    };
  }

  /**
   * Polls until the order is filled and its keys revealed in final blocks (the fill pays, the
   * reveal that follows it delivers the keys); throws TIMEOUT, or NOT_FILLED when cancelled.
   */
  async waitForFill(orderId: string, timeoutMs: number, pollMs = 500): Promise<Order> {
    const end = this.#nowMs() + timeoutMs;
    for (;;) {
      const { order } = await this.orderStatus(orderId);
      if (order !== undefined && order.filledHeight > 0 && order.delivery.length > 0) return order;
      if (order !== undefined && !order.open && order.filledHeight === 0)
        throw new MarketError('NOT_FILLED', `order ${orderId.slice(0, 16)}... was cancelled`);
      if (this.#nowMs() >= end)
        throw new MarketError(
          'TIMEOUT',
          `order ${orderId.slice(0, 16)}... is ${order === undefined ? 'not final yet' : order.filledHeight > 0 ? 'paid but its keys are not revealed yet' : 'not filled'} after ${timeoutMs} ms`,
        );
      await this.#sleep(pollMs);
    }
  }

  /** Fetches the order's signed descriptor and sealed chunks from the storage node (all pages). */
  async fetch(orderId: string): Promise<FetchedPurchase> {
    const { signer } = this.#needKey('fetching chunks');
    const chunks: { id: string; bytes: Uint8Array | undefined }[] = [];
    let after: number | undefined;
    let descriptorId = '';
    for (let page = 0; ; page++) {
      const q = after === undefined ? '' : `?after=${after}`;
      const r = await this.#http.getBytes(
        `/market/orders/${orderId}/chunks${q}`,
        fetchProofHeaders(signer, orderId, this.#nowMs()),
      );
      descriptorId = r.headers.get('x-qood-descriptor') ?? '';
      if (!HEX32.test(descriptorId))
        throw new MarketError('BAD_RESPONSE', 'the chunks answer names no descriptor (x-qood-descriptor)');
      chunks.push(...decodeChunkPage(r.bytes));
      const next = r.headers.get('x-qood-next-after');
      if (next === null) break;
      const n = Number(next);
      if (!Number.isInteger(n) || (after !== undefined && n <= after) || page > 100_000)
        throw new MarketError('BAD_RESPONSE', `x-qood-next-after '${next}' does not move forward`);
      after = n;
    }
    const d = await this.#http.getBytes(`/market/descriptors/${descriptorId}`);
    return { descriptorId, descriptor: d.bytes, chunks };
  }

  /** The chain records of a purchase: order, anchored descriptor, agreement, vehicle. */
  async purchaseRecords(orderId: string): Promise<PurchaseRecords> {
    const { order } = await this.orderStatus(orderId);
    if (order === undefined)
      throw new MarketError('UNKNOWN_ORDER', `no order ${orderId.slice(0, 16)}... in the final state`);
    const anchored = await this.#reader.record(
      stateKey.descriptor(order.descriptor),
      decodeAnchoredDescriptor,
      'descriptor',
    );
    const agreement = await this.#reader.record(
      stateKey.agreement(anchored.agreement),
      decodeAgreement,
      'agreement',
    );
    const vehicle = await this.#reader.record(stateKey.vehicle(agreement.vehicle), decodeVehicle, 'vehicle');
    return { orderId, order, anchored, agreement, vehicle };
  }

  /** Fetches (unless given) and checks a purchase, and decrypts its samples; see purchase.ts. */
  async verifyAndDecrypt(orderId: string, fetched?: FetchedPurchase): Promise<Purchase> {
    const { secret } = this.#needKey('opening the key bundle');
    const records = await this.purchaseRecords(orderId);
    // Refuse before fetching when the order is not ours or not filled.
    checkOrder(records, this.address);
    return checkPurchase({
      records,
      fetched: fetched ?? (await this.fetch(orderId)),
      buyerSecretKey: secret,
    });
  }

  /** How the order's price was split by the agreement, and each party's balance now. */
  async split(orderId: string): Promise<SplitReport> {
    const { order, anchored, agreement } = await this.purchaseRecords(orderId);
    // The fill pays floor(price * bps / 10000) each and the rounding remainder to the first party.
    const amounts = agreement.split.map((s) => (order.price * BigInt(s.bps)) / 10_000n);
    amounts[0] = amounts[0]! + order.price - amounts.reduce((x, y) => x + y, 0n);
    const filled = order.filledHeight > 0;
    const accounts = await this.#reader.proven(agreement.split.map((s) => stateKey.account(s.party)));
    const height = accounts.height;
    const shares = agreement.split.map((s, i): SplitShare => {
      const a = accounts.values.get(stateKey.account(s.party));
      return {
        party: s.party,
        role: s.party === agreement.owner ? 'owner' : s.party === agreement.oem ? 'oem' : 'party',
        bps: s.bps,
        amount: filled ? amounts[i]! : 0n,
        balance: a === null || a === undefined ? 0n : decodeRecord(decodeAccount, a, 'account').qdd,
      };
    });
    return {
      orderId,
      price: order.price,
      filled,
      filledHeight: order.filledHeight,
      agreement: anchored.agreement,
      shares,
      height,
    };
  }

  #needKey(what: string): { signer: Ed25519Signer; secret: Uint8Array } {
    if (this.#key === undefined) throw new MarketError('NO_KEY', `${what} needs the buyer's key`);
    return this.#key;
  }
}

function checkOrder(r: PurchaseRecords, buyer: string): void {
  if (r.order.side !== 'buy' || r.order.maker !== buyer)
    throw new MarketError(
      'NOT_THE_BUYER',
      `order ${r.orderId.slice(0, 16)}... is not a buy order of ${buyer.slice(0, 16)}...`,
    );
  if (r.order.filledHeight === 0 || r.order.delivery.length === 0)
    throw new MarketError(
      'NOT_FILLED',
      `order ${r.orderId.slice(0, 16)}... is ${r.order.filledHeight > 0 ? 'paid but its keys are not revealed yet' : r.order.open ? 'not filled yet' : 'cancelled'}`,
    );
}

/** Decodes a chunks page: [[chunkId (32 bytes), sealed bytes | null], ...]. */
function decodeChunkPage(bytes: Uint8Array): { id: string; bytes: Uint8Array | undefined }[] {
  let v: unknown;
  try {
    v = decodeCanonical(bytes);
  } catch (err) {
    if (err instanceof CodecError) throw new MarketError('BAD_RESPONSE', `chunks page: ${err.message}`);
    throw err;
  }
  if (!Array.isArray(v)) throw new MarketError('BAD_RESPONSE', 'chunks page: expected an array');
  return v.map((e, i) => {
    if (
      !Array.isArray(e) ||
      e.length !== 2 ||
      !(e[0] instanceof Uint8Array) ||
      e[0].length !== 32 ||
      !(e[1] === null || e[1] instanceof Uint8Array)
    )
      throw new MarketError(
        'BAD_RESPONSE',
        `chunks page entry ${i}: expected [chunk id (32 bytes), bytes | null]`,
      );
    return { id: toHex(e[0]), bytes: e[1] === null ? undefined : (e[1] as Uint8Array) };
  });
}
