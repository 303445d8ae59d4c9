/**
 * Peer networks on loopback for the p2p tests: node n has the key filled with n, listens on an
 * ephemeral port, dials the given ports and records what it receives and which peers went down.
 * `stopAll` stops every network started since the last call.
 */
import { Ed25519Signer, toHex } from '../../chain/index.js';
import { type NetworkOptions, type P2pMessage, PeerNetwork, tcpTransport } from '../../node/p2p/index.js';

/** A started network and what it saw. */
export interface TestNode {
  readonly net: PeerNetwork;
  readonly key: string;
  readonly got: { from: string; msg: P2pMessage }[];
  readonly downs: string[];
}

/** The key of test node n. */
export const p2pTestKey = (n: number): Ed25519Signer => new Ed25519Signer(new Uint8Array(32).fill(n));

/** Starts nodes on `genesisId` (chain 'qood-unit') and stops them together. */
export function p2pTestNodes(genesisId: Uint8Array) {
  const nodes: TestNode[] = [];
  return {
    /** A network with key n listening on 127.0.0.1 and dialing `peers`. */
    async startNode(n: number, peers: readonly number[] = [], extra: Partial<NetworkOptions> = {}) {
      const got: TestNode['got'] = [];
      const downs: string[] = [];
      const net = new PeerNetwork({
        ctx: { chainId: 'qood-unit', genesisId, signer: p2pTestKey(n) },
        transport: tcpTransport,
        listen: { host: '127.0.0.1', port: 0 },
        peers: peers.map((port) => ({ host: '127.0.0.1', port })),
        onMessage: (from, msg) => got.push({ from, msg }),
        onPeer: (k, up) => {
          if (!up) downs.push(k);
        },
        ...extra,
      });
      await net.start();
      const node: TestNode = { net, key: toHex(p2pTestKey(n).publicKey), got, downs };
      nodes.push(node);
      return node;
    },
    async stopAll(): Promise<void> {
      for (const n of nodes.splice(0)) await n.net.stop();
    },
  };
}
