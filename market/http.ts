/**
 * The node's HTTP API as the buyer's tools call it, over the global fetch (or one injected for
 * tests). Every request is bounded by `timeoutMs`; a node's `{"error":{code,message}}` becomes a
 * MarketError('NODE_REFUSED') carrying the status and the node's code.
 */
import { MarketError } from './errors.js';

/** The fetch function (the global one by default). */
export type FetchFn = typeof globalThis.fetch;

/** A node's HTTP API. */
export class NodeHttp {
  readonly baseUrl: string;
  readonly #fetch: FetchFn;
  readonly #timeoutMs: number;

  constructor(options: { baseUrl: string; fetch?: FetchFn; timeoutMs?: number }) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async #request(path: string, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, {
        ...init,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new MarketError('UNREACHABLE', `${this.baseUrl}${path}: ${cause ?? (err as Error).message}`);
    }
    if (res.ok) return res;
    let code = `HTTP_${res.status}`;
    let message = res.statusText;
    try {
      const doc = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
      if (typeof doc.error?.code === 'string') code = doc.error.code;
      if (typeof doc.error?.message === 'string') message = doc.error.message;
    } catch {}
    throw new MarketError('NODE_REFUSED', `${code}: ${message}`, { status: res.status, nodeCode: code });
  }

  /** GET a JSON document. */
  async getJson<T>(path: string): Promise<T> {
    const res = await this.#request(path, { method: 'GET' });
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw new MarketError('BAD_RESPONSE', `${path}: not JSON (${(err as Error).message})`);
    }
  }

  /** GET bytes, with the response headers. */
  async getBytes(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ bytes: Uint8Array; headers: Headers }> {
    const res = await this.#request(path, { method: 'GET', headers });
    return { bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
  }

  /** POST CBOR bytes; returns the JSON answer. */
  async postCbor<T>(path: string, body: Uint8Array): Promise<T> {
    const res = await this.#request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body,
    });
    return (await res.json()) as T;
  }
}
