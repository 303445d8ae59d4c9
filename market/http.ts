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
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, { ...init, signal });
    } catch (err) {
      // A pooled keep-alive connection the node closed while this process was busy (a blocking
      // call longer than the server's idle timeout) fails the next request with "other side
      // closed" before it reached the node. A GET is idempotent (RFC 9110 §9.2.2): send it once
      // more, on a fresh connection. Anything else is reported as it is.
      if (init.method === 'GET' && isStaleConnection(err) && !signal.aborted) {
        try {
          res = await this.#fetch(`${this.baseUrl}${path}`, { ...init, signal });
        } catch (again) {
          throw unreachable(this.baseUrl, path, again);
        }
      } else throw unreachable(this.baseUrl, path, err);
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

/** Socket errors that mean the connection was gone before the request reached the server. */
const STALE_CONNECTION_CODES: ReadonlySet<string> = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

function isStaleConnection(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' && STALE_CONNECTION_CODES.has(code);
}

function unreachable(baseUrl: string, path: string, err: unknown): MarketError {
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  return new MarketError('UNREACHABLE', `${baseUrl}${path}: ${cause ?? (err as Error).message}`);
}
