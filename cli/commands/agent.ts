/** `qood agent --config FILE`: runs the on-device agent until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { LOG_LEVELS, type LogLevel } from '../../process/log-levels.js';
import { CliExit, EXIT } from '../exit-codes.js';

/** The `--log-level` flag's value, or the config's level when the flag is absent. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  if (value === undefined) return fallback;
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new CliExit(EXIT.usage, `--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run the vehicle agent (sources, data path, local owner API)')
    .requiredOption('-c, --config <file>', 'agent config file (YAML)', '/etc/qood/agent.yaml')
    .option('--log-level <level>', `override log.level (${LOG_LEVELS.join(', ')})`)
    .action(async (opts: { config: string; logLevel?: string }) => {
      // Loaded here, not at the top, so `qood --help` and other commands start fast.
      const [
        { loadAgentConfig },
        { startAgent },
        { resolveGid },
        { createLogger },
        { runUntilSignal },
        { systemdNotifier },
      ] = await Promise.all([
        import('../load-config.js'),
        import('../../agent/main/start-agent.js'),
        import('../group.js'),
        import('../../process/logger.js'),
        import('../../process/signals.js'),
        import('../../process/sd-notify.js'),
      ]);
      const { CanBusError } = await import('../../firmware-bridge/index.js');
      const { LocalApiError } = await import('../../process/index.js');
      const config = loadAgentConfig(opts.config);
      const level = parseLogLevel(opts.logLevel, config.log.level);
      const logger = createLogger(level, 'agent');
      let ownerGid: number | undefined;
      if (config.device.ownerGroup !== undefined) {
        ownerGid = resolveGid(config.device.ownerGroup);
        if (ownerGid === undefined)
          throw new CliExit(
            EXIT.usage,
            `${opts.config}: device.ownerGroup: found "${config.device.ownerGroup}"; expected an existing group (create it with groupadd, or remove the field)`,
          );
      }
      const notifier = systemdNotifier(process.env, (err) =>
        logger.warn({ err: err.message }, 'sd_notify failed'),
      );
      let agent: Awaited<ReturnType<typeof startAgent>>;
      try {
        // The device's own adapters (SocketCAN, serialport, gpsd, MQTT) are picked by the agent.
        agent = await startAgent({
          config,
          logger,
          notifier,
          ...(ownerGid === undefined ? {} : { ownerGid }),
        });
      } catch (err) {
        notifier.close();
        // An owner group the service user cannot give the socket to: exit 2 naming the group
        // (the local API refused to listen rather than listen with the default mode).
        if (err instanceof LocalApiError && err.gid !== undefined)
          throw new CliExit(
            EXIT.usage,
            `qood agent: ${opts.config}: device.ownerGroup "${config.device.ownerGroup}": ${err.message}`,
          );
        // A missing CAN interface may appear later (a driver loading): exit 1 so systemd retries.
        // A DBC or map that does not load is a configuration problem: exit 2, which it does not retry.
        throw new CliExit(
          err instanceof CanBusError ? EXIT.failure : EXIT.usage,
          `qood agent: ${(err as Error).message}`,
        );
      }
      await runUntilSignal(
        async () => {
          await agent.stop();
          notifier.close();
        },
        (err) => logger.error({ err: String(err) }, 'error while stopping'),
      );
    });
}
