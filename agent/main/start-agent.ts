/**
 * The agent's composition root: given a validated config and the process services (logger, service
 * manager), it starts the stages in the order data flows backwards, so every sample a source
 * produces has somewhere to go:
 *
 *   1. adapters    the concrete SocketCAN, serial, gpsd and MQTT openers, or the caller's (adapters.ts)
 *   2. sources     DBCs and maps loaded, buses and receivers open; nothing flows yet (open-sources.ts)
 *   3. identity    the device key and binding, and the chain checkpoint, read once (load-device.ts)
 *   4. sink        store, sync and data path (start-sink.ts)
 *   5. beside it   permissions (start-permissions.ts) and the chain view (start-chain.ts)
 *   6. start       the sources start feeding the sink
 *   7. local API   the owner's socket; then ready for the service manager, and its watchdog fed
 *
 * A stage that fails undoes what started before it; `stop()` undoes everything in reverse order.
 */
import type { Sample } from '../../chain/index.js';
import type { OpenSerial } from '../../firmware-bridge/index.js';
import {
  type LocalApiServer,
  type LocalMethod,
  type Logger,
  Metrics,
  type ServiceNotifier,
  startLocalApi,
} from '../../process/index.js';
import { readTrustedCheckpoint } from '../chain/checkpoint-file.js';
import type { AgentConfig } from '../config/index.js';
import type { Permissions } from '../permissions/permissions.js';
import { LatestValues } from '../pipeline/latest-values.js';
import type { Batch, SealedChunkOut } from '../seal/index.js';
import type { ChunkStore } from '../store/index.js';
import type { ChunkSync } from '../sync/chunk-sync.js';
import { type OpenCanBus, type OpenGnss, type OpenUplink, pickAdapters } from './adapters.js';
import { loadDevice } from './load-device.js';
import { openSources, type SampleSink } from './open-sources.js';
import type { StartedChain } from './start-chain.js';
import type { StartedPermissions } from './start-permissions.js';
import { keepsChunks, type Sink, startSink } from './start-sink.js';
import { Teardown } from './teardown.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly notifier: ServiceNotifier;
  readonly metrics?: Metrics;
  /** Numeric gid for the local socket, resolved from `device.ownerGroup` by the caller. */
  readonly ownerGid?: number;
  /** Opens a configured CAN interface (default: SocketCAN; the demo and tests pass a memory bus). */
  readonly openCanBus?: OpenCanBus;
  /** Opens a serial port (the ELM327 of the `obd` source, an NMEA receiver); default: serialport. */
  readonly openSerial?: OpenSerial;
  /** Opens the configured GNSS receiver (default: its serial port or gpsd, retrying until it is there). */
  readonly openGnss?: OpenGnss;
  /** Receives every batch of samples the sources produce, after the data path has them. */
  readonly onSamples?: (samples: readonly Sample[]) => void;
  /** Sees each chunk after the store committed it (the demo prints them; crash tests log them). */
  readonly onChunkStored?: (chunk: SealedChunkOut) => void;
  /** Sees each batch after its descriptor was stored and queued (tests check what the node got). */
  readonly onBatch?: (batch: Batch) => void;
  /** Wall clock in ms for the data path (tests give a fake one). */
  readonly nowMs?: () => number;
  /** Opens the link to the broker (default: MQTT from `config.sync`); tests pass a memory broker's. */
  readonly openUplink?: OpenUplink;
}

/** A running agent. */
export interface RunningAgent {
  readonly metrics: Metrics;
  /** The latest value of every signal. */
  readonly latest: LatestValues;
  /** The store of sealed chunks, when `storage` or `sync` is configured. */
  readonly store: ChunkStore | undefined;
  /** The sync, when `sync` is configured; call `notify()` after storing chunks. */
  readonly sync: ChunkSync | undefined;
  /** Closes open chunks and the open batch now (they are sealed, stored and handed to the sync). */
  flush(): void;
  /** Grants, control and listener APIs, when `permissions` is configured and the device is paired. */
  readonly permissions: Permissions | undefined;
  stop(): Promise<void>;
}

/**
 * The counters every agent reports, present from start so `qood status` shows them at 0. Stages
 * declare their own (chunks stored, bytes synced) when they run, so a counter is never shown for a
 * stage this agent does not have.
 */
export const AGENT_COUNTERS = ['frames.in', 'frames.errors', 'samples.out'] as const;

