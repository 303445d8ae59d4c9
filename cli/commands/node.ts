/**
 * `qood node --config FILE`: runs the full node until SIGINT/SIGTERM, with the roles its config
 * enables: with an `ingest` section, it takes devices' chunks, descriptors and queued transactions
 * from the broker, stores them and acknowledges them; with a `chain` section, it takes part in
 * consensus with its peers, keeps the chain and serves the HTTP JSON API (cli/node-chain.ts); with
 * both, the device link publishes finality updates to devices and submits their queued chain
 * transactions (cli/node-bridge.ts). `qood node checkpoint` fetches a checkpoint for devices.
 */
import type { Command } from 'commander';
import type { IngestLink, IngestStore } from '../../node/ingest/index.js';
import { CliExit, EXIT } from '../exit-codes.js';
import { parseLogLevel } from './agent.js';
import { registerNodeCheckpoint } from './node-checkpoint.js';

export function registerNode(program: Command): void {
  const node = program.command('node');
  registerNodeCheckpoint(node);
  node
    .description('run a full node (the roles its config enables)')
    .requiredOption('-c, --config <file>', 'node config file (YAML)', '/etc/qood/node.yaml')
    .option(
      '--log-level <level>',
      'override log.level (trace adds a line per block and vote sent or received)',
    )
    .action(async (opts: { config: string; logLevel?: string }) => {
      const [
        { loadNodeConfig },
        { startLocalApi },
        { Metrics },
        { createLogger },
        { runUntilSignal },
        { systemdNotifier },
      ] = await Promise.all([
        import('../load-config.js'),
        import('../../process/local-api/server.js'),
        import('../../process/metrics.js'),
        import('../../process/logger.js'),
        import('../../process/signals.js'),
        import('../../process/sd-notify.js'),
      ]);
      const config = loadNodeConfig(opts.config);
      const level = parseLogLevel(opts.logLevel, config.log.level);
      const logger = createLogger(level, 'node');
      const metrics = new Metrics();
      const notifier = systemdNotifier(process.env, (err) =>
        logger.warn({ err: err.message }, 'sd_notify failed'),
      );
      const stops: (() => unknown)[] = [];
      let ingestRole: { link: IngestLink; store: IngestStore } | undefined;
      if (config.ingest !== undefined) {
        const { join } = await import('node:path');
        const ing = await import('../../node/ingest/index.js');
        const cfg = config.ingest;
        const path = cfg.path ?? join(config.node.dataDir, 'ingest.db');
        let store: InstanceType<typeof ing.IngestStore>;
        try {
          store = new ing.IngestStore({ path });
        } catch (err) {
          // A missing or unwritable data folder may be fixed by an operator: exit 1, systemd retries.
          throw new CliExit(EXIT.failure, `qood node: ingest: ${(err as Error).message}`);
        }
        const link = ing.openMqttIngestLink({
          url: cfg.broker,
          clientId: cfg.clientId,
          protocolVersion: cfg.protocolVersion,
          ...(cfg.username === undefined ? {} : { username: cfg.username }),
          ...(cfg.password === undefined ? {} : { password: cfg.password }),
          ...(cfg.tls === undefined ? {} : { tls: cfg.tls }),
        });
        metrics.declare(...ing.INGEST_COUNTERS);
        const ingest = new ing.ChunkIngest({
          link,
          store,
          verifyChunk: ing.sealedChunkVerifier(cfg.deviceKeys),
          verifyDescriptor: ing.sealedDescriptorVerifier(cfg.deviceKeys),
          logger: logger.child({ role: 'ingest' }),
          topicPrefix: cfg.topicPrefix,
          onCount: (name, by) => metrics.inc(name, by),
        });
        ingest.start();
        ingestRole = { link, store };
        stops.push(
          () => ingest.stop(),
          () => link.close(),
          () => store.close(),
        );
        logger.info(
          { broker: cfg.broker, path, vehicles: Object.keys(cfg.deviceKeys).length },
          'ingest role started',
        );
      }
      let chainStatus: (() => unknown) | undefined;
      if (config.chain !== undefined) {
        const { startChainRole, logNodeTraces } = await import('../../node/main/chain-role.js');
        const chainLog = logger.child({ role: 'chain' });
        // At trace level: a line per block and vote sent or received (latency measurements).
        const traces = level === 'trace' ? logNodeTraces(chainLog) : undefined;
        const role = await startChainRole(
          config.chain,
          config.node.dataDir,
          chainLog,
          undefined,
          config.ingest,
          traces,
        );
        chainStatus = role.status;
        stops.unshift(() => role.stop());
        if (ingestRole !== undefined && config.ingest !== undefined) {
          const { startDeviceLinkRole } = await import('../../node/main/device-link-role.js');
          const bridge = startDeviceLinkRole({
            ...ingestRole,
            node: role.node,
            prefix: config.ingest.topicPrefix,
            vehicleIds: Object.keys(config.ingest.deviceKeys),
            logger,
            metrics,
          });
          const chainOnly = chainStatus;
          chainStatus = () => ({ ...(chainOnly() as object), bridge: bridge.status() });
          stops.unshift(() => bridge.stop());
        }
      }
      const api = await startLocalApi({
        socketPath: config.node.socketPath,
        methods: {
          status: () => ({
            role: 'node',
            ...metrics.snapshot(),
            ...(chainStatus === undefined ? {} : { chain: chainStatus() }),
          }),
        },
      });
      let watchdog: NodeJS.Timeout | undefined;
      if (notifier.watchdogIntervalMs !== undefined)
        watchdog = setInterval(() => notifier.watchdog(), notifier.watchdogIntervalMs);
      notifier.ready();
      logger.info({ socket: api.socketPath }, 'node ready');
      await runUntilSignal(
        async () => {
          notifier.stopping();
          if (watchdog) clearInterval(watchdog);
          await api.close();
          for (const stop of stops) await stop();
          notifier.close();
          logger.info({}, 'node stopped');
        },
        (err) => logger.error({ err: String(err) }, 'error while stopping'),
      );
    });
}
