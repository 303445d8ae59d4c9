/** `qood node --config FILE`: runs the full node until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { parseLogLevel } from './agent.js';

export function registerNode(program: Command): void {
  program
    .command('node')
    .description('run a full node (the roles its config enables)')
    .requiredOption('-c, --config <file>', 'node config file (YAML)', '/etc/qood/node.yaml')
    .option('--log-level <level>', 'override log.level')
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
        import('../../agent/local-api/server.js'),
        import('../../agent/metrics.js'),
        import('../log.js'),
        import('../run-until-signal.js'),
        import('../sd-notify.js'),
      ]);
      const config = loadNodeConfig(opts.config);
      const logger = createLogger(parseLogLevel(opts.logLevel, config.log.level), 'node');
      const metrics = new Metrics();
      const notifier = systemdNotifier(process.env, (err) =>
        logger.warn({ err: err.message }, 'sd_notify failed'),
      );
      const api = await startLocalApi({
        socketPath: config.node.socketPath,
        methods: { status: () => ({ role: 'node', ...metrics.snapshot() }) },
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
          notifier.close();
          logger.info({}, 'node stopped');
        },
        (err) => logger.error({ err: String(err) }, 'error while stopping'),
      );
    });
}