/**
 * Starts the agent. Rejects, with everything it had started stopped again, when a file the config
 * names does not load (DbcError, SignalMapError, CheckpointFileError, DeviceIdentityError ...), a
 * device does not open (CanBusError), this build lacks a driver (AgentError) or the local socket
 * cannot be opened.
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { config, logger, notifier } = options;
  const metrics = options.metrics ?? new Metrics();
  metrics.declare(...AGENT_COUNTERS);
  const teardown = new Teardown();
  let started: Started;
  try {
    started = await startStages(options, metrics, teardown);
  } catch (err) {
    await teardown.run();
    throw err;
  }
  if (notifier.watchdogIntervalMs !== undefined) {
    const timer = setInterval(() => notifier.watchdog(), notifier.watchdogIntervalMs);
    timer.unref();
    teardown.add(() => clearInterval(timer));
  }
  notifier.ready();
  notifier.status(`running; vehicle ${config.device.vehicleId}`);
  logger.info({ vehicleId: config.device.vehicleId }, 'agent ready');

  const { latest, sink, permissions } = started;
  return {
    metrics,
    latest,
    store: sink.store,
    sync: sink.sync,
    flush() {
      sink.dataPath?.flush();
    },
    permissions,
    async stop() {
      notifier.stopping();
      await teardown.run();
      logger.info({}, 'agent stopped');
    },
  };
}

/** What the stages built that the running agent hands out. */
interface Started {
  readonly latest: LatestValues;
  readonly sink: Sink;
  readonly permissions: Permissions | undefined;
}

/** The stages, in order; each adds its undo steps to `teardown` as it goes. */
async function startStages(options: AgentOptions, metrics: Metrics, teardown: Teardown): Promise<Started> {
  const { config, logger } = options;
  const nowMs = options.nowMs ?? Date.now;
  const common = { config, metrics, logger, nowMs, teardown };

  // 1-2. The adapters, and the sources open but not started: a DBC or map that does not load
  // stops the start here with its file:line, before anything is written.
  const adapters = pickAdapters(config, options);
  const sources = await openSources({ ...common, adapters });

  // 3. Who the device is and which chain it trusts, read once for every stage below.
  const device = keepsChunks(config) ? loadDevice(config, logger) : undefined;
  const trusted = config.chain === undefined ? undefined : readTrustedCheckpoint(config.chain);

  // 4. Where samples go.
  const sink = await startSink({
    ...common,
    device,
    chainId: trusted?.chainId,
    adapters,
    onChunkStored: options.onChunkStored,
    onBatch: options.onBatch,
  });

  // 5. Beside the data path: grants, control and listeners; the chain view and sales.
  const latest = new LatestValues();
  let permissions: StartedPermissions | undefined;
  if (config.permissions !== undefined) {
    const { startPermissions } = await import('./start-permissions.js');
    permissions = await startPermissions({
      ...common,
      device,
      sink,
      latest,
      buses: sources.buses,
      adapters,
      // The chain stage starts next; until then (and without one) the clock has no chain reference.
      chainTimeMs: () => chain?.finalTimeMs(),
    });
  }
  let chain: StartedChain | undefined;
  if (trusted !== undefined) {
    const { startChain } = await import('./start-chain.js');
    chain = startChain({ ...common, trusted, sink, device, permissions: permissions?.permissions });
  }

  // 6. Everything downstream exists: the sources start.
  sources.start(sampleSink(latest, sink, options.onSamples));

  // 7. The owner's local API.
  await startOwnerApi(
    options,
    {
      status: () => ({
        role: 'agent',
        vehicleId: config.device.vehicleId,
        ...metrics.snapshot(),
        ...(sink.store === undefined
          ? {}
          : { store: { ...sink.store.usage(), counters: sink.store.counters() } }),
        // Following or stale (issue 14, attack 8): `qood status` prints its message.
        ...(chain === undefined ? {} : { chain: chain.status() }),
        // Whether control may run: the wall clock against GNSS and chain time (issue 14, attack 6).
        ...(permissions === undefined ? {} : { clock: permissions.permissions.clock.status() }),
      }),
      latest: () => latest.snapshot(),
      ...permissions?.methods,
      ...chain?.methods,
    },
    teardown,
  );
  return { latest, sink, permissions: permissions?.permissions };
}

/** Where every source's samples go: the latest values, the data path, then the caller's hook. */
function sampleSink(latest: LatestValues, sink: Sink, onSamples: AgentOptions['onSamples']): SampleSink {
  const dataPath = sink.dataPath;
  return (samples) => {
    latest.add(samples);
    dataPath?.add(samples);
    onSamples?.(samples);
  };
}

/** Listens on `device.socketPath` (root, or the owner group when `ownerGid` is given). */
async function startOwnerApi(
  options: AgentOptions,
  methods: Record<string, LocalMethod>,
  teardown: Teardown,
): Promise<void> {
  const api: LocalApiServer = await startLocalApi({
    socketPath: options.config.device.socketPath,
    methods,
    ...(options.ownerGid === undefined ? {} : { ownerGid: options.ownerGid }),
  });
  teardown.add(() => api.close());
  options.logger.info({ socket: api.socketPath }, 'local API listening');
}
