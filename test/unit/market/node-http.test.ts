/**
 * NodeHttp's one retry: a GET whose pooled keep-alive connection the node had already closed (undici
 * reports "other side closed", UND_ERR_SOCKET) is sent once more; a POST, or any other failure, is
 * reported as UNREACHABLE at once.
 */
import { describe, expect, it } from 'vitest';
import { NodeHttp } from '../../../market/http.js';
import { MarketError } from '../../../market/index.js';

function staleSocket(): TypeError {
  return new TypeError('fetch failed', { cause: { code: 'UND_ERR_SOCKET', message: 'other side closed' } });
}

/** A fetch that fails with `errors` in turn, then answers `{ ok: true }`; it counts its calls. */
function flakyFetch(errors: Error[]): { fetch: typeof globalThis.fetch; calls: () => number } {
  let n = 0;
  const fetch = (async () => {
    const err = errors[n++];
    if (err !== undefined) throw err;
    return new Response(JSON.stringify({ ok: true }), { headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { fetch, calls: () => n };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof MarketError ? err.code : String(err);
  }
}

describe('NodeHttp on a connection the node closed', () => {
  it('sends a GET once more when the pooled connection was already closed', async () => {
    const f = flakyFetch([staleSocket()]);
    const http = new NodeHttp({ baseUrl: 'http://node', fetch: f.fetch });
    expect(await http.getJson('/status')).toEqual({ ok: true });
    expect(f.calls()).toBe(2);
  });

  it('retries only once: a second stale connection is UNREACHABLE', async () => {
    const f = flakyFetch([staleSocket(), staleSocket()]);
    const http = new NodeHttp({ baseUrl: 'http://node', fetch: f.fetch });
    expect(await codeOf(http.getJson('/status'))).toBe('UNREACHABLE');
    expect(f.calls()).toBe(2);
  });

  it('never resends a POST, and does not retry a refused connection', async () => {
    const post = flakyFetch([staleSocket()]);
    const http = new NodeHttp({ baseUrl: 'http://node', fetch: post.fetch });
    expect(await codeOf(http.postCbor('/tx', new Uint8Array([1])))).toBe('UNREACHABLE');
    expect(post.calls()).toBe(1);
    const refused = flakyFetch([new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })]);
    const http2 = new NodeHttp({ baseUrl: 'http://node', fetch: refused.fetch });
    expect(await codeOf(http2.getJson('/status'))).toBe('UNREACHABLE');
    expect(refused.calls()).toBe(1);
  });
});
