/**
 * `qood node --config FILE`: runs the full node until SIGINT/SIGTERM, with the roles its config
 * enables (node/main/start-node.ts assembles them): with an `ingest` section, it takes devices'
 * chunks, descriptors and queued transactions from the broker, stores them and acknowledges them;
 * with a `chain` section, it takes part in consensus with its peers, keeps the chain and serves the
 * HTTP JSON API; with both, the device link publishes finality updates to devices and submits their
 * queued chain transactions. `qood node checkpoint` fetches a checkpoint for devices.
 */
import type { Command } from 'commander';
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
      // Loaded here, not at the top, so `qood --help` and other commands start fast.
      const [
        { loadNodeConfig },
        { startNode, NodeStartError },
        { createLogger, runUntilSignal, systemdNotifier },
      ] = await Promise.all([
        import('../load-config.js'),
        import('../../node/index.js'),
        import('../../process/index.js'),
      ]);
      const config = loadNodeConfig(opts.config);
      const level = parseLogLevel(opts.logLevel, config.log.level);
      const logger = createLogger(level, 'node');
      const notifier = systemdNotifier(process.env, (err) =>
        logger.warn({ err: err.message }, 'sd_notify failed'),
      );
      let running: Awaited<ReturnType<typeof startNode>>;
      try {
        running = await startNode({ config, logger, notifier, logLevel: level });
      } catch (err) {
        notifier.close();
        // A config or a file it names that is wrong: exit 2, which systemd does not retry; anything
        // else (a folder, a database, a port) may pass: exit 1, systemd retries.
        if (err instanceof NodeStartError)
          throw new CliExit(err.code === 'usage' ? EXIT.usage : EXIT.failure, `qood node: ${err.message}`);
        throw err;
      }
      await runUntilSignal(
        async () => {
          await running.stop();
          notifier.close();
        },
        (err) => logger.error({ err: String(err) }, 'error while stopping'),
      );
    });
}
