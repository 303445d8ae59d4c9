/**
 * Reads chain records from a node's last final state and believes them only as an embedded light
 * client (chain/light) proves them: the buyer's client and the owner's wallet both read through it.
 *
 * The light client starts from `checkpoint`, a checkpoint the user trusts (from `qood node
 * checkpoint` on a node of its own, say); without one it takes the node's GET /checkpoint at first
 * use (trust on first use: a node that lies from the very first answer is not caught, one that lies
 * later is). Each answer of GET /light/state is a finality update: the certificate must be signed by
 * a quorum of the schedule the client follows and every proof must hold under the certified state
 * root, else MarketError UNPROVEN.
 */
import {
  type Checkpoint,
  decodeCheckpoint,
  decodeUpdate,
  type FinalityUpdate,
  fromHex,
  LightClient,
  LightError,
} from '../chain/index.js';
import { MarketError } from './errors.js';
import type { NodeHttp } from './http.js';

/** State records as the light client proved them, at a final height. */
export interface Proven {
  readonly height: number;
  readonly values: ReadonlyMap<string, Uint8Array | null>;
}

/** Options of a ProvenReader. */
export interface ProvenReaderOptions {
  readonly http: NodeHttp;
  /** A trusted light-client checkpoint (chain/light/codec.ts bytes); the node's at first use without it. */
  readonly checkpoint?: Uint8Array | undefined;
  /** Called once, with the checkpoint's height, when the node's checkpoint is taken on trust. */
  readonly onNodeCheckpoint?: ((height: number) => void) | undefined;
}

/** Proven reads of one node's final state. */
export class ProvenReader {
  readonly #http: NodeHttp;
  readonly #checkpoint: Uint8Array | undefined;
  readonly #onNodeCheckpoint: ((height: number) => void) | undefined;
  #toldNodeCheckpoint = false;
  #light: LightClient | undefined;

  constructor(options: ProvenReaderOptions) {
    this.#http = options.http;
    this.#checkpoint = options.checkpoint;
    this.#onNodeCheckpoint = options.onNodeCheckpoint;
  }

  /** The light client, started from the trusted checkpoint (or the node's, at first use). */
  async lightClient(): Promise<LightClient> {
    if (this.#light !== undefined) return this.#light;
    const bytes =
      this.#checkpoint ?? fromHex((await this.#http.getJson<{ bytes: string }>('/checkpoint')).bytes ?? '');
    let checkpoint: Checkpoint;
    try {
      checkpoint = decodeCheckpoint(bytes);
    } catch (err) {
      throw new MarketError('BAD_RESPONSE', `the checkpoint does not decode: ${(err as Error).message}`);
    }
    try {
      this.#light ??= new LightClient({ checkpoint });
    } catch (err) {
      if (err instanceof LightError) throw new MarketError('UNPROVEN', `checkpoint refused: ${err.message}`);
      throw err;
    }
    // Trust on first use is the default, never a silent one: the caller hears it once.
    if (this.#checkpoint === undefined && !this.#toldNodeCheckpoint) {
      this.#toldNodeCheckpoint = true;
      this.#onNodeCheckpoint?.(checkpoint.header.height);
    }
    return this.#light;
  }

  /**
   * Reads `keys` from the node's last final state and believes them only as the light client
   * proves them: the answer's certificate against the schedule it follows, each key's Merkle proof
   * under the certified state root (or, at a height it already holds, under the header it has).
   * Throws MarketError UNPROVEN for anything that does not check.
   */
  async proven(keys: readonly string[]): Promise<Proven> {
    const client = await this.lightClient();
    const q = keys.map((k) => `key=${encodeURIComponent(k)}`).join('&');
    const r = await this.#http.getBytes(`/light/state?${q}`);
    let u: FinalityUpdate;
    try {
      u = decodeUpdate(r.bytes);
    } catch (err) {
      throw new MarketError(
        'BAD_RESPONSE',
        `the proven state answer does not decode: ${(err as Error).message}`,
      );
    }
    const h = u.header.height;
    const unproven = (why: string) =>
      new MarketError(
        'UNPROVEN',
        `the node's answer for ${keys.join(', ')} at height ${h} does not check: ${why}`,
      );
    const values = new Map<string, Uint8Array | null>();
    if (h > client.head.height) {
      const applied = client.apply(u);
      if (!applied.ok) throw unproven(applied.error.message);
      for (const p of applied.proven) values.set(p.key, p.value);
    } else {
      for (const proof of u.proofs) {
        const v = client.verify({ height: h, proof });
        if (v instanceof LightError) throw unproven(v.message);
        values.set(v.key, v.value);
      }
    }
    const missing = keys.find((k) => !values.has(k));
    if (missing !== undefined) throw unproven(`no proof of ${missing}`);
    return { height: h, values };
  }

  /** One record that must exist in the final state, decoded; MISSING_RECORD when it does not. */
  async record<T>(key: string, decode: (b: Uint8Array) => T, what: string): Promise<T> {
    const s = await this.proven([key]);
    const v = s.values.get(key);
    if (v === null || v === undefined)
      throw new MarketError(
        'MISSING_RECORD',
        `no ${what} record ${key} in the final state (height ${s.height})`,
      );
    return decodeRecord(decode, v, what);
  }
}

/** Decodes a proven record; a record that does not decode is the node's BAD_RESPONSE. */
export function decodeRecord<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, what: string): T {
  try {
    return decode(bytes);
  } catch (err) {
    throw new MarketError(
      'BAD_RESPONSE',
      `the node's ${what} record does not decode: ${(err as Error).message}`,
    );
  }
}
