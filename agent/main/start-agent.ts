/**
 * The agent's wiring: given a validated config and the process services (logger, service manager),
 * starts the local API and the data path, tells the service manager when it is ready and feeds its
 * watchdog while the event loop runs. `stop()` undoes everything in reverse order.
 */
import { readFileSync } from 'node:fs';
import { agreementId, chainVehicleId, type Sample, toHex } from '../../chain/index.js';
import type { CanBus, GnssSource, OpenSerial } from '../../firmware-bridge/index.js';
import {
  type LocalApiServer,
  type LocalMethod,
  type Logger,
  Metrics,
  type ServiceNotifier,
  startLocalApi,
} from '../../process/index.js';
import { deviceChainId } from '../chain/start.js';
import { DEFAULT_COLLECT } from '../config/collect.js';
import {
  type AgentConfig,
  type CanSourceConfig,
  type GnssSourceConfig,
  storagePath,
} from '../config/index.js';
import { loadDbcFile } from '../decode/can/index.js';
import { FrameMapper, resolveSignalMap } from '../decode/vss-map/index.js';
import { vssDictionary } from '../dictionary/index.js';

import type { Permissions } from '../permissions/permissions.js';
import { CanSource } from '../pipeline/can-source.js';
import { DataPath, type DescriptorAnchoring } from '../pipeline/data-path.js';
import { GnssPipelineSource, openConfiguredGnss } from '../pipeline/gnss-source.js';
import { LatestValues } from '../pipeline/latest-values.js';
import { startObdSource } from '../pipeline/obd-source.js';
import { type Batch, loadBinding, loadOrCreateDeviceKey, type SealedChunkOut } from '../seal/index.js';
import { type ChunkStore, openChunkStoreOrMoveAside } from '../store/index.js';
import type { ChunkSync, Uplink } from '../sync/index.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly notifier: ServiceNotifier;
  readonly metrics?: Metrics;
  /** Numeric gid for the local socket, resolved from `device.ownerGroup` by the caller. */
  readonly ownerGid?: number;
  /** Opens a configured CAN interface (SocketCAN on a device, a memory bus in the demo and tests). */
  readonly openCanBus?: (source: Pick<CanSourceConfig, 'interface' | 'fd'>) => Promise<CanBus>;
  /** Opens a serial port (the ELM327 of the `obd` source); serialport on a device. */
  readonly openSerial?: OpenSerial;
  /** Opens the configured GNSS receiver (default: its serial port or gpsd, retrying until it is there). */
  readonly openGnss?: (source: GnssSourceConfig) => Promise<GnssSource>;
  /** Receives every batch of samples the sources produce (the data path downstream). */
  readonly onSamples?: (samples: readonly Sample[]) => void;
  /** Sees each chunk after the store committed it (the demo prints them; crash tests log them). */
  readonly onChunkStored?: (chunk: SealedChunkOut) => void;
  /** Sees each batch after its descriptor was stored and queued (tests check what the node got). */
  readonly onBatch?: (batch: Batch) => void;
  /** Wall clock in ms for the data path (tests give a fake one). */
  readonly nowMs?: () => number;
  /** Opens the link to the broker (default: MQTT from `config.sync`); tests pass a memory broker's. */
  readonly openUplink?: (config: NonNullable<AgentConfig['sync']>) => Uplink;
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

