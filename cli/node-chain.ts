/**
 * The chain role of `qood node`: reads the node key and the genesis file, opens the chain database,
 * starts the FullNode (peers, consensus, mempool) and the HTTP JSON API. Loaded lazily by
 * cli/commands/node.ts when the config has a `chain` section.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../chain/index.js';
import { type ChainConfig, splitHostPort } from '../chain/node/config.js';
import { startApiServer } from '../chain/node/http/index.js';
import { tcpTransport } from '../chain/node/p2p/index.js';
import {
  FileSigningGuard,
  type FinalityEvent,
  FullNode,
  GenesisFileError,
  KeyFileError,
  type NodeLog,
  type NodeTrace,
  readGenesisFile,
  readKeyFile,
  SigningGuardError,
} from '../chain/node/runtime/index.js';
import { SqliteChainStore } from '../chain/store/index.js';
import { CliExit, EXIT } from './exit-codes.js';

/** A started chain role. */
export interface ChainRole {
  readonly node: FullNode;
  /** The API's URL, when it listens. */
  readonly apiUrl: string | undefined;
  /** What `qood status` shows. */
  status(): unknown;
  stop(): Promise<void>;
}

/**
 * Logs each block and vote the node sends or receives, and each finality step, as one debug line
 * (`trace`: blockSent | blockReceived | voteSent | voteReceived | final, with `atMs`, the node's wall
 * clock). Nodes sharing a clock (one machine, network namespaces) give propagation latencies from
 * these lines; `qood node --log-level trace` turns them on.
 */
export function logNodeTraces(logger: {
  debug(fields: Record<string, unknown>, msg: string): void;
}): (t: NodeTrace, atMs: number) => void {
  return (t, atMs) => {
    if (t.kind === 'final')
      logger.debug(
        {
          trace: t.kind,
          atMs,
          blocks: t.blocks.map((b) => ({ height: b.height, id: toHex(b.blockId), timeMs: b.timeMs })),
        },
        'node trace',
      );
    else logger.debug({ trace: t.kind, atMs, id: t.id, height: t.height }, 'node trace');
  };
}

/** Starts the chain role; usage problems (files, genesis) end the process with exit 2. */
export async function startChainRole(
  cfg: ChainConfig,
  dataDir: string,
  logger: NodeLog,
  onFinal?: (e: FinalityEvent) => void,
  onTrace?: (t: NodeTrace, atMs: number) => void,
): Promise<ChainRole> {
  let signer: ReturnType<typeof readKeyFile>;
  let genesis: ReturnType<typeof readGenesisFile>;
  try {
    signer = readKeyFile(cfg.keyFile);
    genesis = readGenesisFile(cfg.genesisFile, cfg.preset);
  } catch (err) {
    if (err instanceof KeyFileError || err instanceof GenesisFileError)
      throw new CliExit(EXIT.usage, `qood node: chain: ${err.message}`);
    throw err;
  }
  let store: SqliteChainStore;
  let guard: FileSigningGuard;
  try {
    mkdirSync(dataDir, { recursive: true });
    store = new SqliteChainStore({ path: cfg.path ?? join(dataDir, 'chain.db') });
    guard = new FileSigningGuard(join(dataDir, 'signing-guard.json'));
  } catch (err) {
    throw new CliExit(EXIT.failure, `qood node: chain: ${(err as Error).message}`);
  }
  let node: FullNode;
  try {
    node = new FullNode({
      genesis,
      signer,
      store,
      guard,
      transport: tcpTransport,
      ...(cfg.listen === undefined ? {} : { listen: splitHostPort(cfg.listen) }),
      peers: cfg.peers.map(splitHostPort),
      maxMempool: cfg.maxMempool,
      log: logger,
      ...(onFinal === undefined ? {} : { onFinal }),
      ...(onTrace === undefined ? {} : { onTrace }),
    });
    await node.start();
  } catch (err) {
    store.close();
    if (err instanceof SigningGuardError) throw new CliExit(EXIT.failure, `qood node: chain: ${err.message}`);
    throw new CliExit(EXIT.failure, `qood node: chain: ${(err as Error).message}`);
  }
  const api = cfg.http === undefined ? undefined : await startApiServer(node, ...hostPort(cfg.http));
  logger.info(
    {
      address: node.address,
      p2p: node.network.listenPort,
      http: api?.url,
      final: node.lastFinal.height,
      peers: cfg.peers.length,
    },
    'chain role started',
  );
  return {
    node,
    apiUrl: api?.url,
    status: () => ({
      address: node.address,
      head: node.head.height,
      final: node.lastFinal.height,
      peers: node.network.peerKeys.length,
      mempool: node.mempoolSize,
    }),
    stop: async () => {
      await api?.close();
      await node.stop();
      store.close();
    },
  };
}

function hostPort(v: string): [string, number] {
  const { host, port } = splitHostPort(v);
  return [host, port];
}
