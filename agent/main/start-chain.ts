/**
 * The agent's chain stage, for a `chain` section: the chain view follows finality updates from the
 * broker, starting from the trusted checkpoint read at start, and hands proven grant records to the
 * permissions; when the device anchors its descriptors, the order desk fills proven buy orders for
 * them with wrapped keys.
 */
import type { LocalMethod, Logger, Metrics } from '../../process/index.js';
import { ChainView } from '../chain/chain-view.js';
import type { TrustedCheckpoint } from '../chain/checkpoint-file.js';
import { OrderDesk } from '../chain/order-desk.js';
import type { AgentConfig } from '../config/index.js';
import { AgentError } from '../errors.js';
import type { Permissions } from '../permissions/permissions.js';
import type { Sink } from './start-sink.js';
import type { Teardown } from './teardown.js';

export interface StartChainOptions {
  readonly config: AgentConfig;
  /** The checkpoint of the `chain` section, read once at start. */
  readonly trusted: TrustedCheckpoint;
  readonly sink: Sink;
  readonly permissions: Permissions | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Wall clock for the checkpoint's age and the orders' expiry. */
  readonly nowMs: () => number;
  readonly teardown: Teardown;
}

/**
 * Starts the chain view (and the order desk when the data path anchors); returns the local API
 * method `chain.status`. Throws LightError('STALE_CHECKPOINT') for a checkpoint past its age.
 */
export function startChain(o: StartChainOptions): Record<string, LocalMethod> {
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
  const view = new ChainView({
    checkpoint: o.trusted.checkpoint,
    uplink,
    metrics: o.metrics,
    logger: chainLogger,
    maxCheckpointAgeMs: chain.maxCheckpointAgeDays * 86_400_000,
    nowMs: o.nowMs,
    ...(o.permissions === undefined ? {} : { grants: o.permissions.registry }),
    ...(config.sync?.topicPrefix === undefined ? {} : { topicPrefix: config.sync.topicPrefix }),
  });
  view.start();
  o.teardown.add(() => view.stop());
  chainLogger.info(
    { checkpoint: chain.checkpoint, finalHeight: view.finalHeight },
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
  return { 'chain.status': () => ({ finalHeight: view.finalHeight }) };
}