/** Starts the agent. Rejects if the local socket cannot be opened. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { config, logger, notifier } = options;
  const metrics = options.metrics ?? new Metrics();
  metrics.declare(...AGENT_COUNTERS);
  const stops: (() => Promise<void> | void)[] = [];

  const latest = new LatestValues();
  let store: ChunkStore | undefined;
  let sync: ChunkSync | undefined;
  let uplink: Uplink | undefined;
  let permissions: Permissions | undefined;
  const buses = new Map<string, CanBus>();
  const methods: Record<string, LocalMethod> = {
    status: () => ({
      role: 'agent',
      vehicleId: config.device.vehicleId,
      ...metrics.snapshot(),
      ...(store === undefined ? {} : { store: { ...store.usage(), counters: store.counters() } }),
    }),
    latest: () => latest.snapshot(),
  };

  let dataPath: DataPath | undefined;
  /** Every source's samples go here: latest values, the data path, and the caller's hook. */
  const emit = (samples: readonly Sample[]): void => {
    latest.add(samples);
    dataPath?.add(samples);
    options.onSamples?.(samples);
  };

  const runStops = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    // Sources first: a DBC or map that does not load stops the start with its file:line.
    const canSources = config.sources.can;
    if (canSources.length > 0 && options.openCanBus === undefined)
      throw new Error('CAN sources are configured but this build has no CAN driver to open them');
    for (const src of canSources) {
      const dbc = loadDbcFile(src.dbc);
      for (const w of dbc.database.warnings) logger.warn({ file: src.dbc, line: w.line }, w.message);
      const mappings =
        src.map === undefined
          ? undefined
          : resolveSignalMap(readFileSync(src.map, 'utf8'), src.map, dbc, vssDictionary());
      const bus = await options.openCanBus!(src);
      buses.set(src.interface, bus);
      const source = new CanSource({
        bus,
        mapper: new FrameMapper(dbc, mappings),
        metrics,
        logger: logger.child({ bus: src.interface }),
        onSamples: emit,
      });
      source.start();
      stops.push(async () => {
        source.stop();
        await bus.close();
      });
      logger.info(
        { bus: src.interface, dbc: src.dbc, messages: dbc.database.messages.length },
        'CAN source started',
      );
    }

    if (config.sources.obd !== undefined)
      stops.push(
        await startObdSource(config.sources.obd, {
          ...(options.openSerial ? { openSerial: options.openSerial } : {}),
          ...(options.openCanBus
            ? { openCanBus: (iface) => options.openCanBus!({ interface: iface, fd: false }) }
            : {}),
          metrics,
          logger: logger.child({ source: 'obd' }),
          onSamples: emit,
        }),
      );

    const gnssCfg = config.sources.gnss;
    if (gnssCfg !== undefined) {
      const receiver = await (options.openGnss ?? openConfiguredGnss)(gnssCfg);
      const gnss = new GnssPipelineSource({
        source: receiver,
        maxClockSkewMs: gnssCfg.maxClockSkewMs,
        metrics,
        logger: logger.child({ gnss: receiver.name }),
        onSamples: emit,
        // GNSS speed is Vehicle.Speed only where no vehicle bus reports the wheel speed.
        speedToVehicleSpeed: canSources.length === 0 && config.sources.obd === undefined,
      });
      gnss.start();
      stops.push(async () => {
        gnss.stop();
        await receiver.close();
      });
      logger.info({ gnss: receiver.name }, 'GNSS source started');
    }

    if (config.storage !== undefined || config.sync !== undefined) {
      const opened = openChunkStoreOrMoveAside({
        path: storagePath(config),
        quotaBytes: config.storage?.quotaBytes ?? 256 * 1024 * 1024,
        synchronous: config.storage?.synchronous ?? 'full',
        logger,
      });
      const s = opened.store;
      store = s;
      stops.push(() => s.close());
      logger.info({ path: s.path, ...s.usage(), migration: s.migration }, 'chunk store open');
    }
    if (config.sync !== undefined && store !== undefined) {
      const cfg = config.sync;
      const { ChunkSync, openMqttUplink } = await import('../sync/index.js');
      const link =
        options.openUplink?.(cfg) ??
        openMqttUplink({
          url: cfg.broker,
          clientId: config.device.vehicleId,
          protocolVersion: cfg.protocolVersion,
          sessionExpirySec: cfg.sessionExpirySec,
          ...(cfg.username === undefined ? {} : { username: cfg.username }),
          ...(cfg.password === undefined ? {} : { password: cfg.password }),
          ...(cfg.tls === undefined ? {} : { tls: cfg.tls }),
        });
      uplink = link;
      const started = new ChunkSync({
        store,
        uplink: link,
        vehicleId: config.device.vehicleId,
        metrics,
        logger: logger.child({ stage: 'sync' }),
        topicPrefix: cfg.topicPrefix,
        maxInFlight: cfg.maxInFlight,
        ackTimeoutMs: cfg.ackTimeoutMs,
      });
      started.start();
      sync = started;
      stops.push(
        () => link.close(),
        () => started.stop(),
      );
      logger.info({ broker: cfg.broker, topicPrefix: cfg.topicPrefix }, 'sync started');
    }

    if (store !== undefined) {
      const started = startDataPath(config, store, metrics, logger, () => sync?.notify(), options);
      if (started !== undefined) {
        dataPath = started;
        const timer = setInterval(() => started.tick(), 1000);
        timer.unref();
        // Runs before the sync stops and the store closes (stops run in reverse).
        stops.push(() => {
          clearInterval(timer);
          started.flush();
        });
      }
    }

    if (config.permissions !== undefined) {
      if (store === undefined)
        throw new Error('permissions need the store: add a `storage` (or `sync`) section to the config');
      const { startPermissions } = await import('../permissions/start.js');
      const started = await startPermissions({
        config,
        latest,
        uplink,
        buses,
        openCanBus:
          options.openCanBus === undefined
            ? undefined
            : (iface) => options.openCanBus!({ interface: iface, fd: false }),
        nowMs: options.nowMs ?? Date.now,
        metrics,
        logger,
      });
      if (started !== undefined) {
        permissions = started.permissions;
        Object.assign(methods, started.methods);
        stops.push(() => started.stop());
        if (sync !== undefined) {
          // Revokes and control executions are queued in the outbox by the permission store, not
          // the data path: publish them within a second even when no chunk is being stored.
          const timer = setInterval(() => sync?.notify(), 1000);
          timer.unref();
          stops.push(() => clearInterval(timer));
        }
      }
    }

    if (config.chain !== undefined) {
      if (uplink === undefined)
        throw new Error('the chain section needs a `sync` section: finality updates come from the broker');
      const { startChainView } = await import('../chain/start.js');
      const view = startChainView({
        config: config.chain,
        uplink,
        metrics,
        logger: logger.child({ stage: 'chain' }),
        nowMs: options.nowMs ?? Date.now,
        ...(permissions === undefined ? {} : { grants: permissions.registry }),
        ...(config.sync?.topicPrefix === undefined ? {} : { topicPrefix: config.sync.topicPrefix }),
      });
      methods['chain.status'] = () => ({ finalHeight: view.finalHeight });
      stops.push(() => view.stop());
      if (dataPath?.anchorAgreement !== undefined && store !== undefined) {
        // The device sells its own descriptors: it fills proven buy orders with wrapped keys.
        const { OrderDesk } = await import('../chain/order-desk.js');
        const desk = new OrderDesk({
          uplink,
          view,
          store,
          identity: dataPath.identity,
          signer: dataPath.signer,
          chainId: view.client.head.chainId,
          agreementId: dataPath.anchorAgreement,
          metrics,
          logger: logger.child({ stage: 'sales' }),
          topicPrefix: config.sync?.topicPrefix ?? 'qood/v1',
          nowMs: options.nowMs ?? Date.now,
          onQueued: () => sync?.notify(),
        });
        desk.start();
        stops.push(() => desk.stop());
      }
    }

    const api: LocalApiServer = await startLocalApi({
      socketPath: config.device.socketPath,
      methods,
      ...(options.ownerGid === undefined ? {} : { ownerGid: options.ownerGid }),
    });
    stops.push(() => api.close());
    logger.info({ socket: api.socketPath }, 'local API listening');
  } catch (err) {
    // Undo what did start (buses opened before the one that failed) before reporting.
    await runStops();
    throw err;
  }

  if (notifier.watchdogIntervalMs !== undefined) {
    const timer = setInterval(() => notifier.watchdog(), notifier.watchdogIntervalMs);
    timer.unref();
    stops.push(() => clearInterval(timer));
  }
  notifier.ready();
  notifier.status(`running; vehicle ${config.device.vehicleId}`);
  logger.info({ vehicleId: config.device.vehicleId }, 'agent ready');

  return {
    metrics,
    latest,
    store,
    sync,
    flush() {
      dataPath?.flush();
    },
    permissions,
    async stop() {
      notifier.stopping();
      await runStops();
      logger.info({}, 'agent stopped');
    },
  };
}

