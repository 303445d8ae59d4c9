/**
 * The agent's chain stage, for a `chain` section: the chain view follows finality updates from the
 * broker, starting from the light client's saved state in the data folder when it is newer than the
 * trusted checkpoint read at start (light-state-file.ts), saves that state as it moves, and hands
 * proven grant records to the permissions; when the device anchors its descriptors, the order desk
 * fills proven buy orders for them with wrapped keys.
 *
 * Issue 14, attack 8: a head older than `chain.maxCheckpointAgeDays` no longer stops the start
 * (exit 2, which systemd does not retry, took the owner's local API and the data collection with
 * it); the view starts stale, refuses only chain-proven input, and `chain.status` / `qood status`
 * say so with the way out.
 */
import { type Account, toHex } from '../../chain/index.js';
import type { LocalMethod, Logger, Metrics } from '../../process/index.js';
import { ChainView, type ChainViewStatus } from '../chain/chain-view.js';
import type { TrustedCheckpoint } from '../chain/checkpoint-file.js';
import { seedDeviceNonce } from '../chain/device-nonce.js';
import { chooseStart, lightStatePath, saveLightState } from '../chain/light-state-file.js';
import { OrderDesk } from '../chain/order-desk.js';
import type { AgentConfig } from '../config/index.js';
import { AgentError } from '../errors.js';
import type { Permissions } from '../permissions/permissions.js';
import type { DeviceState } from './load-device.js';
import type { Sink } from './start-sink.js';
import type { Teardown } from './teardown.js';

export interface StartChainOptions {
  readonly config: AgentConfig;
  /** The checkpoint of the `chain` section, read once at start. */
  readonly trusted: TrustedCheckpoint;
  readonly sink: Sink;
  /** The device's key (its chain account), when the config keeps chunks. */
  readonly device: DeviceState | undefined;
  readonly permissions: Permissions | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Wall clock for the checkpoint's age and the orders' expiry. */
  readonly nowMs: () => number;
  readonly teardown: Teardown;
}

/** The started chain stage: its local API methods and its status for the agent's `status`. */
export interface StartedChain {
  readonly methods: Record<string, LocalMethod>;
  readonly status: () => ChainViewStatus;
  /** The time of the light client's latest final header (the device clock's chain reference). */
  readonly finalTimeMs: () => number;
}

/**
 * Starts the chain view (and the order desk when the data path anchors); returns the local API
 * method `chain.status` and the view's status. Throws CheckpointFileError OTHER_CHAIN when the
 * saved light-client state is of another chain than the checkpoint; never for an old head.
 */
export function startChain(o: StartChainOptions): StartedChain {
  const { config, sink, logger } = o;
  const chain = config.chain!;
  const uplink = sink.uplink;
  if (uplink === undefined)
    throw new AgentError(
      'CONFIG_RULE',
      'the chain section needs a `sync` section: finality updates come from the broker',
      { field: 'chain' },
    );
  const chainLogger = logger.child({ stage: 'chain' });
  const stateFile = lightStatePath(config.device.dataDir);
  const start = chooseStart(o.trusted.checkpoint, stateFile, chainLogger, o.nowMs());
  const view = new ChainView({
    checkpoint: start.checkpoint,
    uplink,
    metrics: o.metrics,
    logger: chainLogger,
    maxCheckpointAgeMs: chain.maxCheckpointAgeDays * 86_400_000,
    nowMs: o.nowMs,
    saveState: (cp) => saveLightState(stateFile, cp, o.nowMs()),
    // A recreated store would number the device's records from 0 again: seed from the chain.
    ...(o.device === undefined || sink.store === undefined
      ? {}
      : {
          deviceAccount: {
            address: toHex(o.device.publicKey),
            onProven: (account: Account, height: number) =>
              seedDeviceNonce(sink.store!, account, height, chainLogger),
          },
        }),
    freshCheckpointHint: `qood node checkpoint --api <a trusted node's URL> --out ${chain.checkpoint}, then restart the agent`,
    ...(o.permissions === undefined ? {} : { grants: o.permissions.registry }),
    ...(config.sync?.topicPrefix === undefined ? {} : { topicPrefix: config.sync.topicPrefix }),
  });
  view.start();
  o.teardown.add(() => view.stop());
  const status = view.status();
  if (status.state === 'stale')
    chainLogger.warn(
      { checkpoint: chain.checkpoint, finalHeight: view.finalHeight },
      `chain: ${status.message}`,
    );
  else
    chainLogger.info(
      { checkpoint: chain.checkpoint, finalHeight: view.finalHeight, from: start.from },
      'following chain finality',
    );
  const { dataPath, store } = sink;
  if (dataPath?.anchorAgreement !== undefined && store !== undefined) {
    // The device sells its own descriptors: it fills proven buy orders with wrapped keys.
    const desk = new OrderDesk({
      uplink,
      view,
      store,
      identity: dataPath.identity,
      signer: dataPath.signer,
      chainId: view.client.head.chainId,
      agreementId: dataPath.anchorAgreement,
      metrics: o.metrics,
      logger: logger.child({ stage: 'sales' }),
      topicPrefix: config.sync?.topicPrefix ?? 'qood/v1',
      nowMs: o.nowMs,
      onQueued: () => sink.sync?.notify(),
    });
    desk.start();
    o.teardown.add(() => desk.stop());
  }
  return {
    methods: { 'chain.status': () => view.status() },
    status: () => view.status(),
    finalTimeMs: () => view.client.head.timeMs,
  };
}
