/**
 * The full node's composition root: given a validated config and the process services (logger,
 * metrics, service manager), starts the roles the config enables, in this order: ingest (an
 * `ingest` section), chain (a `chain` section; with both, the chain role is also the storage node),
 * the device link (both sections), and the local API socket that `qood status` reads. It then tells
 * the service manager it is ready and feeds its watchdog. `stop()` undoes everything in reverse
 * order; a start that fails undoes what did start before it throws.
 */
import {
  type LocalApiServer,
  type Logger,
  type LogLevel,
  Metrics,
  type MetricsSnapshot,
  type ServiceNotifier,
  startLocalApi,
} from '../../process/index.js';
import type { NodeConfig } from '../config.js';
import type { FinalityEvent, FullNode, NodeTrace } from '../runtime/index.js';
import { type ChainRole, type ChainRoleStatus, logNodeTraces, startChainRole } from './chain-role.js';
import { type DeviceLinkRole, type DeviceLinkStatus, startDeviceLinkRole } from './device-link-role.js';
import { startIngestRole } from './ingest-role.js';

/** What a node is started with. */
export interface NodeOptions {
  /** The node's config, validated (node/config.ts). */
  readonly config: NodeConfig;
  readonly logger: Logger;
  /** Readiness, watchdog and stopping notifications (noopNotifier outside a service manager). */
  readonly notifier: ServiceNotifier;
  /** Where the roles count what they do (default: new counters). */
  readonly metrics?: Metrics;
  /**
   * The level `logger` was made with. At `trace`, the chain role logs a debug line per block and
   * vote sent or received and per finality step (logNodeTraces), for latency measurements.
   */
  readonly logLevel?: LogLevel;
  /** Sees each finality event of the chain role. */
  readonly onFinal?: (e: FinalityEvent) => void;
  /** Sees each block and vote the chain role sends or receives, and each finality step. */
  readonly onTrace?: (t: NodeTrace, atMs: number) => void;
}

/** What `qood status` shows of a node: its counters, and its chain role's status when it has one. */
export interface NodeStatus extends MetricsSnapshot {
  readonly role: 'node';
  readonly chain?: ChainRoleStatus & { readonly bridge?: DeviceLinkStatus };
}

/** A running node. */
export interface RunningNode {
  readonly metrics: Metrics;
  /** The chain role's node, when the config has a `chain` section. */
  readonly fullNode: FullNode | undefined;
  /** The chain role's HTTP API, when it listens. */
  readonly apiUrl: string | undefined;
  /** The local API socket (`qood status`). */
  readonly socketPath: string;
  status(): NodeStatus;
  /** Stops the roles in the reverse order of their start; resolves when all are stopped. */
  stop(): Promise<void>;
}

/**
 * Starts the node. Rejects with a NodeStartError when a role does not start (its `code` says
 * whether the config is at fault), after stopping the roles started before it.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { config, logger, notifier } = options;
  const metrics = options.metrics ?? new Metrics();
  const dataDir = config.node.dataDir;
  const stops: (() => unknown)[] = [];
  const runStops = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };

  let chain: ChainRole | undefined;
  let deviceLink: DeviceLinkRole | undefined;
  const status = (): NodeStatus => ({
    role: 'node',
    ...metrics.snapshot(),
    ...(chain === undefined
      ? {}
      : {
          chain: { ...chain.status(), ...(deviceLink === undefined ? {} : { bridge: deviceLink.status() }) },
        }),
  });
  let api: LocalApiServer;
  try {
    const ingest =
      config.ingest === undefined
        ? undefined
        : startIngestRole({
            config: config.ingest,
            dataDir,
            chainKeyFile: config.chain?.keyFile,
            logger,
            metrics,
          });
    if (ingest !== undefined) stops.push(() => ingest.stop());

    if (config.chain !== undefined) {
      const chainLog = logger.child({ role: 'chain' });
      const onTrace = traceHook(options.onTrace, options.logLevel === 'trace' ? chainLog : undefined);
      const started = await startChainRole({
        config: config.chain,
        dataDir,
        logger: chainLog,
        ...(config.ingest === undefined ? {} : { ingest: config.ingest }),
        ...(options.onFinal === undefined ? {} : { onFinal: options.onFinal }),
        ...(onTrace === undefined ? {} : { onTrace }),
      });
      chain = started;
      stops.push(() => started.stop());
      // From now on the ingest serves the devices bound on chain (its final state), as well as
      // those the static override names.
      if (ingest !== undefined) {
        const node = started.node;
        const devices = ingest.devices;
        devices.attachChain(() => node.lastFinal.state, { followsBlocks: true });
        // Each finality event names the blocks it made final; their bindings drop those vehicles'
        // cached keys (ingest/device-keys.ts).
        const off = node.onFinality((e) =>
          devices.finalised(e.blocks.map((b) => ({ height: b.height, txs: node.block(b.height)?.txs }))),
        );
        stops.push(() => off());
        logger.info(
          { overridden: ingest.devices.staticVehicles.length },
          'ingest serves the device keys bound on chain (final state); ingest.deviceKeys overrides them for the vehicles it names',
        );
      }

      if (ingest !== undefined && config.ingest !== undefined) {
        const link = startDeviceLinkRole({
          link: ingest.link,
          store: ingest.store,
          node: started.node,
          prefix: config.ingest.topicPrefix,
          vehicleIds: ingest.devices.staticVehicles,
          vehicleOf: (chainId) => ingest.devices.vehicleIdOf(chainId),
          logger,
          metrics,
        });
        deviceLink = link;
        stops.push(() => link.stop());
      }
    }

    const local = await startLocalApi({ socketPath: config.node.socketPath, methods: { status } });
    api = local;
    stops.push(() => local.close());
  } catch (err) {
    await runStops();
    throw err;
  }

  if (notifier.watchdogIntervalMs !== undefined) {
    const timer = setInterval(() => notifier.watchdog(), notifier.watchdogIntervalMs);
    // The roles keep the process alive; the watchdog only reports that they still do.
    timer.unref();
    stops.push(() => clearInterval(timer));
  }
  notifier.ready();
  logger.info({ socket: api.socketPath }, 'node ready');

  return {
    metrics,
    fullNode: chain?.node,
    apiUrl: chain?.apiUrl,
    socketPath: api.socketPath,
    status,
    async stop() {
      notifier.stopping();
      await runStops();
      logger.info({}, 'node stopped');
    },
  };
}

/** The caller's trace hook and the trace log lines, when there are any of them. */
function traceHook(
  hook: ((t: NodeTrace, atMs: number) => void) | undefined,
  traceLog: Logger | undefined,
): ((t: NodeTrace, atMs: number) => void) | undefined {
  const log = traceLog === undefined ? undefined : logNodeTraces(traceLog);
  if (hook === undefined) return log;
  if (log === undefined) return hook;
  return (t, atMs) => {
    log(t, atMs);
    hook(t, atMs);
  };
}
