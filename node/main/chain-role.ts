/**
 * The chain role of a node (its config's `chain` section): reads the node key and the genesis file,
 * opens the chain database, starts the FullNode (peers, consensus, mempool) and the HTTP JSON API.
 * With an `ingest` section too, the node is a storage node: it indexes the final chain's descriptor
 * anchors into the ingest database and serves the market routes (node/http/market-api.ts) from it,
 * over a connection of its own (WAL: the API's reads do not wait for the ingest's writes).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type SignatureCacheStats, toHex } from '../../chain/index.js';
import { type ChainConfig, type IngestConfig, splitHostPort } from '../config.js';
import { type ApiServer, type MarketContext, startApiServer } from '../http/index.js';
import { AnchorIndex, IngestStore } from '../ingest/index.js';
import { type AdmissionLimits, tcpTransport } from '../p2p/index.js';
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
import { NodeStartError } from './node-start-error.js';

/** What `qood status` shows of the chain role. */
export interface ChainRoleStatus {
  readonly address: string;
  readonly head: number;
  readonly final: number;
  readonly peers: number;
  readonly mempool: number;
  /** Final height through which descriptor anchors are indexed (storage nodes only). */
  readonly anchorsIndexedThrough?: number;
  readonly signatures: SignatureCacheStats | undefined;
}

/** What the chain role is started with. */
export interface ChainRoleOptions {
  readonly config: ChainConfig;
  /** Where the chain database and the signing guard are by default. */
  readonly dataDir: string;
  readonly logger: NodeLog;
  /** With it, the node is also the storage node of this ingest database. */
  readonly ingest?: IngestConfig;
  /** Sees each finality event, after the anchors it finalised were indexed. */
  readonly onFinal?: (e: FinalityEvent) => void;
  /** Sees each block and vote sent or received, and each finality step. */
  readonly onTrace?: (t: NodeTrace, atMs: number) => void;
}

/** A started chain role. */
export interface ChainRole {
  readonly node: FullNode;
  /** The API's URL, when it listens. */
  readonly apiUrl: string | undefined;
  /** What `qood status` shows. */
  status(): ChainRoleStatus;
  /** Stops the HTTP API, the node and its verify workers, then closes the databases. */
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
 * Starts the chain role. A key or genesis file that does not load is a `usage` NodeStartError; a
 * database, the signing guard or the node that does not start is a `failure`.
 */
export async function startChainRole(o: ChainRoleOptions): Promise<ChainRole> {
  const { config: cfg, dataDir, logger, ingest, onFinal, onTrace } = o;
  const fail = (role: 'chain' | 'storage', err: unknown, file?: string): NodeStartError =>
    new NodeStartError({
      code: 'failure',
      role,
      message: (err as Error).message,
      ...(file === undefined ? {} : { file }),
      cause: err,
    });
  let signer: ReturnType<typeof readKeyFile>;
  let genesis: ReturnType<typeof readGenesisFile>;
  try {
    signer = readKeyFile(cfg.keyFile);
    genesis = readGenesisFile(cfg.genesisFile, cfg.preset);
  } catch (err) {
    if (err instanceof KeyFileError || err instanceof GenesisFileError)
      throw new NodeStartError({
        code: 'usage',
        role: 'chain',
        message: err.message,
        file: err.path,
        cause: err,
      });
    throw err;
  }
  const chainPath = cfg.path ?? join(dataDir, 'chain.db');
  const guardPath = join(dataDir, 'signing-guard.json');
  let store: SqliteChainStore;
  let guard: FileSigningGuard;
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw fail('chain', err, dataDir);
  }
  try {
    store = new SqliteChainStore({ path: chainPath });
  } catch (err) {
    throw fail('chain', err, chainPath);
  }
  try {
    guard = new FileSigningGuard(guardPath);
  } catch (err) {
    store.close();
    throw fail('chain', err, guardPath);
  }
  let market: IngestStore | undefined;
  let anchors: AnchorIndex | undefined;
  if (ingest !== undefined) {
    const ingestPath = ingest.path ?? join(dataDir, 'ingest.db');
    try {
      market = new IngestStore({ path: ingestPath });
    } catch (err) {
      store.close();
      throw fail('storage', err, ingestPath);
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
      ...(cfg.p2p === undefined ? {} : { admission: admissionOf(cfg.p2p) }),
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
    throw fail('chain', err, err instanceof SigningGuardError ? err.path : undefined);
  }
  const marketCtx: MarketContext | undefined =
    market === undefined ? undefined : { store: market, indexedHeight: () => anchors?.height ?? 0 };
  let api: ApiServer | undefined;
  try {
    api = cfg.http === undefined ? undefined : await startApiServer(node, ...hostPort(cfg.http), marketCtx);
  } catch (err) {
    // The API's port in use: stop what did start, or its peer connections keep the process alive.
    await node.stop();
    await pool?.close();
    store.close();
    market?.close();
    throw fail('chain', err);
  }
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

/** The admission limits a config sets (exactOptionalPropertyTypes: no undefined fields). */
function admissionOf(p2p: NonNullable<ChainConfig['p2p']>): Partial<AdmissionLimits> {
  return Object.fromEntries(Object.entries(p2p).filter(([, v]) => v !== undefined));
}

function hostPort(v: string): [string, number] {
  const { host, port } = splitHostPort(v);
  return [host, port];
}