/**
 * The data path (collect, chunk, seal, store) when the device is paired; undefined otherwise, with
 * a warning that says how to pair. The device key is made here at first start.
 */
function startDataPath(
  config: AgentConfig,
  store: ChunkStore,
  metrics: Metrics,
  logger: Logger,
  onStored: () => void,
  options: Pick<AgentOptions, 'nowMs' | 'onChunkStored' | 'onBatch'>,
): DataPath | undefined {
  const device = loadOrCreateDeviceKey(config.device.dataDir);
  const devicePub = Buffer.from(device.publicKey).toString('hex');
  if (device.created) logger.info({ devicePublicKey: devicePub }, 'device key created');
  const paired = loadBinding(config.device.dataDir, device, config.device.vehicleId);
  if (paired === undefined) {
    logger.warn(
      { devicePublicKey: devicePub, dataDir: config.device.dataDir },
      'not paired: samples are decoded but not stored; pair with `qood keys pair --seed-file FILE --data-dir DIR --vehicle ID`',
    );
    return undefined;
  }
  // With a chain and an agreement (the binding names the OEM), the device anchors its descriptors.
  const b = paired.binding;
  let anchor: DescriptorAnchoring | undefined;
  if (config.chain !== undefined && b.oemPublicKey !== null)
    anchor = {
      chainId: deviceChainId(config.chain),
      agreementId: agreementId(
        chainVehicleId(config.device.vehicleId),
        toHex(b.ownerPublicKey),
        toHex(b.oemPublicKey),
      ),
    };
  else if (config.chain !== undefined)
    logger.warn(
      {},
      'descriptors are not anchored on chain: the binding names no OEM, so there is no agreement',
    );
  const dp = new DataPath({
    collect: config.collect ?? DEFAULT_COLLECT,
    identity: {
      vehicleId: config.device.vehicleId,
      deviceSecretKey: device.secretKey,
      dataRoot: paired.dataRoot,
      oemPublicKey: paired.binding.oemPublicKey,
      epochLengthS: paired.binding.epochLengthS,
      dictionaryId: vssDictionary().id,
    },
    ownerPublicKey: paired.binding.ownerPublicKey,
    store,
    metrics,
    logger: logger.child({ stage: 'data' }),
    nowMs: options.nowMs ?? Date.now,
    onStored,
    ...(options.onChunkStored === undefined ? {} : { onSealed: options.onChunkStored }),
    ...(options.onBatch === undefined ? {} : { onBatch: options.onBatch }),
    ...(anchor === undefined ? {} : { anchor }),
  });
  logger.info(
    { devicePublicKey: devicePub, streams: (config.collect ?? DEFAULT_COLLECT).schemes.map((s) => s.name) },
    'data path started',
  );
  return dp;
}
