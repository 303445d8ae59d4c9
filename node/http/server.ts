/**
 * The node:http adapter of the node's API: the only file in node/ that serves HTTP. It reads a
 * request body up to MAX_BODY_BYTES (413 beyond, without reading the rest), bounds header and
 * request times and connections, and answers with handleApi's JSON.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { FullNode } from '../runtime/full-node.js';
import { handleApi, MAX_BODY_BYTES } from './api.js';
import type { MarketContext } from './market-api.js';
import type { ApiResponse } from './types.js';

/** A running API server. */
export interface ApiServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendResponse(res: ServerResponse, r: ApiResponse): void {
  if (r.contentType === undefined || !(r.body instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
    send(res, r.status, r.body);
    return;
  }
  res.writeHead(r.status, {
    ...r.headers,
    'content-type': r.contentType,
    'content-length': r.body.length,
  });
  res.end(r.body);
}

function handle(node: FullNode, req: IncomingMessage, res: ServerResponse, market?: MarketContext): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    res.setHeader('connection', 'close');
    send(res, 413, {
      error: { code: 'TOO_LARGE', message: `body of ${declared} bytes; at most ${MAX_BODY_BYTES}` },
    });
    req.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (c: Buffer) => {
    if (refused) return;
    size += c.length;
    if (size > MAX_BODY_BYTES) {
      refused = true;
      res.setHeader('connection', 'close');
      send(res, 413, { error: { code: 'TOO_LARGE', message: `body over ${MAX_BODY_BYTES} bytes` } });
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (refused) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0] : v;
    try {
      const r = handleApi(
        node,
        {
          method: req.method ?? 'GET',
          path: q < 0 ? url : url.slice(0, q),
          query: q < 0 ? '' : url.slice(q + 1),
          headers,
          contentType: String(req.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks),
        },
        market,
      );
      sendResponse(res, r);
    } catch (e) {
      send(res, 500, { error: { code: 'INTERNAL', message: (e as Error).message } });
    }
  });
}

/** Serves the API on host:port (0: any free port); `market` adds the storage role's routes. */
export function startApiServer(
  node: FullNode,
  host: string,
  port: number,
  market?: MarketContext,
): Promise<ApiServer> {
  const server = createServer((req, res) => handle(node, req, res, market));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxConnections = 512;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      const bound = typeof a === 'object' && a !== null ? a.port : port;
      resolve({
        host,
        port: bound,
        url: `http://${host}:${bound}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
