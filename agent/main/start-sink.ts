/**
 * Where samples go, built before any source starts: the store of sealed chunks (when `storage` or
 * `sync` is configured), the sync of that store to the broker (`sync`), and the data path that
 * collects, chunks, seals and stores (when the device is paired). Each piece is undone by the
 * teardown: the data path flushes before the sync stops, and the sync stops before the store closes.
 */
import { agreementId, chainVehicleId, Ed25519Signer, fromHex, toHex } from '../../chain/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import { DEFAULT_COLLECT } from '../config/collect.js';
import { type AgentConfig, storagePath } from '../config/index.js';
import { vssDictionary } from '../dictionary/index.js';
import { DataPath, type DescriptorAnchoring } from '../pipeline/data-path.js';
import type { Batch, SealedChunkOut } from '../seal/index.js';
import { type ChunkStore, openChunkStoreOrMoveAside } from '../store/index.js';
import { ChunkSync } from '../sync/chunk-sync.js';
import type { Uplink } from '../sync/uplink.js';
import type { Adapters } from './adapters.js';
import type { DeviceState } from './load-device.js';
import type { Teardown } from './teardown.js';

/** The agent's sink; each part is undefined when the config or the pairing leaves it out. */
export interface Sink {
  readonly store: ChunkStore | undefined;
  readonly uplink: Uplink | undefined;
  readonly sync: ChunkSync | undefined;
  readonly dataPath: DataPath | undefined;
}

export interface StartSinkOptions {
  readonly config: AgentConfig;
  /** Loaded when the store is configured. */
  readonly device: DeviceState | undefined;
  /** The chain id from the trusted checkpoint, when the config has a `chain` section. */
  readonly chainId: string | undefined;
  readonly adapters: Adapters;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly nowMs: () => number;
  readonly teardown: Teardown;
  readonly onChunkStored?: ((chunk: SealedChunkOut) => void) | undefined;
  readonly onBatch?: ((batch: Batch) => void) | undefined;
}

/** True when the config keeps sealed chunks (and so needs the device key). */
export function keepsChunks(config: AgentConfig): boolean {
  return config.storage !== undefined || config.sync !== undefined;
}

/** Opens the store, starts the sync and builds the data path. */
export async function startSink(o: StartSinkOptions): Promise<Sink> {
  if (!keepsChunks(o.config) || o.device === undefined)
    return { store: undefined, uplink: undefined, sync: undefined, dataPath: undefined };
  const store = openStore(o);
  const synced = o.config.sync === undefined ? undefined : await startSync(store, o.device, o);
  const dataPath = startDataPath(store, o.device, () => synced?.sync.notify(), o);
  return { store, uplink: synced?.uplink, sync: synced?.sync, dataPath };
}

function openStore(o: StartSinkOptions): ChunkStore {
  const { config, logger } = o;
  const { store } = openChunkStoreOrMoveAside({
    path: storagePath(config),
    quotaBytes: config.storage?.quotaBytes ?? 256 * 1024 * 1024,
    synchronous: config.storage?.synchronous ?? 'full',
    logger,
  });
  o.teardown.add(() => store.close());
  logger.info({ path: store.path, ...store.usage(), migration: store.migration }, 'chunk store open');
  return store;
}

async function startSync(
  store: ChunkStore,
  device: DeviceState,
  o: StartSinkOptions,
): Promise<{ uplink: Uplink; sync: ChunkSync }> {
  const cfg = o.config.sync!;
  const uplink = await o.adapters.openUplink(cfg);
  const sync = new ChunkSync({
    store,
    uplink,
    vehicleId: o.config.device.vehicleId,
    device: new Ed25519Signer(device.secretKey),
    // The storage node keys come from the config until the checkpoint carries them.
    nodeKeys: cfg.nodeKeys.map((k) => fromHex(k)),
    metrics: o.metrics,
    logger: o.logger.child({ stage: 'sync' }),
    topicPrefix: cfg.topicPrefix,
    maxInFlight: cfg.maxInFlight,
    ackTimeoutMs: cfg.ackTimeoutMs,
  });
  sync.start();
  o.teardown.add(
    () => uplink.close(),
    () => sync.stop(),
  );
  o.logger.info({ broker: cfg.broker, topicPrefix: cfg.topicPrefix }, 'sync started');
  return { uplink, sync };
}

/**
 * The data path (collect, chunk, seal, store) when the device is paired; undefined otherwise, with
 * a warning that says how to pair. Ticks every second so quiet chunks and batches still close.
 */
function startDataPath(
  store: ChunkStore,
  device: DeviceState,
  onStored: () => void,
  o: StartSinkOptions,
): DataPath | undefined {
  const { config, logger } = o;
  const devicePublicKey = toHex(device.publicKey);
  const paired = device.paired;
  if (paired === undefined) {
    logger.warn(
      { devicePublicKey, dataDir: config.device.dataDir },
      'not paired: samples are decoded but not stored; pair with `qood keys pair --seed-file FILE --data-dir DIR --vehicle ID`',
    );
    return undefined;
  }
  const anchor = descriptorAnchoring(paired.binding, o);
  const collect = config.collect ?? DEFAULT_COLLECT;
  const dataPath = new DataPath({
    collect,
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
    metrics: o.metrics,
    logger: logger.child({ stage: 'data' }),
    nowMs: o.nowMs,
    onStored,
    ...(o.onChunkStored === undefined ? {} : { onSealed: o.onChunkStored }),
    ...(o.onBatch === undefined ? {} : { onBatch: o.onBatch }),
    ...(anchor === undefined ? {} : { anchor }),
  });
  const timer = setInterval(() => dataPath.tick(), 1000);
  timer.unref();
  // Added after the sync's steps, so it runs before the sync stops and the store closes.
  o.teardown.add(() => {
    clearInterval(timer);
    dataPath.flush();
  });
  logger.info({ devicePublicKey, streams: collect.schemes.map((s) => s.name) }, 'data path started');
  return dataPath;
}

/** With a chain and an agreement (the binding names the OEM), the device anchors its descriptors. */
function descriptorAnchoring(
  binding: NonNullable<DeviceState['paired']>['binding'],
  o: StartSinkOptions,
): DescriptorAnchoring | undefined {
  if (o.chainId === undefined) return undefined;
  if (binding.oemPublicKey === null) {
    o.logger.warn(
      {},
      'descriptors are not anchored on chain: the binding names no OEM, so there is no agreement',
    );
    return undefined;
  }
  return {
    chainId: o.chainId,
    agreementId: agreementId(
      chainVehicleId(o.config.device.vehicleId),
      toHex(binding.ownerPublicKey),
      toHex(binding.oemPublicKey),
    ),
  };
}
