/**
 * The agent's wiring: given a validated config and the process services (logger, service manager),
 * starts the local API and the data path, tells the service manager when it is ready and feeds its
 * watchdog while the event loop runs. `stop()` undoes everything in reverse order.
 */
import { readFileSync } from 'node:fs';
import type { CanBus, GnssSource } from '../firmware-bridge/index.js';
import type { AgentConfig, CanSourceConfig, GnssSourceConfig } from './config/index.js';
import { loadDbcFile } from './decode/can/index.js';
import type { Sample } from './decode/sample.js';
import { FrameMapper, resolveSignalMap } from './decode/vss-map/index.js';
import { vssDictionary } from './dictionary/index.js';
import { type LocalApiServer, type LocalMethod, startLocalApi } from './local-api/server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { CanSource } from './pipeline/can-source.js';
import { GnssPipelineSource, openConfiguredGnss } from './pipeline/gnss-source.js';
import { LatestValues } from './pipeline/latest-values.js';
import type { ServiceNotifier } from './service.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly notifier: ServiceNotifier;
  readonly metrics?: Metrics;
  /** Numeric gid for the local socket, resolved from `device.ownerGroup` by the caller. */
  readonly ownerGid?: number;
  /** Opens a configured CAN interface (SocketCAN on a device, a memory bus in the demo and tests). */
  readonly openCanBus?: (source: CanSourceConfig) => Promise<CanBus>;
  /** Opens the configured GNSS receiver (default: its serial port or gpsd, retrying until it is there). */
  readonly openGnss?: (source: GnssSourceConfig) => Promise<GnssSource>;
  /** Receives every batch of samples the sources produce (the data path downstream). */
  readonly onSamples?: (samples: readonly Sample[]) => void;
}

/** A running agent. */
export interface RunningAgent {
  readonly metrics: Metrics;
  /** The latest value of every signal. */
  readonly latest: LatestValues;
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
  const methods: Record<string, LocalMethod> = {
    status: () => ({ role: 'agent', vehicleId: config.device.vehicleId, ...metrics.snapshot() }),
    latest: () => latest.snapshot(),
  };

  const sink = (samples: readonly Sample[]): void => {
    latest.add(samples);
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
      const source = new CanSource({
        bus,
        mapper: new FrameMapper(dbc, mappings),
        metrics,
        logger: logger.child({ bus: src.interface }),
        onSamples: sink,
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

    const gnssCfg = config.sources.gnss;
    if (gnssCfg !== undefined) {
      const receiver = await (options.openGnss ?? openConfiguredGnss)(gnssCfg);
      const gnss = new GnssPipelineSource({
        source: receiver,
        maxClockSkewMs: gnssCfg.maxClockSkewMs,
        metrics,
        logger: logger.child({ gnss: receiver.name }),
        onSamples: sink,
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
    async stop() {
      notifier.stopping();
      await runStops();
      logger.info({}, 'agent stopped');
    },
  };
}
