/**
 * The chain role of `qood node`: reads the node key and the genesis file, opens the chain database,
 * starts the FullNode (peers, consensus, mempool) and the HTTP JSON API. Loaded lazily by
 * cli/commands/node.ts when the config has a `chain` section. With an `ingest` section too, the
 * node is a storage node: it indexes the final chain's descriptor anchors into the ingest database
 * and serves the market routes (node/http/market-api.ts) from it, over a connection of its
 * own (WAL: the API's reads do not wait for the ingest's writes).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../chain/index.js';
import { CliExit, EXIT } from '../../cli/exit-codes.js';
import { type ChainConfig, type IngestConfig, splitHostPort } from '../config.js';
import { type MarketContext, startApiServer } from '../http/index.js';
import { AnchorIndex, IngestStore } from '../ingest/index.js';
import { tcpTransport } from '../p2p/index.js';
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
  VerifyPool,
} from '../runtime/index.js';
import { SqliteChainStore } from '../store/index.js';

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

/**
 * Starts the chain role; usage problems (files, genesis) end the process with exit 2. With
 * `ingest` (the node's ingest section) it also takes the storage role.
 */
export async function startChainRole(
  cfg: ChainConfig,
  dataDir: string,
  logger: NodeLog,
  onFinal?: (e: FinalityEvent) => void,
  ingest?: IngestConfig,
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
  let market: IngestStore | undefined;
  let anchors: AnchorIndex | undefined;
  if (ingest !== undefined) {
    try {
      market = new IngestStore({ path: ingest.path ?? join(dataDir, 'ingest.db') });
    } catch (err) {
      store.close();
      throw new CliExit(EXIT.failure, `qood node: storage: ${(err as Error).message}`);
    }
  }
  const indexAnchors = (height: number): void => {
    try {
      const n = anchors?.catchUp(height) ?? 0;
      if (n > 0) logger.info({ anchors: n, height: anchors!.height }, 'descriptor anchors indexed');
    } catch (err) {
      logger.error({ err: (err as Error).message, height }, 'indexing descriptor anchors failed');
    }
  };
  let node: FullNode;
  const pool = cfg.verifyWorkers > 0 ? new VerifyPool({ workers: cfg.verifyWorkers }) : undefined;
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
      ...(pool === undefined ? {} : { verifyPool: pool }),
      log: logger,
      onFinal: (e) => {
        indexAnchors(e.certificate.height);
        onFinal?.(e);
      },
      ...(onTrace === undefined ? {} : { onTrace }),
    });
    if (market !== undefined) {
      const n = node;
      anchors = new AnchorIndex({
        store: market,
        genesisId: toHex(n.genesisState.blockId),
        block: (h) => n.block(h),
        finalState: () => n.lastFinal.state,
      });
    }
    await node.start();
    indexAnchors(node.lastFinal.height);
  } catch (err) {
    store.close();
    market?.close();
    await pool?.close();
    if (err instanceof SigningGuardError) throw new CliExit(EXIT.failure, `qood node: chain: ${err.message}`);
    throw new CliExit(EXIT.failure, `qood node: chain: ${(err as Error).message}`);
  }
  const marketCtx: MarketContext | undefined =
    market === undefined ? undefined : { store: market, indexedHeight: () => anchors?.height ?? 0 };
  const api =
    cfg.http === undefined ? undefined : await startApiServer(node, ...hostPort(cfg.http), marketCtx);
  logger.info(
    {
      address: node.address,
      p2p: node.network.listenPort,
      http: api?.url,
      final: node.lastFinal.height,
      peers: cfg.peers.length,
      storage: market !== undefined,
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
      ...(anchors === undefined ? {} : { anchorsIndexedThrough: anchors.height }),
      signatures: node.signatureCache?.stats,
    }),
    stop: async () => {
      await api?.close();
      await node.stop();
      await pool?.close();
      store.close();
      market?.close();
    },
  };
}

function hostPort(v: string): [string, number] {
  const { host, port } = splitHostPort(v);
  return [host, port];
}
