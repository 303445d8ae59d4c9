/**
 * A real one-producer chain node for the owner's wallet tests: startNode (the `qood node`
 * composition root) in this process, with its HTTP API on loopback and a genesis whose whale holds
 * the QDT the tests hand out. Also a lying HTTP proxy in front of it, which forwards every request
 * and lets a test rewrite the answers on their way.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ed25519Signer, fromHex } from '../../chain/index.js';
import {
  formatGenesis,
  localGenesis,
  newNodeSecret,
  nodeConfigSchema,
  type RunningNode,
  startNode,
  writeKeyFile,
} from '../../node/index.js';
import { noopNotifier, silentLogger } from '../../process/index.js';

/** A running one-producer node. */
export interface OwnerChain {
  readonly apiUrl: string;
  readonly chainId: string;
  /** The secret key of the account that holds 1e9 QDT at genesis. */
  readonly whaleSecret: Uint8Array;
  readonly node: RunningNode;
  /** The node's current checkpoint bytes (what a user who trusts this node keeps). */
  checkpoint(): Promise<Uint8Array>;
  stop(): Promise<void>;
}

/** Starts a one-producer chain node in a fresh folder and waits for its first final block. */
export async function startOwnerChain(chainId = 'qood-owner-test'): Promise<OwnerChain> {
  const dir = mkdtempSync(join(tmpdir(), 'qood-owner-chain-'));
  mkdirSync(dir, { recursive: true });
  const secret = newNodeSecret();
  const keyFile = join(dir, 'node.key');
  const genesisFile = join(dir, 'genesis.yaml');
  writeKeyFile(keyFile, secret);
  const whaleSecret = newNodeSecret();
  const whale = new Ed25519Signer(whaleSecret);
  writeFileSync(
    genesisFile,
    formatGenesis(
      localGenesis({
        chainId,
        preset: 'minimal',
        producers: [new Ed25519Signer(secret)],
        whale,
        timeMs: Date.now(),
      }),
    ),
  );
  const config = nodeConfigSchema.parse({
    node: { dataDir: dir, socketPath: join(dir, 'node.sock') },
    chain: { keyFile, genesisFile, preset: 'minimal', listen: '127.0.0.1:0', http: '127.0.0.1:0' },
  });
  const node = await startNode({ config, logger: silentLogger, notifier: noopNotifier });
  const apiUrl = node.apiUrl!;
  // Bounded by the test's own timeout: one producer finalises its first block within a few slots.
  while ((node.fullNode?.lastFinal.height ?? 0) < 1) await new Promise((r) => setTimeout(r, 50));
  return {
    apiUrl,
    chainId,
    whaleSecret,
    node,
    checkpoint: async () =>
      fromHex(((await (await fetch(`${apiUrl}/checkpoint`)).json()) as { bytes: string }).bytes),
    stop: async () => {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A rewrite of one answer: the request path and the upstream bytes; returns the bytes to send. */
export type Rewrite = (path: string, body: Uint8Array) => Uint8Array;

/** An HTTP proxy in front of `upstream` whose answers go through `rewrite` (settable). */
export async function startLyingProxy(upstream: string): Promise<{
  url: string;
  rewrite: Rewrite;
  setRewrite(r: Rewrite): void;
  close(): Promise<void>;
}> {
  let rewrite: Rewrite = (_p, b) => b;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const init: RequestInit = { method: req.method ?? 'GET' };
    if (req.method === 'POST') {
      init.body = Buffer.concat(chunks);
      init.headers = { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' };
    }
    const up = await fetch(`${upstream}${req.url}`, init);
    let body: Uint8Array = new Uint8Array(await up.arrayBuffer());
    if (up.ok) body = rewrite(req.url ?? '/', body);
    res.writeHead(up.status, {
      'content-type': up.headers.get('content-type') ?? 'application/octet-stream',
      'content-length': body.length,
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return {
    url: `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`,
    get rewrite() {
      return rewrite;
    },
    setRewrite(r: Rewrite) {
      rewrite = r;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
