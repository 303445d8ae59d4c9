/**
 * A local network of FullNodes in this process over real TCP sockets on loopback, for tests and the
 * node-net bench: N producers of a fresh genesis starting at the next slot, each listening on a free
 * port and dialing the others.
 */

import {
  type ChainStore,
  Ed25519Signer,
  type GenesisSpec,
  MemoryChainStore,
  sha256,
} from '../../chain/index.js';
import { tcpTransport } from '../../node/p2p/index.js';
import { FullNode, type FullNodeOptions, localGenesis } from '../../node/runtime/index.js';

/** The deterministic key of a test node or account. */
export function testKey(label: string): Ed25519Signer {
  return new Ed25519Signer(sha256(new TextEncoder().encode(`qood-node-net/${label}`)));
}

export interface LocalNet {
  readonly genesis: GenesisSpec;
  readonly nodes: FullNode[];
  readonly keys: Ed25519Signer[];
  readonly whale: Ed25519Signer;
  stop(): Promise<void>;
}

/** Starts `n` nodes; `extra` adds options per node (stores, traces). */
export async function startLocalNet(
  n: number,
  extra: (i: number) => Partial<FullNodeOptions> & { store?: ChainStore } = () => ({}),
): Promise<LocalNet> {
  const keys = Array.from({ length: n }, (_, i) => testKey(`producer/${i}`));
  const whale = testKey('whale');
  const genesis = localGenesis({
    chainId: 'qood-test',
    preset: 'minimal',
    producers: keys,
    whale,
    timeMs: Date.now(),
  });
  const nodes: FullNode[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const node = new FullNode({
      genesis,
      signer: keys[i]!,
      store: new MemoryChainStore(),
      transport: tcpTransport,
      listen: { host: '127.0.0.1', port: 0 },
      peers: ports.map((port) => ({ host: '127.0.0.1', port })),
      ...extra(i),
    });
    await node.start();
    ports.push(node.network.listenPort);
    nodes.push(node);
  }
  return {
    genesis,
    nodes,
    keys,
    whale,
    stop: async () => {
      for (const node of nodes) await node.stop();
    },
  };
}

/** Resolves when `cond` holds, polling every 50 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
